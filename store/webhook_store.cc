// store/webhook_store.cc — WebhookStore over either backend (store/db.h), in
// portable SQL. May call: base/, store/db.h.
#include "store/webhook_store.h"

#include <mutex>
#include <variant>

#include "store/db.h"

namespace trackrelay::store {
namespace {

using internal::Backend;
using internal::Connection;

using Sql = internal::Query;

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < s.size()) {
    std::size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    if (comma > start) out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

constexpr const char* kWebhookColumns =
    "id, subaccount_id, all_accounts, name, target, events, auth_type, auth_username, "
    "auth_password, signing_secret, active, cursor_seq, last_successful_ms, last_failure_ms, "
    "created_ms";

WebhookRow webhook_row(const Sql& q) {
  WebhookRow r;
  r.id = q.text(0);
  r.subaccount_id = q.i64(1);
  r.all_accounts = q.i64(2) != 0;
  r.name = q.text(3);
  r.target = q.text(4);
  r.events = split(q.text(5));
  r.auth_type = q.text(6);
  r.auth_username = q.text(7);
  r.auth_password = q.text(8);
  r.signing_secret = q.text(9);
  r.active = q.i64(10) != 0;
  r.cursor_seq = q.i64(11);
  r.last_successful_ms = q.i64(12);
  r.last_failure_ms = q.i64(13);
  r.created_ms = q.i64(14);
  return r;
}

constexpr const char* kBatchColumns =
    "id, webhook_id, batch_id, first_seq, last_seq, event_count, payload, state, attempts, "
    "created_ms, next_attempt_ms, last_attempt_ms, response_code, last_error";

BatchRow batch_row(const Sql& q) {
  BatchRow b;
  b.id = q.i64(0);
  b.webhook_id = q.text(1);
  b.batch_id = q.text(2);
  b.first_seq = q.i64(3);
  b.last_seq = q.i64(4);
  b.event_count = q.i64(5);
  b.payload = q.text(6);
  b.state = q.text(7);
  b.attempts = q.i64(8);
  b.created_ms = q.i64(9);
  b.next_attempt_ms = q.i64(10);
  b.last_attempt_ms = q.i64(11);
  b.response_code = q.i64(12);
  b.last_error = q.text(13);
  return b;
}

}  // namespace

struct WebhookStore::Impl {
  std::mutex mu;
  std::unique_ptr<Connection> db;

  // Runs `body` inside a write transaction (SQLite: BEGIN IMMEDIATE),
  // rolled back on any error.
  template <class F>
  Result<bool> transaction(F body) {
    if (auto r = db->begin_write(); !r) return r;
    Result<bool> r = body();
    if (r) r = db->commit();
    if (!r) (void)db->rollback();
    return r;
  }
};

WebhookStore::WebhookStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WebhookStore::~WebhookStore() = default;

Result<std::unique_ptr<WebhookStore>> WebhookStore::open(const std::string& path, bool create,
                                                         Connect connect) {
  auto db = internal::open_connection(path, create, connect);
  if (!db) return db.failure();
  auto impl = std::make_unique<Impl>();
  impl->db = std::move(db).value();
  return std::make_unique<WebhookStore>(std::move(impl));
}

Result<WebhookRow> WebhookStore::add(WebhookRow row) {
  std::lock_guard lock(impl_->mu);
  Connection& db = *impl_->db;
  auto r = impl_->transaction([&]() -> Result<bool> {
    Sql max(db, "SELECT coalesce(max(seq), 0) FROM events", {});
    if (!max.step()) return Error{max.failed() ? max.error() : "no max(seq)"};
    row.cursor_seq = max.i64(0);
    return Sql(db,
               "INSERT INTO webhooks (id, subaccount_id, all_accounts, name, target, events, "
               "auth_type, auth_username, auth_password, signing_secret, active, cursor_seq, "
               "created_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
               {row.id, row.subaccount_id, std::int64_t{row.all_accounts}, row.name, row.target,
                join(row.events), row.auth_type, row.auth_username, row.auth_password,
                row.signing_secret, std::int64_t{row.active}, row.cursor_seq, row.created_ms})
        .run();
  });
  if (!r) return Error{r.error()};
  return row;
}

Result<std::vector<WebhookRow>> WebhookStore::list() {
  std::lock_guard lock(impl_->mu);
  Sql q(*impl_->db,
        std::string("SELECT ") + kWebhookColumns + " FROM webhooks ORDER BY created_ms, id", {});
  std::vector<WebhookRow> out;
  while (q.step()) out.push_back(webhook_row(q));
  if (q.failed()) return Error{q.error()};
  return out;
}

Result<std::optional<WebhookRow>> WebhookStore::get(const std::string& id) {
  std::lock_guard lock(impl_->mu);
  Sql q(*impl_->db, std::string("SELECT ") + kWebhookColumns + " FROM webhooks WHERE id = ?", {id});
  if (q.step()) return std::optional<WebhookRow>(webhook_row(q));
  if (q.failed()) return Error{q.error()};
  return std::optional<WebhookRow>();
}

Result<bool> WebhookStore::update(const WebhookRow& row) {
  std::lock_guard lock(impl_->mu);
  Connection& db = *impl_->db;
  Sql q(db,
        "UPDATE webhooks SET name = ?, target = ?, events = ?, auth_type = ?, auth_username = ?, "
        "auth_password = ?, active = ? WHERE id = ?",
        {row.name, row.target, join(row.events), row.auth_type, row.auth_username,
         row.auth_password, std::int64_t{row.active}, row.id});
  if (auto r = q.run(); !r) return r;
  return q.changes() > 0;
}

Result<bool> WebhookStore::remove(const std::string& id) {
  std::lock_guard lock(impl_->mu);
  Connection& db = *impl_->db;
  bool found = false;
  auto r = impl_->transaction([&]() -> Result<bool> {
    if (auto d = Sql(db, "DELETE FROM webhook_batches WHERE webhook_id = ?", {id}).run(); !d) {
      return d;
    }
    if (auto d = Sql(db, "DELETE FROM webhook_attempts WHERE webhook_id = ?", {id}).run(); !d) {
      return d;
    }
    Sql hook(db, "DELETE FROM webhooks WHERE id = ?", {id});
    if (auto d = hook.run(); !d) return d;
    found = hook.changes() > 0;
    return true;
  });
  if (!r) return r;
  return found;
}

Result<std::int64_t> WebhookStore::max_event_seq() {
  std::lock_guard lock(impl_->mu);
  internal::Connection& db = *impl_->db;
  if (db.backend() == internal::Backend::kSqlite) {
    // One writer at a time: seq order is commit order.
    Sql q(db, "SELECT coalesce(max(seq), 0) FROM events", {});
    if (q.step()) return q.i64(0);
    return Error{q.failed() ? q.error() : "no max(seq)"};
  }
  // PostgreSQL: several trackers insert at once, so a lower seq may commit
  // after a higher one, and a cursor moved past it would skip that event.
  // SHARE mode waits for every insert in progress and holds new ones for the
  // length of this read; each insert draws its seq after taking its lock, so
  // every seq up to the max read here belongs to a finished transaction.
  std::int64_t max = 0;
  auto r = impl_->transaction([&]() -> Result<bool> {
    if (auto locked = db.exec("LOCK TABLE events IN SHARE MODE"); !locked) return locked;
    Sql q(db, "SELECT coalesce(max(seq), 0) FROM events", {});
    if (!q.step()) return Error{q.failed() ? q.error() : "no max(seq)"};
    max = q.i64(0);
    return true;
  });
  if (!r) return r.failure();
  return max;
}

Result<bool> WebhookStore::advance_cursor(const std::string& webhook_id, std::int64_t from,
                                          std::int64_t to) {
  std::lock_guard lock(impl_->mu);
  Connection& db = *impl_->db;
  Sql q(db, "UPDATE webhooks SET cursor_seq = ? WHERE id = ? AND cursor_seq = ?",
        {to, webhook_id, from});
  if (auto r = q.run(); !r) return r;
  return q.changes() > 0;
}

Result<bool> WebhookStore::cut_batch(const BatchRow& b, std::int64_t from, std::int64_t to) {
  std::lock_guard lock(impl_->mu);
  Connection& db = *impl_->db;
  bool moved = false;
  auto r = impl_->transaction([&]() -> Result<bool> {
    Sql cas(db, "UPDATE webhooks SET cursor_seq = ? WHERE id = ? AND cursor_seq = ?",
            {to, b.webhook_id, from});
    if (auto u = cas.run(); !u) return u;
    moved = cas.changes() > 0;
    if (!moved) return true;
    return Sql(db,
               "INSERT INTO webhook_batches (webhook_id, batch_id, first_seq, last_seq, "
               "event_count, payload, state, created_ms, next_attempt_ms) VALUES "
               "(?,?,?,?,?,?,'pending',?,?)",
               {b.webhook_id, b.batch_id, b.first_seq, b.last_seq, b.event_count, b.payload,
                b.created_ms, b.next_attempt_ms})
        .run();
  });
  if (!r) return r;
  return moved;
}

Result<std::vector<BatchRow>> WebhookStore::due(const std::string& webhook_id, std::int64_t now_ms,
                                                std::size_t limit) {
  std::lock_guard lock(impl_->mu);
  Sql q(*impl_->db,
        std::string("SELECT ") + kBatchColumns +
            " FROM webhook_batches WHERE webhook_id = ? AND state = 'pending' AND "
            "next_attempt_ms <= ? ORDER BY id LIMIT ?",
        {webhook_id, now_ms, static_cast<std::int64_t>(limit)});
  std::vector<BatchRow> out;
  while (q.step()) out.push_back(batch_row(q));
  if (q.failed()) return Error{q.error()};
  return out;
}

Result<std::optional<std::int64_t>> WebhookStore::next_due(const std::string& webhook_id) {
  std::lock_guard lock(impl_->mu);
  Sql q(*impl_->db,
        "SELECT min(next_attempt_ms) FROM webhook_batches WHERE webhook_id = ? AND state = "
        "'pending'",
        {webhook_id});
  if (!q.step()) return Error{q.failed() ? q.error() : "no row"};
  if (q.null(0)) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(q.i64(0));
}

Result<bool> WebhookStore::record_attempt(std::int64_t batch_row_id, const Attempt& a) {
  std::lock_guard lock(impl_->mu);
  Connection& db = *impl_->db;
  return impl_->transaction([&]() -> Result<bool> {
    Sql q(db,
          "UPDATE webhook_batches SET state = ?, attempts = attempts + 1, last_attempt_ms = ?, "
          "next_attempt_ms = ?, response_code = ?, last_error = ?, "
          "payload = CASE WHEN ? = 'delivered' THEN '' ELSE payload END WHERE id = ?",
          {a.state, a.at_ms, a.next_attempt_ms, a.response_code, a.error, a.state, batch_row_id});
    if (auto r = q.run(); !r) return r;
    Sql log(db,
            "INSERT INTO webhook_attempts (webhook_id, batch_row, batch_id, attempt, ts_ms, "
            "response_code, state, error) SELECT webhook_id, id, batch_id, attempts, ?, ?, ?, ? "
            "FROM webhook_batches WHERE id = ?",
            {a.at_ms, a.response_code, a.state, a.error, batch_row_id});
    if (auto r = log.run(); !r) return r;
    const bool ok = a.state == "delivered";
    return Sql(db,
               ok ? "UPDATE webhooks SET last_successful_ms = ? WHERE id = "
                    "(SELECT webhook_id FROM webhook_batches WHERE id = ?)"
                  : "UPDATE webhooks SET last_failure_ms = ? WHERE id = "
                    "(SELECT webhook_id FROM webhook_batches WHERE id = ?)",
               {a.at_ms, batch_row_id})
        .run();
  });
}

Result<std::vector<BatchRow>> WebhookStore::batches(const std::string& webhook_id,
                                                    std::size_t limit) {
  std::lock_guard lock(impl_->mu);
  Sql q(*impl_->db,
        "SELECT id, webhook_id, batch_id, first_seq, last_seq, event_count, '', state, attempts, "
        "created_ms, next_attempt_ms, last_attempt_ms, response_code, last_error FROM "
        "webhook_batches WHERE webhook_id = ? ORDER BY id DESC LIMIT ?",
        {webhook_id, static_cast<std::int64_t>(limit)});
  std::vector<BatchRow> out;
  while (q.step()) out.push_back(batch_row(q));
  if (q.failed()) return Error{q.error()};
  return out;
}

Result<std::vector<AttemptRow>> WebhookStore::attempts(const std::string& webhook_id,
                                                       std::size_t limit) {
  std::lock_guard lock(impl_->mu);
  Sql q(*impl_->db,
        "SELECT batch_id, attempt, ts_ms, response_code, state, error FROM webhook_attempts "
        "WHERE webhook_id = ? ORDER BY id DESC LIMIT ?",
        {webhook_id, static_cast<std::int64_t>(limit)});
  std::vector<AttemptRow> out;
  while (q.step()) {
    out.push_back(AttemptRow{q.text(0), q.i64(1), q.i64(2), q.i64(3), q.text(4), q.text(5)});
  }
  if (q.failed()) return Error{q.error()};
  return out;
}

Result<bool> WebhookStore::prune(std::int64_t before_ms) {
  std::lock_guard lock(impl_->mu);
  Connection& db = *impl_->db;
  return impl_->transaction([&]() -> Result<bool> {
    if (auto r = Sql(db, "DELETE FROM webhook_attempts WHERE ts_ms < ?", {before_ms}).run(); !r) {
      return r;
    }
    return Sql(db, "DELETE FROM webhook_batches WHERE state != 'pending' AND created_ms < ?",
               {before_ms})
        .run();
  });
}

Result<QueueStats> WebhookStore::stats() {
  std::lock_guard lock(impl_->mu);
  Sql q(*impl_->db,
        "SELECT coalesce(sum(CASE WHEN state = 'pending' THEN 1 ELSE 0 END), 0), "
        "coalesce(sum(CASE WHEN state = 'pending' THEN event_count ELSE 0 END), 0), "
        "coalesce(sum(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), 0), "
        "coalesce(min(CASE WHEN state = 'pending' THEN created_ms END), 0) FROM webhook_batches",
        {});
  if (!q.step()) return Error{q.failed() ? q.error() : "no row"};
  return QueueStats{q.i64(0), q.i64(1), q.i64(2), q.i64(3)};
}

// The dispatcher lease, one row per name. The row is made to exist first
// (ON CONFLICT DO NOTHING: free names are taken at once), then read locked
// (PostgreSQL: FOR UPDATE, so two processes never both take an expired
// lease; SQLite's BEGIN IMMEDIATE already serialises writers).
Result<bool> WebhookStore::lease(const std::string& name, const std::string& owner,
                                 std::int64_t now_ms, std::int64_t ttl_ms,
                                 bool (*stale_owner)(const std::string&)) {
  std::lock_guard lock(impl_->mu);
  Connection& db = *impl_->db;
  bool held = false;
  auto r = impl_->transaction([&]() -> Result<bool> {
    Sql take(db,
             "INSERT INTO webhook_lease (name, owner, expires_ms) VALUES (?,?,?) "
             "ON CONFLICT (name) DO NOTHING",
             {name, owner, now_ms + ttl_ms});
    if (auto t = take.run(); !t) return t;
    if (take.changes() > 0) {
      held = true;
      return true;
    }
    Sql cur(db,
            db.backend() == Backend::kPostgres
                ? "SELECT owner, expires_ms FROM webhook_lease WHERE name = ? FOR UPDATE"
                : "SELECT owner, expires_ms FROM webhook_lease WHERE name = ?",
            {name});
    if (!cur.step()) return Error{cur.failed() ? cur.error() : "the lease row vanished"};
    const std::string holder = cur.text(0);
    const bool free =
        holder == owner || cur.i64(1) <= now_ms || (stale_owner != nullptr && stale_owner(holder));
    if (!free) return true;
    held = true;
    return Sql(db, "UPDATE webhook_lease SET owner = ?, expires_ms = ? WHERE name = ?",
               {owner, now_ms + ttl_ms, name})
        .run();
  });
  if (!r) return r;
  return held;
}

Result<bool> WebhookStore::release(const std::string& name, const std::string& owner) {
  std::lock_guard lock(impl_->mu);
  return Sql(*impl_->db, "DELETE FROM webhook_lease WHERE name = ? AND owner = ?", {name, owner})
      .run();
}

}  // namespace trackrelay::store
