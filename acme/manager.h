// acme/manager.h — which names get ACME certificates, and when.
//
// Owns: the issuance loop `serve` runs when acme.directory is set: every
// pass (kPassEvery) it takes the store's issuance lease (one issuer per
// store; another process's lease blocks it until that one lapses; on
// PostgreSQL a session advisory lock instead, store/cluster.h), lists
// the wanted names (verified, secure API tracking domains of active
// accounts; secure file domains and tracking.system_domain when
// system_secure, unless a track.certificates entry covers them), and issues
// at most one certificate per pass (at most kMaxPerHour an hour) for a name
// that has none, whose certificate is due for renewal (the CA's ARI window
// when its directory has renewalInfo, RFC 9773 — a random time in it, asked
// again after Retry-After; acme.renew_before_days, or a third of its
// lifetime, otherwise or when ARI fails) or expired, skipping names with an uploaded
// (manual) certificate and names backing off after a failure (10 s, doubling
// to 6 h). Before that, it asks the OCSP responder of every active store
// certificate (acme/ocsp.h, halfway to each answer's nextUpdate): a revoked
// one is marked `failed` with the reason — an ACME one is then due at once,
// an uploaded one waits for a new upload. Secure file domains still waiting
// for a certificate (conf::TrackingDomain::https_pending) are wanted. Results
// go to store/cert_store.h, which every process reads. A challenge is put
// into the store store::kChallengeVisible before the CA is asked to
// validate it: every tracker answers challenges from memory and has it by
// then (track/store_view.h).
// May call: acme/client, acme/ari, acme/ocsp, acme/pem, store/, conf/, base/, Boost.Asio.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "conf/snapshot.h"
#include "store/cert_store.h"
#include "store/domain_store.h"

namespace trackrelay::acme {

inline constexpr std::chrono::seconds kPassEvery{5};
inline constexpr int kMaxPerHour = 30;

// The names that want an ACME certificate, sorted (no I/O).
std::vector<std::string> wanted_names(const conf::Config& cfg,
                                      const store::DomainsSnapshot& domains);

// The challenge types to answer, by preference (acme.challenge; auto:
// http-01 with track.listen, then tls-alpn-01 with track.tls_listen).
std::vector<std::string> challenge_types(const conf::Config& cfg);

// When an active certificate is renewed: the time chosen in the CA's ARI
// window (acme/ari.h) when there is one — no later than renew_before_days
// before expiry when that is set (> 0), else than a tenth of the lifetime
// before expiry — otherwise renew_before_days before expiry, or when a third
// of its lifetime is left.
std::int64_t renewal_time(const store::CertificateRow& row, int renew_before_days,
                          std::optional<std::int64_t> ari_ms = std::nullopt);

// Whether `row` should be (re)issued at `now_ms`.
bool due(const store::CertificateRow& row, int renew_before_days, std::int64_t now_ms,
         std::optional<std::int64_t> ari_ms = std::nullopt);

// When to try again after `failures` consecutive failures.
std::int64_t backoff_ms(int failures);

class Manager {
 public:
  // `snapshot` must outlive the manager; passes run on a worker thread,
  // scheduled on `ioc`.
  Manager(boost::asio::io_context& ioc, const conf::Snapshot& snapshot);
  ~Manager();
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  // Opens the store; starts the passes (they do nothing while
  // acme.directory is empty). The destructor releases the lease.
  Result<bool> start();
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace trackrelay::acme
