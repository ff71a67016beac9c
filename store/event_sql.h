// store/event_sql.h — the events table's read side on either backend: one
// statement with any number of `?` parameters (a filter's IN list, a page's
// cursor), rows read with i64()/text(). The events page, count, summary and
// deliverability queries are written once in portable SQL and run through
// this; store/db.h's Query binds a fixed initializer list, which a filter of
// any length cannot use. Also the PostgreSQL text rules the event writer
// shares (valid UTF-8 without NUL bytes). Internal to store/.
// May call: store/db.h, store/pg.h, store/schema.h, base/, SQLite, libpq.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "store/db.h"
#include "store/event_store.h"

struct pg_conn;
struct sqlite3;

namespace trackrelay::store::internal {

class PgConnection;  // store/pg.h

// One row of a result.
class Row {
 public:
  virtual ~Row() = default;
  virtual std::int64_t i64(int c) const = 0;
  virtual std::string text(int c) const = 0;
};

// A read connection to the events of one store value (a SQLite file, never
// created, or a PostgreSQL URI). Not thread-safe.
class EventReader {
 public:
  static Result<std::unique_ptr<EventReader>> open(const std::string& store);
  explicit EventReader(std::unique_ptr<Connection> conn);
  // Runs `sql` with `params` bound to its `?` in order; calls `row` per row.
  // The error says what the database said.
  Result<bool> each(const std::string& sql, const std::vector<Value>& params,
                    const std::function<void(const Row&)>& row);
  Connection& connection() { return *conn_; }

 private:
  std::unique_ptr<Connection> conn_;
};

// Runs `sql` (with `$n` placeholders already numbered) on a libpq
// connection with text parameters; `row` per row. For the event writer.
Result<bool> pg_each(pg_conn* conn, const std::string& sql, const std::vector<std::string>& params,
                     const std::function<void(const Row&)>& row);

// pg_each() on a PgConnection with a deadline (PgConnection::run_until):
// waits for the server at most `timeout`, past it the session is dropped
// (Errc::kUnavailable). For the event writer.
Result<bool> pg_each_until(PgConnection& conn, const std::string& sql,
                           const std::vector<std::string>& params,
                           const std::function<void(const Row&)>& row,
                           std::chrono::milliseconds timeout);

// The events table's columns, in the order event_from() reads them.
inline constexpr const char* kEventColumns =
    "seq, event_id, type, ts_ms, tracking_domain, target_link_url, target_link_name, message_id, "
    "rcpt_to, campaign_id, sending_domain, user_agent, ip_address, method, subaccount_id, "
    "transmission_id, raw_rcpt_to, rcpt_meta, rcpt_tags, friendly_from, msg_from, msg_size, "
    "classification, classification_reasons";

// The event in a row selecting kEventColumns.
Event event_from(const Row& r);

// Classification reasons are stored as one comma-separated column (rule
// names never contain a comma: track/classify.h).
std::string join_reasons(const std::vector<std::string>& reasons);
std::vector<std::string> split_reasons(const std::string& joined);

// Runs `sql` with `params` bound to its `?` in order; `row` per row.
using RunSql = std::function<Result<bool>(const std::string& sql, const std::vector<Value>& params,
                                          const std::function<void(const Row&)>& row)>;

// One page of the events `q` selects (limit, types and cursor checked; the
// next cursor set when there are more), read through `run`: the one page
// query of both backends.
Result<Page> query_page(const store::Query& q, const RunSql& run);

// RunSql on an SQLite handle.
Result<bool> sqlite_each(sqlite3* db, const std::string& sql, const std::vector<Value>& params,
                         const std::function<void(const Row&)>& row);

// `s` as PostgreSQL accepts it in a TEXT column: invalid UTF-8 sequences
// become U+FFFD and NUL bytes are dropped (a client's User-Agent may hold
// any bytes; SQLite keeps them as given).
std::string pg_text(std::string_view s);

}  // namespace trackrelay::store::internal
