// store/cert_store.cc — CertStore over either backend (store/db.h), in
// portable SQL. May call: base/, store/db.h.
#include "store/cert_store.h"

#include <chrono>
#include <mutex>
#include <utility>

#include "store/cluster.h"
#include "store/db.h"

namespace trackrelay::store {
namespace {

using internal::Connection;
using internal::Query;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr const char* kCertColumns =
    "SELECT domain, source, status, message, chain_pem, key_pem, not_before_ms, not_after_ms, "
    "serial, failures, next_try_ms, updated_ms FROM certificates";

CertificateRow cert_row(const Query& q) {
  CertificateRow r;
  r.domain = q.text(0);
  r.source = q.text(1);
  r.status = q.text(2);
  r.message = q.text(3);
  r.chain_pem = q.text(4);
  r.key_pem = q.text(5);
  r.not_before_ms = q.i64(6);
  r.not_after_ms = q.i64(7);
  r.serial = q.text(8);
  r.failures = static_cast<int>(q.i64(9));
  r.next_try_ms = q.i64(10);
  r.updated_ms = q.i64(11);
  return r;
}

// Runs a statement that returns no rows: whether it changed a row.
Result<bool> run(Query q) {
  if (auto r = q.run(); !r) return r;
  return q.changes() > 0;
}

// The first row's column 0 as text, nullopt without a row.
Result<std::optional<std::string>> first_text(Query q) {
  if (q.step()) return std::optional<std::string>(q.text(0));
  if (q.failed()) return Error{q.error(), q.code()};
  return std::optional<std::string>();
}

}  // namespace

struct CertStore::Impl {
  std::string path;
  std::mutex mu;  // guards db
  std::unique_ptr<Connection> db;

  // Runs `body` (returning Result<bool>) in a write transaction.
  template <class F>
  Result<bool> write(F body) {
    Connection& d = *db;
    if (auto r = d.begin_write(); !r) return Error{d.name() + ": " + r.error(), r.code()};
    Result<bool> result = body(d);
    if (result.ok()) {
      if (auto r = d.commit(); !r) result = r.failure();
    }
    if (!result.ok()) (void)d.rollback();
    return result;
  }
};

CertStore::CertStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CertStore::~CertStore() = default;

Result<std::unique_ptr<CertStore>> CertStore::open(const std::string& path, bool create,
                                                   Connect connect) {
  auto db = internal::open_connection(path, create, connect);
  if (!db) return db.failure();
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
  Query q(*impl_->db, std::string(kCertColumns) + " WHERE domain = ?", {domain});
  if (q.step()) return std::optional<CertificateRow>(cert_row(q));
  if (q.failed()) return Error{q.error(), q.code()};
  return std::optional<CertificateRow>();
}

Result<std::vector<CertificateRow>> CertStore::certificates() {
  std::lock_guard lock(impl_->mu);
  Query q(*impl_->db, std::string(kCertColumns) + " ORDER BY domain");
  std::vector<CertificateRow> out;
  while (q.step()) out.push_back(cert_row(q));
  if (q.failed()) return Error{q.error(), q.code()};
  return out;
}

Result<bool> CertStore::put_certificate(const CertificateRow& row) {
  std::lock_guard lock(impl_->mu);
  return impl_->write([&](Connection& d) -> Result<bool> {
    // Only a change of what is served (or of the status the API and the
    // effective configuration show) wakes the other processes.
    Query old(d, "SELECT status, chain_pem FROM certificates WHERE domain = ?", {row.domain});
    bool bump = true;
    if (old.step()) bump = old.text(0) != row.status || old.text(1) != row.chain_pem;
    if (old.failed()) return Error{old.error(), old.code()};
    auto r = run(Query(d,
                       "INSERT INTO certificates (domain, source, status, message, chain_pem, "
                       "key_pem, serial, not_before_ms, not_after_ms, failures, next_try_ms, "
                       "updated_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (domain) DO "
                       "UPDATE SET source = excluded.source, status = excluded.status, "
                       "message = excluded.message, chain_pem = excluded.chain_pem, "
                       "key_pem = excluded.key_pem, serial = excluded.serial, "
                       "not_before_ms = excluded.not_before_ms, "
                       "not_after_ms = excluded.not_after_ms, failures = excluded.failures, "
                       "next_try_ms = excluded.next_try_ms, updated_ms = excluded.updated_ms",
                       {row.domain, row.source, row.status, row.message, row.chain_pem, row.key_pem,
                        row.serial, row.not_before_ms, row.not_after_ms, std::int64_t{row.failures},
                        row.next_try_ms, now_ms()}));
    if (!r || !bump) return r;
    return internal::bump_domains_version(d);
  });
}

Result<bool> CertStore::delete_certificate(std::string_view domain) {
  std::lock_guard lock(impl_->mu);
  return impl_->write([&](Connection& d) -> Result<bool> {
    auto r = run(Query(d, "DELETE FROM certificates WHERE domain = ?", {domain}));
    if (!r || !*r) return r;
    if (auto b = internal::bump_domains_version(d); !b) return b;
    return true;
  });
}

Result<std::optional<AcmeAccountRow>> CertStore::account(std::string_view directory) {
  std::lock_guard lock(impl_->mu);
  Query q(*impl_->db, "SELECT key_pem, kid FROM acme_accounts WHERE directory = ?", {directory});
  if (q.step()) {
    return std::optional<AcmeAccountRow>(
        AcmeAccountRow{std::string(directory), q.text(0), q.text(1)});
  }
  if (q.failed()) return Error{q.error(), q.code()};
  return std::optional<AcmeAccountRow>();
}

Result<bool> CertStore::put_account(const AcmeAccountRow& row) {
  std::lock_guard lock(impl_->mu);
  return impl_->write([&](Connection& d) {
    return run(Query(d,
                     "INSERT INTO acme_accounts (directory, key_pem, kid) VALUES (?,?,?) "
                     "ON CONFLICT (directory) DO UPDATE SET key_pem = excluded.key_pem, "
                     "kid = excluded.kid",
                     {row.directory, row.key_pem, row.kid}));
  });
}

Result<std::optional<std::string>> CertStore::challenge(std::string_view token) {
  std::lock_guard lock(impl_->mu);
  return first_text(
      Query(*impl_->db, "SELECT key_authorization FROM acme_challenges WHERE token = ?", {token}));
}

Result<std::vector<ChallengeRow>> CertStore::challenges() {
  std::lock_guard lock(impl_->mu);
  Query q(*impl_->db,
          "SELECT token, key_authorization, domain FROM acme_challenges ORDER BY token");
  std::vector<ChallengeRow> out;
  while (q.step()) out.push_back({q.text(0), q.text(1), q.text(2)});
  if (q.failed()) return Error{q.error(), q.code()};
  return out;
}

Result<bool> CertStore::put_challenge(std::string_view token, std::string_view key_authorization,
                                      std::string_view domain) {
  std::lock_guard lock(impl_->mu);
  return impl_->write([&](Connection& d) -> Result<bool> {
    auto r = run(Query(d,
                       "INSERT INTO acme_challenges (token, key_authorization, domain, created_ms) "
                       "VALUES (?,?,?,?) ON CONFLICT (token) DO UPDATE SET "
                       "key_authorization = excluded.key_authorization, domain = excluded.domain, "
                       "created_ms = excluded.created_ms",
                       {token, key_authorization, domain, now_ms()}));
    if (!r) return r;
    if (auto n = internal::notify_challenges(d); !n) return n;
    return r;
  });
}

Result<bool> CertStore::delete_challenge(std::string_view token) {
  std::lock_guard lock(impl_->mu);
  return impl_->write([&](Connection& d) -> Result<bool> {
    auto r = run(Query(d, "DELETE FROM acme_challenges WHERE token = ?", {token}));
    if (!r || !*r) return r;
    if (auto n = internal::notify_challenges(d); !n) return n;
    return r;
  });
}

// The issuance lease: one row, taken when free, expired or already ours.
Result<bool> CertStore::take_lease(std::string_view holder, std::int64_t ttl_ms) {
  std::lock_guard lock(impl_->mu);
  const std::int64_t now = now_ms();
  return impl_->write([&](Connection& d) {
    return run(Query(d,
                     "INSERT INTO acme_lease (id, holder, expires_ms) VALUES (1, ?, ?) "
                     "ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, "
                     "expires_ms = excluded.expires_ms "
                     "WHERE acme_lease.holder = excluded.holder OR acme_lease.expires_ms < ?",
                     {holder, now + ttl_ms, now}));
  });
}

Result<bool> CertStore::release_lease(std::string_view holder) {
  std::lock_guard lock(impl_->mu);
  return impl_->write([&](Connection& d) {
    return run(Query(d, "DELETE FROM acme_lease WHERE holder = ?", {holder}));
  });
}

}  // namespace trackrelay::store
