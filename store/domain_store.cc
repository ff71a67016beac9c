// store/domain_store.cc — DomainStore over either backend (store/db.h), in
// portable SQL. May call: base/, store/db.h, OpenSSL.
#include "store/domain_store.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <chrono>
#include <mutex>
#include <utility>
#include <variant>

#include "base/crypto.h"
#include "store/cluster.h"
#include "store/db.h"

namespace trackrelay::store {
namespace {

using internal::Connection;

// pg_advisory_xact_lock key of domain writes ("trackrlD").
constexpr std::int64_t kDomainsLockKey = 8390876135376972868;
constexpr std::size_t kKeyBytes = 20;  // 160 bits, 40 hex characters (the hosted service's size)
constexpr std::size_t kPrefixChars = 8;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string sha256(std::string_view s) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof digest);
}

using internal::Query;
using internal::Value;

constexpr const char* kTrackingColumns =
    "domain, subaccount_id, port, secure, is_default, default_on_verify, verified, cname_status, "
    "compliance_status, found, message, checked_ms, failures, http_token, created_ms";

TrackingDomainRow tracking_row(const Query& q) {
  TrackingDomainRow r;
  r.domain = q.text(0);
  r.subaccount_id = q.i64(1);
  if (!q.null(2)) r.port = static_cast<std::uint16_t>(q.i64(2));
  r.secure = q.i64(3) != 0;
  r.is_default = q.i64(4) != 0;
  r.default_on_verify = q.i64(5) != 0;
  r.verified = q.i64(6) != 0;
  r.cname_status = q.text(7);
  r.compliance_status = q.text(8);
  r.found = q.text(9);
  r.message = q.text(10);
  r.checked_ms = q.i64(11);
  r.failures = static_cast<int>(q.i64(12));
  r.http_token = q.text(13);
  r.created_ms = q.i64(14);
  return r;
}

constexpr const char* kSendingColumns =
    "domain, subaccount_id, tracking_domain, created_ms, verified, txt_status, txt_token, found, "
    "message, checked_ms";

SendingDomainRow sending_row(const Query& q) {
  SendingDomainRow r;
  r.domain = q.text(0);
  r.subaccount_id = q.i64(1);
  r.tracking_domain = q.text(2);
  r.created_ms = q.i64(3);
  r.verified = q.i64(4) != 0;
  r.txt_status = q.text(5);
  r.txt_token = q.text(6);
  r.found = q.text(7);
  r.message = q.text(8);
  r.checked_ms = q.i64(9);
  return r;
}

SubaccountRow subaccount_row(const Query& q) {
  return SubaccountRow{q.i64(0), q.text(1), q.text(2), q.i64(3)};
}

constexpr const char* kSubaccountSelect = "SELECT id, name, status, created_ms FROM subaccounts";

// Columns 0-4: id, prefix, label, subaccount_id, created_ms; `grants_col`: grants.
ApiKeyRow key_row(const Query& q, int grants_col) {
  return ApiKeyRow{q.i64(0), q.text(1), q.text(2), q.i64(3), q.i64(4), q.text(grants_col)};
}

template <class T, class F>
Result<std::vector<T>> all(Query& q, F row) {
  std::vector<T> out;
  while (q.step()) out.push_back(row(q));
  if (q.failed()) return Error{q.error(), q.code()};
  return out;
}

// Whether a write changed something (refused writes do not bump the counter).
bool changed(const Result<Change>& r) {
  return r.ok() && *r == Change::kDone;
}
template <class T>
bool changed(const Result<T>& r) {
  return r.ok();
}

}  // namespace

struct DomainStore::Impl {
  std::string path;
  std::mutex mu;  // guards db
  std::unique_ptr<Connection> db;

  // A write transaction. On PostgreSQL it also takes the domains' advisory
  // lock, so domain writes are serialised as SQLite's BEGIN IMMEDIATE
  // serialises them ("one default per account" reads and writes several
  // rows; without it two processes could deadlock or both keep a default).
  Result<bool> begin() {
    if (auto r = db->begin_write(); !r) return r;
    if (db->backend() != internal::Backend::kPostgres) return true;
    Query lock(*db, "SELECT pg_advisory_xact_lock(?)", {kDomainsLockKey});
    if (auto r = lock.run(); !r) {
      (void)db->rollback();
      return r;
    }
    return true;
  }

  // Runs `body` in a write transaction that also bumps the change counter
  // when `bump`; commits when it returns a value, rolls back on an error.
  template <class F>
  auto write(bool bump, F body) -> decltype(body()) {
    if (auto r = begin(); !r) return Error{db->name() + ": " + r.error(), r.code()};
    auto result = body();
    if (bump && changed(result)) {
      if (auto r = internal::bump_domains_version(*db); !r) result = r.failure();
    }
    if (result.ok()) {
      if (auto r = db->commit(); !r) result = r.failure();
    }
    if (!result.ok()) (void)db->rollback();
    return result;
  }
};

DomainStore::DomainStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DomainStore::~DomainStore() = default;

Result<std::unique_ptr<DomainStore>> DomainStore::open(const std::string& path, bool create,
                                                       Connect connect) {
  auto db = internal::open_connection(path, create, connect);
  if (!db) return db.failure();
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->db = std::move(db).value();
  return std::make_unique<DomainStore>(std::move(impl));
}

const std::string& DomainStore::path() const {
  return impl_->path;
}

namespace {

Result<std::int64_t> domains_version(Connection& d) {
  Query q(d, "SELECT value FROM meta WHERE key = 'domains_version'");
  if (q.step()) return q.i64(0);
  return Error{q.failed() ? q.error() : "no domains_version in meta", q.code()};
}

}  // namespace

Result<std::int64_t> DomainStore::version() {
  std::lock_guard lock(impl_->mu);
  return domains_version(*impl_->db);
}

Result<DomainsSnapshot> DomainStore::load() {
  std::lock_guard lock(impl_->mu);
  Connection& d = *impl_->db;
  // One read transaction, so the version matches the rows.
  if (auto r = d.begin_read(); !r) return Error{d.name() + ": " + r.error(), r.code()};
  DomainsSnapshot snap;
  Result<bool> ok = true;
  auto v = domains_version(d);
  if (v) {
    snap.version = *v;
    Query t(d,
            std::string("SELECT ") + kTrackingColumns + " FROM tracking_domains ORDER BY domain");
    auto tracking = all<TrackingDomainRow>(t, tracking_row);
    Query s(d, std::string("SELECT ") + kSendingColumns + " FROM sending_domains ORDER BY domain");
    auto sending = all<SendingDomainRow>(s, sending_row);
    Query a(d, std::string(kSubaccountSelect) + " ORDER BY id");
    auto subs = all<SubaccountRow>(a, subaccount_row);
    if (tracking && sending && subs) {
      snap.tracking = std::move(tracking).value();
      snap.sending = std::move(sending).value();
      snap.subaccounts = std::move(subs).value();
      Query c(d, "SELECT domain FROM certificates WHERE status = 'active' AND not_after_ms > ?");
      c.bind({now_ms()});
      while (c.step()) snap.tls_live.insert(c.text(0));
      if (c.failed()) ok = Error{c.error(), c.code()};
    } else {
      ok = !tracking ? tracking.failure() : !sending ? sending.failure() : subs.failure();
    }
  } else {
    ok = v.failure();
  }
  (void)d.commit();
  if (!ok) return Error{d.name() + ": " + ok.error(), ok.code()};
  return snap;
}

Result<std::optional<TrackingDomainRow>> DomainStore::tracking_domain(std::string_view domain) {
  std::lock_guard lock(impl_->mu);
  Query q(*impl_->db,
          std::string("SELECT ") + kTrackingColumns + " FROM tracking_domains WHERE domain = ?");
  q.bind({domain});
  if (q.step()) return std::optional<TrackingDomainRow>(tracking_row(q));
  if (q.failed()) return Error{q.error(), q.code()};
  return std::optional<TrackingDomainRow>();
}

Result<std::vector<TrackingDomainRow>> DomainStore::tracking_domains() {
  std::lock_guard lock(impl_->mu);
  Query q(*impl_->db,
          std::string("SELECT ") + kTrackingColumns + " FROM tracking_domains ORDER BY domain");
  return all<TrackingDomainRow>(q, tracking_row);
}

namespace {

Value port_value(const TrackingDomainRow& r) {
  if (r.port) return std::int64_t{*r.port};
  return nullptr;
}

Result<bool> unset_other_defaults(Connection& d, const TrackingDomainRow& row) {
  if (!row.is_default) return true;
  Query q(d, "UPDATE tracking_domains SET is_default = 0 WHERE subaccount_id = ? AND domain != ?");
  q.bind({row.subaccount_id, row.domain});
  q.step();
  if (q.failed()) return Error{q.error(), q.code()};
  return true;
}

}  // namespace

Result<Change> DomainStore::add_tracking_domain(const TrackingDomainRow& row) {
  std::lock_guard lock(impl_->mu);
  Connection& d = *impl_->db;
  return impl_->write(true, [&]() -> Result<Change> {
    // ON CONFLICT: two processes adding one name at once get one kExists.
    Query q(d, std::string("INSERT INTO tracking_domains (") + kTrackingColumns +
                   ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                   "ON CONFLICT (domain) DO NOTHING");
    q.bind({row.domain, row.subaccount_id, port_value(row), std::int64_t{row.secure},
            std::int64_t{row.is_default}, std::int64_t{row.default_on_verify},
            std::int64_t{row.verified}, row.cname_status, row.compliance_status, row.found,
            row.message, row.checked_ms, std::int64_t{row.failures}, row.http_token,
            row.created_ms != 0 ? row.created_ms : now_ms()});
    if (auto r = q.run(); !r) return r.failure();
    if (q.changes() == 0) return Change::kExists;
    if (auto r = unset_other_defaults(d, row); !r) return r.failure();
    return Change::kDone;
  });
}

Result<Change> DomainStore::update_tracking_domain(const TrackingDomainRow& row) {
  std::lock_guard lock(impl_->mu);
  Connection& d = *impl_->db;
  return impl_->write(true, [&]() -> Result<Change> {
    if (auto r = unset_other_defaults(d, row); !r) return r.failure();
    Query q(d,
            "UPDATE tracking_domains SET subaccount_id = ?, port = ?, secure = ?, is_default = ?, "
            "default_on_verify = ?, verified = ?, cname_status = ?, compliance_status = ?, "
            "found = ?, message = ?, checked_ms = ?, failures = ?, http_token = ? "
            "WHERE domain = ?");
    q.bind({row.subaccount_id, port_value(row), std::int64_t{row.secure},
            std::int64_t{row.is_default}, std::int64_t{row.default_on_verify},
            std::int64_t{row.verified}, row.cname_status, row.compliance_status, row.found,
            row.message, row.checked_ms, std::int64_t{row.failures}, row.http_token, row.domain});
    q.step();
    if (q.failed()) return Error{q.error(), q.code()};
    return q.changes() == 0 ? Change::kNotFound : Change::kDone;
  });
}

Result<Change> DomainStore::delete_tracking_domain(std::string_view domain,
                                                   std::vector<std::string>& used_by) {
  std::lock_guard lock(impl_->mu);
  Connection& d = *impl_->db;
  used_by.clear();
  return impl_->write(true, [&]() -> Result<Change> {
    Query users(d, "SELECT domain FROM sending_domains WHERE tracking_domain = ? ORDER BY domain");
    users.bind({domain});
    while (users.step()) used_by.push_back(users.text(0));
    if (users.failed()) return Error{users.error()};
    if (!used_by.empty()) return Change::kInUse;
    Query q(d, "DELETE FROM tracking_domains WHERE domain = ?");
    q.bind({domain});
    q.step();
    if (q.failed()) return Error{q.error(), q.code()};
    return q.changes() == 0 ? Change::kNotFound : Change::kDone;
  });
}

Result<std::optional<SendingDomainRow>> DomainStore::sending_domain(std::string_view domain) {
  std::lock_guard lock(impl_->mu);
  Query q(*impl_->db,
          std::string("SELECT ") + kSendingColumns + " FROM sending_domains WHERE domain = ?");
  q.bind({domain});
  if (q.step()) return std::optional<SendingDomainRow>(sending_row(q));
  if (q.failed()) return Error{q.error(), q.code()};
  return std::optional<SendingDomainRow>();
}

Result<std::vector<SendingDomainRow>> DomainStore::sending_domains() {
  std::lock_guard lock(impl_->mu);
  Query q(*impl_->db,
          std::string("SELECT ") + kSendingColumns + " FROM sending_domains ORDER BY domain");
  return all<SendingDomainRow>(q, sending_row);
}

Result<Change> DomainStore::add_sending_domain(const SendingDomainRow& given) {
  SendingDomainRow row = given;
  if (row.txt_token.empty()) {
    row.txt_token = random_hex(16);
    if (row.txt_token.empty()) return Error{"no random bytes for a verification token"};
  }
  std::lock_guard lock(impl_->mu);
  Connection& d = *impl_->db;
  return impl_->write(true, [&]() -> Result<Change> {
    Query q(d, std::string("INSERT INTO sending_domains (") + kSendingColumns +
                   ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (domain) DO NOTHING");
    q.bind({row.domain, row.subaccount_id, row.tracking_domain,
            row.created_ms != 0 ? row.created_ms : now_ms(), std::int64_t{row.verified},
            row.txt_status, row.txt_token, row.found, row.message, row.checked_ms});
    if (auto r = q.run(); !r) return r.failure();
    return q.changes() == 0 ? Change::kExists : Change::kDone;
  });
}

Result<Change> DomainStore::update_sending_domain(const SendingDomainRow& row) {
  std::lock_guard lock(impl_->mu);
  Connection& d = *impl_->db;
  return impl_->write(true, [&]() -> Result<Change> {
    Query q(d,
            "UPDATE sending_domains SET tracking_domain = ?, verified = ?, txt_status = ?, "
            "found = ?, message = ?, checked_ms = ? WHERE domain = ?");
    q.bind({row.tracking_domain, std::int64_t{row.verified}, row.txt_status, row.found, row.message,
            row.checked_ms, row.domain});
    q.step();
    if (q.failed()) return Error{q.error(), q.code()};
    return q.changes() == 0 ? Change::kNotFound : Change::kDone;
  });
}

Result<Change> DomainStore::delete_sending_domain(std::string_view domain) {
  std::lock_guard lock(impl_->mu);
  Connection& d = *impl_->db;
  return impl_->write(true, [&]() -> Result<Change> {
    Query q(d, "DELETE FROM sending_domains WHERE domain = ?");
    q.bind({domain});
    q.step();
    if (q.failed()) return Error{q.error(), q.code()};
    return q.changes() == 0 ? Change::kNotFound : Change::kDone;
  });
}

Result<SubaccountRow> DomainStore::add_subaccount(std::string name, std::string status) {
  std::lock_guard lock(impl_->mu);
  Connection& d = *impl_->db;
  return impl_->write(false, [&]() -> Result<SubaccountRow> {
    SubaccountRow row{0, std::move(name), std::move(status), now_ms()};
    Query q(d, "INSERT INTO subaccounts (name, status, created_ms) VALUES (?, ?, ?) RETURNING id");
    q.bind({row.name, row.status, row.created_ms});
    if (!q.step()) return Error{q.failed() ? q.error() : "no id returned", q.code()};
    row.id = q.i64(0);
    return row;
  });
}

Result<std::vector<SubaccountRow>> DomainStore::subaccounts() {
  std::lock_guard lock(impl_->mu);
  Query q(*impl_->db, std::string(kSubaccountSelect) + " ORDER BY id");
  return all<SubaccountRow>(q, subaccount_row);
}

Result<std::optional<SubaccountRow>> DomainStore::subaccount(std::int64_t id) {
  std::lock_guard lock(impl_->mu);
  Query q(*impl_->db, std::string(kSubaccountSelect) + " WHERE id = ?");
  q.bind({id});
  if (q.step()) return std::optional<SubaccountRow>(subaccount_row(q));
  if (q.failed()) return Error{q.error(), q.code()};
  return std::optional<SubaccountRow>();
}

Result<Change> DomainStore::update_subaccount(const SubaccountRow& row) {
  std::lock_guard lock(impl_->mu);
  Connection& d = *impl_->db;
  return impl_->write(true, [&]() -> Result<Change> {
    Query q(d, "UPDATE subaccounts SET name = ?, status = ? WHERE id = ?");
    q.bind({row.name, row.status, row.id});
    q.step();
    if (q.failed()) return Error{q.error(), q.code()};
    return q.changes() == 0 ? Change::kNotFound : Change::kDone;
  });
}

bool ApiKeyRow::has_grant(std::string_view grant) const {
  if (grants.empty()) return true;
  std::string_view rest = grants;
  while (!rest.empty()) {
    const auto space = rest.find(' ');
    if (rest.substr(0, space) == grant) return true;
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
  }
  return false;
}

namespace {

// A new key's secret and row (not yet stored: id 0).
Result<DomainStore::NewKey> make_key(std::string label, std::int64_t subaccount_id,
                                     std::string grants) {
  DomainStore::NewKey out;
  out.key = random_hex(kKeyBytes);
  if (out.key.empty()) return Error{"no random bytes for a new API key"};
  out.row.prefix = out.key.substr(0, kPrefixChars);
  out.row.label = std::move(label);
  out.row.subaccount_id = subaccount_id;
  out.row.created_ms = now_ms();
  out.row.grants = std::move(grants);
  return out;
}

// Inserts `k` (only the key's hash) and sets its id; inside the caller's transaction.
Result<bool> insert_key(Connection& d, DomainStore::NewKey& k) {
  Query q(d,
          "INSERT INTO api_keys (prefix, hash, label, subaccount_id, created_ms, grants) "
          "VALUES (?, ?, ?, ?, ?, ?) RETURNING id");
  q.bind({k.row.prefix, sha256(k.key), k.row.label, k.row.subaccount_id, k.row.created_ms,
          k.row.grants});
  if (!q.step()) return Error{q.failed() ? q.error() : "no id returned", q.code()};
  k.row.id = q.i64(0);
  return true;
}

}  // namespace

Result<DomainStore::NewKey> DomainStore::create_api_key(std::string label,
                                                        std::int64_t subaccount_id,
                                                        std::string grants) {
  auto out = make_key(std::move(label), subaccount_id, std::move(grants));
  if (!out) return out;
  std::lock_guard lock(impl_->mu);
  Connection& d = *impl_->db;
  return impl_->write(false, [&]() -> Result<NewKey> {
    if (auto r = insert_key(d, *out); !r) return r.failure();
    return std::move(*out);
  });
}

Result<DomainStore::NewSubaccount> DomainStore::add_subaccount_with_key(
    std::string name, std::string status, std::optional<std::string> key_label,
    std::string grants) {
  std::optional<NewKey> key;
  if (key_label) {
    auto k = make_key(std::move(*key_label), 0, std::move(grants));
    if (!k) return Error{k.error()};
    key = std::move(*k);
  }
  std::lock_guard lock(impl_->mu);
  Connection& d = *impl_->db;
  return impl_->write(false, [&]() -> Result<NewSubaccount> {
    NewSubaccount out{SubaccountRow{0, std::move(name), std::move(status), now_ms()}, {}};
    Query q(d, "INSERT INTO subaccounts (name, status, created_ms) VALUES (?, ?, ?) RETURNING id");
    q.bind({out.row.name, out.row.status, out.row.created_ms});
    if (!q.step()) return Error{q.failed() ? q.error() : "no id returned", q.code()};
    out.row.id = q.i64(0);
    if (key) {
      key->row.subaccount_id = out.row.id;
      if (key->row.label.empty()) {
        key->row.label = "API key for subaccount " + std::to_string(out.row.id);
      }
      if (auto r = insert_key(d, *key); !r) return r.failure();
      out.key = std::move(key);
    }
    return out;
  });
}

Result<std::optional<ApiKeyRow>> DomainStore::authenticate(std::string_view key,
                                                           std::string* refusal, bool* suspended) {
  if (refusal != nullptr) *refusal = "unknown or revoked API key";
  if (suspended != nullptr) *suspended = false;
  if (key.size() < kPrefixChars || key.size() > 256) return std::optional<ApiKeyRow>();
  const std::string hash = sha256(key);
  std::lock_guard lock(impl_->mu);
  // The subaccount's status is read with the key, so a key stops working the
  // moment its subaccount is suspended (no cache to go stale).
  Query q(*impl_->db,
          "SELECT k.id, k.prefix, k.label, k.subaccount_id, k.created_ms, k.hash, "
          "coalesce(s.status, 'deleted'), k.grants FROM api_keys k "
          "LEFT JOIN subaccounts s ON s.id = k.subaccount_id WHERE k.prefix = ?");
  q.bind({key.substr(0, kPrefixChars)});
  std::optional<ApiKeyRow> found;
  std::string status;
  while (q.step()) {
    const std::string stored = q.text(5);
    if (stored.size() == hash.size() &&
        CRYPTO_memcmp(stored.data(), hash.data(), hash.size()) == 0) {
      found = key_row(q, 7);
      status = q.text(6);
    }
  }
  if (q.failed()) return Error{q.error(), q.code()};
  if (found && found->subaccount_id != 0 && status != "active") {
    if (refusal != nullptr) {
      *refusal = "subaccount " + std::to_string(found->subaccount_id) + " is " + status +
                 "; its API keys do not authenticate";
    }
    if (suspended != nullptr) *suspended = true;
    return std::optional<ApiKeyRow>();
  }
  return found;
}

Result<std::vector<ApiKeyRow>> DomainStore::api_keys() {
  std::lock_guard lock(impl_->mu);
  Query q(*impl_->db,
          "SELECT id, prefix, label, subaccount_id, created_ms, grants FROM api_keys ORDER BY id");
  return all<ApiKeyRow>(q, [](const Query& row) { return key_row(row, 5); });
}

Result<Change> DomainStore::revoke_api_key(std::int64_t id) {
  std::lock_guard lock(impl_->mu);
  Connection& d = *impl_->db;
  return impl_->write(false, [&]() -> Result<Change> {
    Query q(d, "DELETE FROM api_keys WHERE id = ?");
    q.bind({id});
    q.step();
    if (q.failed()) return Error{q.error(), q.code()};
    return q.changes() == 0 ? Change::kNotFound : Change::kDone;
  });
}

}  // namespace trackrelay::store
