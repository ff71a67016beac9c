// store/domain_store.h — the domains, subaccounts and API keys of the
// management API, kept in the same SQLite file as the events.
//
// Owns: tracking domains (with their verification state), sending domains
// and their tracking-domain links, subaccounts, hashed API keys, and the
// change counter ("domains_version") every process polls to notice changes
// made by another. Domain names are unique across accounts (the tracker
// serves a host, the engine maps a From: domain). Rules that need the
// configuration (root domains, defaults vs the file's) are the API's
// (api/); this layer enforces only what the tables can: uniqueness, "one
// default per (sub)account", "no delete while sending domains use it".
// May call: base/, SQLite, OpenSSL (SHA-256, random bytes). Called by api/
// and app/.
//
// Thread safety: one connection guarded by a mutex; every method may be
// called from any thread. Writes are transactions (BEGIN IMMEDIATE).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "store/location.h"

namespace trackrelay::store {

struct TrackingDomainRow {
  std::string domain;              // lower-case A-label
  std::int64_t subaccount_id = 0;  // 0: the primary account
  std::optional<std::uint16_t> port;
  bool secure = false;
  bool is_default = false;
  bool default_on_verify = false;  // "Set as Default" asked before it was verified
  bool verified = false;
  std::string cname_status = "unverified";  // unverified | pending | invalid | valid
  std::string compliance_status = "valid";  // pending | valid | blocked
  std::string found;                        // what the last check found
  std::string message;                      // the last check's explanation
  std::int64_t checked_ms = 0;              // when it was last checked; 0: never
  int failures = 0;        // consecutive definite failures (periodic re-verification)
  std::string http_token;  // the HTTP challenge token
  std::int64_t created_ms = 0;
};

// A sending domain applies to mail only once `verified`: its owner published
// `_trackrelay.<domain> TXT "trackrelay-verification=<txt_token>"` and asked
// for a check (POST /sending-domains/{domain}/verify; docs/api.md).
struct SendingDomainRow {
  SendingDomainRow() = default;
  // The fields of schema version 2 (what callers set); the proof starts unverified.
  SendingDomainRow(std::string d, std::int64_t sub, std::string tracking, std::int64_t created)
      : domain(std::move(d)),
        subaccount_id(sub),
        tracking_domain(std::move(tracking)),
        created_ms(created) {}

  std::string domain;  // lower-case A-label
  std::int64_t subaccount_id = 0;
  std::string tracking_domain;  // "" = none
  std::int64_t created_ms = 0;
  bool verified = false;
  std::string txt_status = "unverified";  // unverified | pending | invalid | valid
  std::string txt_token;                  // add_sending_domain() makes one when empty
  std::string found;                      // the TXT values the last check found
  std::string message;                    // the last check's explanation
  std::int64_t checked_ms = 0;            // when it was last checked; 0: never
};

struct SubaccountRow {
  std::int64_t id = 0;
  std::string name;
  std::string status = "active";  // active | suspended | terminated
  std::int64_t created_ms = 0;
};

struct ApiKeyRow {
  std::int64_t id = 0;
  std::string prefix;  // the key's first 8 characters (not secret, shown in lists)
  std::string label;
  std::int64_t subaccount_id = 0;
  std::int64_t created_ms = 0;
  // What the key may do (SparkPost's key grants, api/grants.h), separated by
  // spaces; "" = everything (keys made before grants existed, by `trackrelay
  // keys create`, or without key_grants). The store keeps them; the API and
  // the relay's AUTH enforce them.
  std::string grants;

  bool has_grant(std::string_view grant) const;
};

// Everything the effective configuration is built from.
struct DomainsSnapshot {
  std::int64_t version = 0;
  std::vector<TrackingDomainRow> tracking;
  std::vector<SendingDomainRow> sending;
  std::vector<SubaccountRow> subaccounts;  // their status decides whether their domains apply
  // Names with a live certificate in the store (store/cert_store.h: active,
  // not expired): a secure domain's links use https:// only then.
  std::set<std::string> tls_live;
};

enum class Change { kDone, kExists, kNotFound, kInUse };

class DomainStore {
 public:
  // Opens (creating or migrating it when `create`) the store file. Without
  // `create`, a missing file is an Error with code Errc::kNotFound.
  // `connect`: what an unreachable PostgreSQL server means (store/location.h).
  static Result<std::unique_ptr<DomainStore>> open(const std::string& path, bool create = true,
                                                   Connect connect = Connect::kNow);
  ~DomainStore();
  DomainStore(const DomainStore&) = delete;
  DomainStore& operator=(const DomainStore&) = delete;

  // The change counter: bumped by every domain write, in its transaction.
  Result<std::int64_t> version();
  Result<DomainsSnapshot> load();

  Result<std::optional<TrackingDomainRow>> tracking_domain(std::string_view domain);
  Result<std::vector<TrackingDomainRow>> tracking_domains();
  Result<Change> add_tracking_domain(const TrackingDomainRow& row);  // kExists
  // Replaces the stored fields of row.domain (kNotFound). When row.is_default,
  // the other domains of its subaccount stop being the default.
  Result<Change> update_tracking_domain(const TrackingDomainRow& row);
  // kInUse, with the sending domains that link to it in `used_by`.
  Result<Change> delete_tracking_domain(std::string_view domain, std::vector<std::string>& used_by);

  Result<std::optional<SendingDomainRow>> sending_domain(std::string_view domain);
  Result<std::vector<SendingDomainRow>> sending_domains();
  // kExists. An empty row.txt_token gets a random one (32 hex characters).
  Result<Change> add_sending_domain(const SendingDomainRow& row);
  // Replaces the link and the verification fields of row.domain (kNotFound).
  Result<Change> update_sending_domain(const SendingDomainRow& row);
  Result<Change> delete_sending_domain(std::string_view domain);  // kNotFound

  Result<SubaccountRow> add_subaccount(std::string name, std::string status);
  Result<std::vector<SubaccountRow>> subaccounts();
  Result<std::optional<SubaccountRow>> subaccount(std::int64_t id);
  // Replaces name and status of row.id (kNotFound); bumps the change counter,
  // since a subaccount's status decides whether its domains apply to mail.
  Result<Change> update_subaccount(const SubaccountRow& row);

  struct NewKey {
    std::string key;  // shown once; only its SHA-256 is stored
    ApiKeyRow row;
  };
  // `grants`: ApiKeyRow::grants ("" = everything).
  Result<NewKey> create_api_key(std::string label, std::int64_t subaccount_id,
                                std::string grants = {});
  // A subaccount and, when `key_label` is given, its first API key with
  // `grants`, in one transaction: both are stored or neither. An empty
  // label becomes "API key for subaccount N".
  struct NewSubaccount {
    SubaccountRow row;
    std::optional<NewKey> key;
  };
  Result<NewSubaccount> add_subaccount_with_key(std::string name, std::string status,
                                                std::optional<std::string> key_label,
                                                std::string grants);
  // THE key check of every entry point (API, dashboard sessions, SMTP AUTH
  // SMTP_Injection): the key's row when `key` is a stored, unrevoked key
  // (hash compared in constant time) of the primary account or of an
  // *active* subaccount; nullopt otherwise. A key of a suspended, terminated
  // or deleted subaccount is refused. `refusal`, when given, is set to why
  // (for the client: "unknown or revoked API key", "subaccount 3 is
  // suspended"); `suspended` to true when the key is known but its
  // subaccount is not active.
  Result<std::optional<ApiKeyRow>> authenticate(std::string_view key,
                                                std::string* refusal = nullptr,
                                                bool* suspended = nullptr);
  Result<std::vector<ApiKeyRow>> api_keys();
  Result<Change> revoke_api_key(std::int64_t id);  // kNotFound

  const std::string& path() const;

  struct Impl;
  explicit DomainStore(std::unique_ptr<Impl> impl);  // use open()

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace trackrelay::store
