// store/event_filter.h — which events a page, a count or a metric covers:
// a time range, the caller's account scope, and list filters on a fixed set
// of columns (SparkPost's events/metrics filters map onto these, api/engagement.cc).
//
// A filter names a column of the events table from filter_columns() — never
// text from a request — and its values are always bound parameters. Filters
// are ANDed; the values of one filter are ORed (SQL IN). Adding a filterable
// column is one row of filter_columns() (and an index when it is common).
// The SQL is portable (SQLite and PostgreSQL). May call: base/, SQLite.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/result.h"

namespace trackrelay::store {

struct ColumnFilter {
  std::string column;               // one of filter_columns()
  std::vector<std::string> values;  // an empty list matches nothing
  // Applies to clicks and opens only: injections always pass
  // ("(type = 'injection' OR column IN (...))"); the deliverability
  // metrics' classification filter (injections are never classified).
  bool engagement_only = false;
};

struct FilterColumn {
  std::string_view name;
  bool integer = false;  // values are decimal integers (subaccount_id)
};
// type, campaign_id, rcpt_to, message_id, transmission_id, sending_domain,
// tracking_domain, subaccount_id.
std::span<const FilterColumn> filter_columns();

// Events of one range and scope, narrowed by filters.
struct Selection {
  std::optional<std::int64_t> from_ms;        // timestamp >= from
  std::optional<std::int64_t> to_ms;          // timestamp <  to
  std::optional<std::int64_t> subaccount_id;  // the caller's scope; nullopt: every account
  std::vector<ColumnFilter> filters;
};

namespace internal {

// " WHERE ..." for a Selection, and its bindings in order.
class Where {
 public:
  // The error names an unknown column or a value that is not an integer.
  static Result<Where> of(const Selection& s);
  const std::string& sql() const { return sql_; }
  bool matches_nothing() const { return nothing_; }
  // Binds from index `i` on; returns the next free index.
  int bind(sqlite3_stmt* s, int i) const;
  // The bindings in order (views into this Where), for store/event_sql.h.
  std::vector<std::variant<std::int64_t, std::string_view, std::nullptr_t>> values() const;

 private:
  struct Value {
    bool integer = false;
    std::int64_t number = 0;
    std::string text;
  };
  std::string sql_;
  std::vector<Value> values_;
  bool nothing_ = false;
};

}  // namespace internal
}  // namespace trackrelay::store
