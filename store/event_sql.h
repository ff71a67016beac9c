// store/event_sql.h — the events table's read side on either backend: one
// statement with any number of `?` parameters (a filter's IN list, a page's
// cursor), rows read with i64()/text(). The events page, count, summary and
// deliverability queries are written once in portable SQL and run through
// this; store/db.h's Query binds a fixed initializer list, which a filter of
// any length cannot use. Also the PostgreSQL text rules the event writer
// shares (valid UTF-8 without NUL bytes). Internal to store/.
// May call: store/db.h, store/pg.h, store/schema.h, base/, SQLite, libpq.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "store/db.h"

struct pg_conn;

namespace trackrelay::store::internal {

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

// `s` as PostgreSQL accepts it in a TEXT column: invalid UTF-8 sequences
// become U+FFFD and NUL bytes are dropped (a client's User-Agent may hold
// any bytes; SQLite keeps them as given).
std::string pg_text(std::string_view s);

}  // namespace trackrelay::store::internal
