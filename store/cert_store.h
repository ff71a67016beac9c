// store/cert_store.h — certificates, the ACME account, HTTP-01 challenges and
// the issuance lease, kept in the same SQLite file as the domains.
//
// Owns: the `certificates`, `acme_accounts`, `acme_challenges` and
// `acme_lease` tables (schema version 4). A certificate write bumps the
// domains change counter (store/domain_store.h), so every process sharing the
// store rebuilds its effective configuration and its tracker's certificates.
// Rules about what a certificate must be (key match, names, expiry) are the
// callers' (acme/pem.h); this layer stores. A challenge put or delete
// NOTIFYs kChallengesChannel on PostgreSQL (store/cluster.h). May call:
// base/, SQLite.
//
// Thread safety: one connection guarded by a mutex; every method may be
// called from any thread. Writes are transactions (BEGIN IMMEDIATE).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "store/location.h"

namespace trackrelay::store {

struct CertificateRow {
  std::string domain;              // lower-case A-label
  std::string source = "acme";     // acme | manual
  std::string status = "pending";  // pending | active | failed
  std::string message;             // why (the last failure, or what happens next)
  std::string chain_pem;           // leaf first; empty until issued
  std::string key_pem;
  std::int64_t not_before_ms = 0;
  std::int64_t not_after_ms = 0;
  std::string serial;            // hex
  int failures = 0;              // consecutive failed issuances (back-off)
  std::int64_t next_try_ms = 0;  // no issuance attempt before this
  std::int64_t updated_ms = 0;
};

// A pending ACME challenge: an HTTP-01 token, or "tls-alpn-01:<name>" for a
// TLS-ALPN-01 validation (acme/alpn.h), and what the CA expects for it.
struct ChallengeRow {
  std::string token;
  std::string key_authorization;
  std::string domain;
};

// How soon every process sharing the store sees a challenge put: the
// trackers answer challenges from memory (track/store_view.h) and re-read
// them every kChallengePoll on SQLite; on PostgreSQL at once on NOTIFY
// kChallengesChannel (put_challenge and delete_challenge notify in their
// transaction), and every kChallengePollPg should a notification be lost.
// The issuer waits kChallengeVisible after a put, longer than either poll,
// before it asks the CA to validate (acme/manager.cc).
inline constexpr std::chrono::milliseconds kChallengePoll{250};
inline constexpr std::chrono::milliseconds kChallengePollPg{2000};
inline constexpr std::chrono::milliseconds kChallengeVisible{2500};

struct AcmeAccountRow {
  std::string directory;
  std::string key_pem;
  std::string kid;  // the account URL; empty until registered
};

class CertStore {
 public:
  // Opens (creating or migrating it when `create`) the store file.
  // `connect`: what an unreachable PostgreSQL server means (store/location.h).
  static Result<std::unique_ptr<CertStore>> open(const std::string& path, bool create = true,
                                                 Connect connect = Connect::kNow);
  ~CertStore();
  CertStore(const CertStore&) = delete;
  CertStore& operator=(const CertStore&) = delete;

  Result<std::optional<CertificateRow>> certificate(std::string_view domain);
  Result<std::vector<CertificateRow>> certificates();
  // Inserts or replaces row.domain; bumps the change counter when the served
  // certificate (chain) or the status changes.
  Result<bool> put_certificate(const CertificateRow& row);
  // True when a row was removed (bumps the change counter).
  Result<bool> delete_certificate(std::string_view domain);

  Result<std::optional<AcmeAccountRow>> account(std::string_view directory);
  Result<bool> put_account(const AcmeAccountRow& row);

  // HTTP-01: the key authorization for `token`, if one is pending.
  Result<std::optional<std::string>> challenge(std::string_view token);
  // Every pending challenge (HTTP-01 and TLS-ALPN-01), by token.
  Result<std::vector<ChallengeRow>> challenges();
  // Both NOTIFY kChallengesChannel on PostgreSQL (store/cluster.h).
  Result<bool> put_challenge(std::string_view token, std::string_view key_authorization,
                             std::string_view domain);
  Result<bool> delete_challenge(std::string_view token);

  // Takes or renews the issuance lease for `holder` until now + ttl_ms; false
  // while another holder's lease has not expired.
  Result<bool> take_lease(std::string_view holder, std::int64_t ttl_ms);
  Result<bool> release_lease(std::string_view holder);

  const std::string& path() const;

  struct Impl;
  explicit CertStore(std::unique_ptr<Impl> impl);  // use open()

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace trackrelay::store
