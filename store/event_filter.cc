// store/event_filter.cc — see event_filter.h. May call: base/, SQLite.
#include "store/event_filter.h"

#include <algorithm>
#include <charconv>
#include <iterator>

namespace trackrelay::store {
namespace {

// A new filterable column is one row here (and one in api/engagement.cc's kFilters).
constexpr FilterColumn kColumns[] = {
    {"type", false},
    {"campaign_id", false},
    {"rcpt_to", false},
    {"message_id", false},
    {"transmission_id", false},
    {"sending_domain", false},
    {"tracking_domain", false},
    {"subaccount_id", true},
    {"classification", false},
};

}  // namespace

std::span<const FilterColumn> filter_columns() {
  return kColumns;
}

namespace internal {

Result<Where> Where::of(const Selection& s) {
  Where w;
  w.sql_ = " WHERE TRUE";  // portable: SQLite >= 3.23 and PostgreSQL
  auto number = [&w](std::int64_t v) { w.values_.push_back(Value{true, v, {}}); };
  if (s.from_ms) {
    w.sql_ += " AND ts_ms >= ?";
    number(*s.from_ms);
  }
  if (s.to_ms) {
    w.sql_ += " AND ts_ms < ?";
    number(*s.to_ms);
  }
  if (s.subaccount_id) {
    w.sql_ += " AND subaccount_id = ?";
    number(*s.subaccount_id);
  }
  for (const ColumnFilter& f : s.filters) {
    auto col = std::find_if(std::begin(kColumns), std::end(kColumns),
                            [&](const FilterColumn& c) { return c.name == f.column; });
    if (col == std::end(kColumns)) return Error{"cannot filter events by '" + f.column + "'"};
    if (f.values.empty() && !f.engagement_only) w.nothing_ = true;
    w.sql_ += f.engagement_only ? " AND (type = 'injection' OR " : " AND ";
    w.sql_ += col->name;  // from kColumns, never from the caller
    w.sql_ += " IN (";
    for (std::size_t i = 0; i < f.values.size(); ++i) {
      const std::string& v = f.values[i];
      w.sql_ += i == 0 ? "?" : ",?";
      if (!col->integer) {
        w.values_.push_back(Value{false, 0, v});
        continue;
      }
      std::int64_t n = 0;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || end != v.data() + v.size()) {
        return Error{"'" + v + "' is not a valid " + std::string(col->name)};
      }
      number(n);
    }
    if (f.values.empty()) w.sql_ += "NULL";
    w.sql_ += ")";
    if (f.engagement_only) w.sql_ += ")";
  }
  return w;
}

int Where::bind(sqlite3_stmt* s, int i) const {
  for (const Value& v : values_) {
    if (v.integer) {
      sqlite3_bind_int64(s, i++, v.number);
    } else {
      sqlite3_bind_text(s, i++, v.text.data(), static_cast<int>(v.text.size()), SQLITE_STATIC);
    }
  }
  return i;
}

std::vector<std::variant<std::int64_t, std::string_view, std::nullptr_t>> Where::values() const {
  std::vector<std::variant<std::int64_t, std::string_view, std::nullptr_t>> out;
  out.reserve(values_.size());
  for (const Value& v : values_) {
    if (v.integer) {
      out.emplace_back(v.number);
    } else {
      out.emplace_back(std::string_view(v.text));
    }
  }
  return out;
}

}  // namespace internal
}  // namespace trackrelay::store
