// store/event_metrics.cc — see event_metrics.h. May call: store/, base/, SQLite.
#include "store/event_metrics.h"

#include <sqlite3.h>

#include <array>

#include "store/schema.h"

namespace trackrelay::store {
namespace {

constexpr std::array<const char*, 4> kGroups = {"campaign_id", "sending_domain", "tracking_domain",
                                                "subaccount_id"};

constexpr const char* kCounts =
    "count(CASE WHEN type = 'injection' THEN 1 END), "
    "count(CASE WHEN type = 'click' THEN 1 END), "
    "count(DISTINCT CASE WHEN type = 'click' THEN message_id || char(10) || rcpt_to END), "
    "count(CASE WHEN type IN ('open', 'initial_open') THEN 1 END), "
    "count(DISTINCT CASE WHEN type IN ('open', 'initial_open') "
    "THEN message_id || char(10) || rcpt_to END), "
    "count(CASE WHEN type = 'initial_open' THEN 1 END)";

}  // namespace

Result<std::vector<Deliverability>> deliverability(const std::string& path, const Selection& s,
                                                   const std::string& group) {
  const char* column = nullptr;
  for (const char* g : kGroups) {
    if (group == g) column = g;  // from kGroups, never from the caller
  }
  if (!group.empty() && column == nullptr) return Error{"cannot group by '" + group + "'"};
  auto where = internal::Where::of(s);
  if (!where) return Error{where.error()};
  std::vector<Deliverability> out;
  if (where->matches_nothing()) {
    if (column == nullptr) out.emplace_back();
    return out;
  }
  std::string sql = "SELECT ";
  sql += column != nullptr ? std::string("CAST(") + column + " AS TEXT), " : "'', ";
  sql += kCounts;
  sql += " FROM events" + where->sql();
  if (column != nullptr) sql += std::string(" GROUP BY ") + column + " ORDER BY " + column;
  auto db = internal::open_db(path, false);
  if (!db) return Error{db.error()};
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db->get(), sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
    return Error{"query failed: " + internal::errmsg(db->get())};
  }
  internal::Stmt st(raw);
  where->bind(raw, 1);
  int rc;
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
    Deliverability d;
    const auto* key = reinterpret_cast<const char*>(sqlite3_column_text(raw, 0));
    if (key != nullptr) d.key = key;
    d.count_injected = sqlite3_column_int64(raw, 1);
    d.count_clicked = sqlite3_column_int64(raw, 2);
    d.count_unique_clicked = sqlite3_column_int64(raw, 3);
    d.count_rendered = sqlite3_column_int64(raw, 4);
    d.count_unique_rendered = sqlite3_column_int64(raw, 5);
    d.count_initial_rendered = sqlite3_column_int64(raw, 6);
    out.push_back(std::move(d));
  }
  if (rc != SQLITE_DONE) return Error{"query failed: " + internal::errmsg(db->get())};
  return out;
}

}  // namespace trackrelay::store
