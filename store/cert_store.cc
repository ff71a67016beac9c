// store/cert_store.cc — CertStore over SQLite. May call: base/, SQLite.
#include "store/cert_store.h"

#include <chrono>
#include <mutex>
#include <utility>

#include "store/schema.h"
#include "store/statement.h"

namespace trackrelay::store {
namespace {

using internal::Db;
using internal::errmsg;
using internal::exec;
using internal::Stmt;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One statement with text/integer parameters bound in order.
struct Bound {
  Stmt stmt;
  std::string error;
};

Bound bind(sqlite3* db, std::string_view sql, std::initializer_list<std::string_view> texts,
           std::initializer_list<std::int64_t> ints = {}) {
  auto st = internal::prepare(db, sql);
  if (!st) return {nullptr, st.error()};
  int i = 1;
  for (std::string_view t : texts) {
    sqlite3_bind_text(st->get(), i++, t.data(), static_cast<int>(t.size()), SQLITE_TRANSIENT);
  }
  for (std::int64_t n : ints) sqlite3_bind_int64(st->get(), i++, n);
  return {std::move(st).value(), {}};
}

std::string text(sqlite3_stmt* s, int c) {
  return internal::column_text(s, c);
}

constexpr const char* kCertColumns =
    "SELECT domain, source, status, message, chain_pem, key_pem, not_before_ms, not_after_ms, "
    "serial, failures, next_try_ms, updated_ms FROM certificates";

CertificateRow cert_row(sqlite3_stmt* s) {
  CertificateRow r;
  r.domain = text(s, 0);
  r.source = text(s, 1);
  r.status = text(s, 2);
  r.message = text(s, 3);
  r.chain_pem = text(s, 4);
  r.key_pem = text(s, 5);
  r.not_before_ms = sqlite3_column_int64(s, 6);
  r.not_after_ms = sqlite3_column_int64(s, 7);
  r.serial = text(s, 8);
  r.failures = static_cast<int>(sqlite3_column_int64(s, 9));
  r.next_try_ms = sqlite3_column_int64(s, 10);
  r.updated_ms = sqlite3_column_int64(s, 11);
  return r;
}

// Steps a statement that returns no rows.
Result<bool> run(sqlite3* db, Bound b) {
  if (!b.stmt) return Error{b.error};
  const int rc = sqlite3_step(b.stmt.get());
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return Error{errmsg(db)};
  return sqlite3_changes(db) > 0;
}

constexpr const char* kBump = "UPDATE meta SET value = value + 1 WHERE key = 'domains_version'";

}  // namespace

struct CertStore::Impl {
  std::string path;
  std::mutex mu;  // guards db
  Db db;

  // Runs `body` (returning Result<bool>) in a write transaction.
  template <class F>
  Result<bool> write(F body) {
    sqlite3* d = db.get();
    if (auto r = exec(d, "BEGIN IMMEDIATE"); !r) return Error{path + ": " + r.error()};
    Result<bool> result = body(d);
    if (result.ok()) {
      if (auto r = exec(d, "COMMIT"); !r) result = Error{r.error()};
    }
    if (!result.ok()) (void)exec(d, "ROLLBACK");
    return result;
  }
};

CertStore::CertStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CertStore::~CertStore() = default;

Result<std::unique_ptr<CertStore>> CertStore::open(const std::string& path, bool create) {
  auto db = internal::open_db(path, create);
  if (!db) return Error{db.error()};
  if (auto r = internal::ensure_schema(db->get(), path); !r) return Error{r.error()};
  if (auto r = exec(db->get(), "PRAGMA synchronous=FULL"); !r) {
    return Error{path + ": " + r.error()};
  }
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->db = std::move(db).value();
  return std::make_unique<CertStore>(std::move(impl));
}

const std::string& CertStore::path() const {
  return impl_->path;
}

Result<std::optional<CertificateRow>> CertStore::certificate(std::string_view domain) {
  std::lock_guard lock(impl_->mu);
  Bound b = bind(impl_->db.get(), std::string(kCertColumns) + " WHERE domain = ?", {domain});
  if (!b.stmt) return Error{b.error};
  const int rc = sqlite3_step(b.stmt.get());
  if (rc == SQLITE_ROW) return std::optional<CertificateRow>(cert_row(b.stmt.get()));
  if (rc != SQLITE_DONE) return Error{errmsg(impl_->db.get())};
  return std::optional<CertificateRow>();
}

Result<std::vector<CertificateRow>> CertStore::certificates() {
  std::lock_guard lock(impl_->mu);
  Bound b = bind(impl_->db.get(), std::string(kCertColumns) + " ORDER BY domain", {});
  if (!b.stmt) return Error{b.error};
  std::vector<CertificateRow> out;
  int rc;
  while ((rc = sqlite3_step(b.stmt.get())) == SQLITE_ROW) out.push_back(cert_row(b.stmt.get()));
  if (rc != SQLITE_DONE) return Error{errmsg(impl_->db.get())};
  return out;
}

Result<bool> CertStore::put_certificate(const CertificateRow& row) {
  std::lock_guard lock(impl_->mu);
  return impl_->write([&](sqlite3* d) -> Result<bool> {
    // Only a change of what is served (or of the status the API and the
    // effective configuration show) wakes the other processes.
    Bound old =
        bind(d, "SELECT status, chain_pem FROM certificates WHERE domain = ?", {row.domain});
    if (!old.stmt) return Error{old.error};
    bool bump = true;
    if (sqlite3_step(old.stmt.get()) == SQLITE_ROW) {
      bump = text(old.stmt.get(), 0) != row.status || text(old.stmt.get(), 1) != row.chain_pem;
    }
    old.stmt.reset();
    auto r = run(
        d, bind(d,
                "INSERT OR REPLACE INTO certificates (domain, source, status, message, "
                "chain_pem, key_pem, serial, not_before_ms, not_after_ms, failures, "
                "next_try_ms, updated_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                {row.domain, row.source, row.status, row.message, row.chain_pem, row.key_pem,
                 row.serial},
                {row.not_before_ms, row.not_after_ms, row.failures, row.next_try_ms, now_ms()}));
    if (!r || !bump) return r;
    return exec(d, kBump);
  });
}

Result<bool> CertStore::delete_certificate(std::string_view domain) {
  std::lock_guard lock(impl_->mu);
  return impl_->write([&](sqlite3* d) -> Result<bool> {
    auto r = run(d, bind(d, "DELETE FROM certificates WHERE domain = ?", {domain}));
    if (!r || !*r) return r;
    if (auto b = exec(d, kBump); !b) return b;
    return true;
  });
}

Result<std::optional<AcmeAccountRow>> CertStore::account(std::string_view directory) {
  std::lock_guard lock(impl_->mu);
  Bound b = bind(impl_->db.get(), "SELECT key_pem, kid FROM acme_accounts WHERE directory = ?",
                 {directory});
  if (!b.stmt) return Error{b.error};
  const int rc = sqlite3_step(b.stmt.get());
  if (rc == SQLITE_ROW) {
    return std::optional<AcmeAccountRow>(
        AcmeAccountRow{std::string(directory), text(b.stmt.get(), 0), text(b.stmt.get(), 1)});
  }
  if (rc != SQLITE_DONE) return Error{errmsg(impl_->db.get())};
  return std::optional<AcmeAccountRow>();
}

Result<bool> CertStore::put_account(const AcmeAccountRow& row) {
  std::lock_guard lock(impl_->mu);
  return impl_->write([&](sqlite3* d) {
    return run(d, bind(d, "INSERT OR REPLACE INTO acme_accounts VALUES (?,?,?)",
                       {row.directory, row.key_pem, row.kid}));
  });
}

Result<std::optional<std::string>> CertStore::challenge(std::string_view token) {
  std::lock_guard lock(impl_->mu);
  Bound b = bind(impl_->db.get(), "SELECT key_authorization FROM acme_challenges WHERE token = ?",
                 {token});
  if (!b.stmt) return Error{b.error};
  const int rc = sqlite3_step(b.stmt.get());
  if (rc == SQLITE_ROW) return std::optional<std::string>(text(b.stmt.get(), 0));
  if (rc != SQLITE_DONE) return Error{errmsg(impl_->db.get())};
  return std::optional<std::string>();
}

Result<bool> CertStore::put_challenge(std::string_view token, std::string_view key_authorization,
                                      std::string_view domain) {
  std::lock_guard lock(impl_->mu);
  return impl_->write([&](sqlite3* d) {
    return run(d, bind(d, "INSERT OR REPLACE INTO acme_challenges VALUES (?,?,?,?)",
                       {token, key_authorization, domain}, {now_ms()}));
  });
}

Result<bool> CertStore::delete_challenge(std::string_view token) {
  std::lock_guard lock(impl_->mu);
  return impl_->write([&](sqlite3* d) {
    return run(d, bind(d, "DELETE FROM acme_challenges WHERE token = ?", {token}));
  });
}

Result<bool> CertStore::take_lease(std::string_view holder, std::int64_t ttl_ms) {
  std::lock_guard lock(impl_->mu);
  const std::int64_t now = now_ms();
  return impl_->write([&](sqlite3* d) {
    return run(d, bind(d,
                       "INSERT INTO acme_lease (id, holder, expires_ms) VALUES (1, ?, ?) "
                       "ON CONFLICT(id) DO UPDATE SET holder = excluded.holder, "
                       "expires_ms = excluded.expires_ms "
                       "WHERE acme_lease.holder = excluded.holder OR acme_lease.expires_ms < ?",
                       {holder}, {now + ttl_ms, now}));
  });
}

Result<bool> CertStore::release_lease(std::string_view holder) {
  std::lock_guard lock(impl_->mu);
  return impl_->write([&](sqlite3* d) {
    return run(d, bind(d, "DELETE FROM acme_lease WHERE holder = ?", {holder}));
  });
}

}  // namespace trackrelay::store
