// store/event_metrics.cc — see event_metrics.h: portable SQL, either
// backend (store/event_sql.h). May call: store/, base/.
#include "store/event_metrics.h"

#include <array>

#include "store/event_sql.h"

namespace trackrelay::store {
namespace {

constexpr std::array<const char*, 4> kGroups = {"campaign_id", "sending_domain", "tracking_domain",
                                                "subaccount_id"};

constexpr const char* kCounts =
    "count(CASE WHEN type = 'injection' THEN 1 END), "
    "count(CASE WHEN type = 'click' THEN 1 END), "
    // A newline between the two (in neither): a literal one, as SQLite's
    // char(10) and PostgreSQL's chr(10) differ.
    "count(DISTINCT CASE WHEN type = 'click' THEN message_id || '\n' || rcpt_to END), "
    "count(CASE WHEN type IN ('open', 'initial_open') THEN 1 END), "
    "count(DISTINCT CASE WHEN type IN ('open', 'initial_open') "
    "THEN message_id || '\n' || rcpt_to END), "
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
  auto db = internal::EventReader::open(path);
  if (!db) return db.failure();
  auto r = (*db)->each(sql, where->values(), [&out](const internal::Row& row) {
    Deliverability d;
    d.key = row.text(0);
    d.count_injected = row.i64(1);
    d.count_clicked = row.i64(2);
    d.count_unique_clicked = row.i64(3);
    d.count_rendered = row.i64(4);
    d.count_unique_rendered = row.i64(5);
    d.count_initial_rendered = row.i64(6);
    out.push_back(std::move(d));
  });
  if (!r) return r.failure();
  return out;
}

}  // namespace trackrelay::store
