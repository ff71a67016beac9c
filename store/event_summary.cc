// store/event_summary.cc — see event_summary.h. Every count is one GROUP BY
// over the events table (the ts_ms index bounds the scan to the range).
// May call: base/, SQLite.
#include "store/event_summary.h"

#include <sqlite3.h>

#include <algorithm>

#include "store/schema.h"
#include "store/statement.h"

namespace trackrelay::store {
namespace {

using internal::Db;
using internal::errmsg;
using internal::Stmt;

using internal::column_text;

// The WHERE clause shared by every count, and its bindings in order.
struct Where {
  std::string sql;
  const SummaryQuery* q = nullptr;

  explicit Where(const SummaryQuery& query) : q(&query) {
    sql = " WHERE ts_ms >= ? AND ts_ms < ?";
    if (q->subaccount_id) sql += " AND subaccount_id = ?";
    auto in_list = [this](const char* column, std::size_t n) {
      if (n == 0) return;
      sql += std::string(" AND ") + column + " IN (";
      for (std::size_t i = 0; i < n; ++i) sql += i == 0 ? "?" : ",?";
      sql += ")";
    };
    in_list("type", q->types.size());
    in_list("campaign_id", q->campaign_ids.size());
    in_list("tracking_domain", q->tracking_domains.size());
    in_list("classification", q->classifications.size());
  }

  // Binds from parameter 1; returns the next free index.
  int bind(sqlite3_stmt* s) const {
    int i = 1;
    sqlite3_bind_int64(s, i++, q->from_ms);
    sqlite3_bind_int64(s, i++, q->to_ms);
    if (q->subaccount_id) sqlite3_bind_int64(s, i++, *q->subaccount_id);
    auto text = [&](const std::string& v) {
      sqlite3_bind_text(s, i++, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    };
    for (const auto& v : q->types) text(v);
    for (const auto& v : q->campaign_ids) text(v);
    for (const auto& v : q->tracking_domains) text(v);
    for (const auto& v : q->classifications) text(v);
    return i;
  }
};

// Runs `sql` (with the shared WHERE bound first, then `extra` ints) and calls
// `row` for every result row.
template <class Row>
Result<bool> each(sqlite3* db, const std::string& sql, const Where& where,
                  std::vector<std::int64_t> extra, Row row) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
    return Error{"summary query failed: " + errmsg(db)};
  }
  Stmt st(raw);
  int i = where.bind(raw);
  for (std::int64_t v : extra) sqlite3_bind_int64(raw, i++, v);
  int rc;
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW) row(raw);
  if (rc != SQLITE_DONE) return Error{"summary query failed: " + errmsg(db)};
  return true;
}

Result<std::vector<KeyCount>> by_key(sqlite3* db, const char* column, const Where& where,
                                     std::size_t top) {
  std::vector<KeyCount> out;
  const std::string sql = std::string("SELECT ") + column + ", type, count(*) FROM events" +
                          where.sql + " GROUP BY " + column + ", type";
  auto r = each(db, sql, where, {}, [&](sqlite3_stmt* s) {
    std::string key = column_text(s, 0);
    const int t = type_index(column_text(s, 1));
    if (t < 0) return;
    auto it = std::find_if(out.begin(), out.end(), [&](const KeyCount& k) { return k.key == key; });
    if (it == out.end()) it = out.insert(out.end(), KeyCount{std::move(key), {}});
    it->counts[static_cast<std::size_t>(t)] += sqlite3_column_int64(s, 2);
  });
  if (!r) return Error{r.error()};
  auto total = [](const KeyCount& k) { return k.counts[0] + k.counts[1] + k.counts[2]; };
  std::stable_sort(out.begin(), out.end(), [&](const KeyCount& a, const KeyCount& b) {
    return total(a) != total(b) ? total(a) > total(b) : a.key < b.key;
  });
  if (out.size() > top) out.resize(top);
  return out;
}

}  // namespace

int type_index(std::string_view type) {
  if (type == "click") return 0;
  if (type == "open") return 1;
  if (type == "initial_open") return 2;
  return -1;
}

Result<Summary> summarize(const std::string& path, const SummaryQuery& q) {
  if (q.bucket_ms <= 0 || q.to_ms <= q.from_ms) return Error{"empty time range"};
  const std::int64_t n = (q.to_ms - q.from_ms + q.bucket_ms - 1) / q.bucket_ms;
  if (n > kMaxBuckets) {
    return Error{"the range holds " + std::to_string(n) + " buckets; at most " +
                 std::to_string(kMaxBuckets) + " (use a larger bucket)"};
  }
  Summary out;
  out.buckets.assign(static_cast<std::size_t>(n), TypeCounts{});
  if (q.only_listed_domains && q.tracking_domains.empty()) return out;
  auto db = internal::open_db(path, false);
  if (!db) return Error{db.error()};
  sqlite3* raw = db->get();
  const Where where(q);

  // The bucket arithmetic uses integers of this request, never its strings.
  const std::string bucket_sql = "SELECT (ts_ms - " + std::to_string(q.from_ms) + ") / " +
                                 std::to_string(q.bucket_ms) + ", type, count(*) FROM events" +
                                 where.sql + " GROUP BY 1, 2";
  auto b = each(raw, bucket_sql, where, {}, [&](sqlite3_stmt* s) {
    const std::int64_t i = sqlite3_column_int64(s, 0);
    const int t = type_index(column_text(s, 1));
    if (i < 0 || i >= n || t < 0) return;
    const std::int64_t c = sqlite3_column_int64(s, 2);
    out.buckets[static_cast<std::size_t>(i)][static_cast<std::size_t>(t)] += c;
    out.totals[static_cast<std::size_t>(t)] += c;
  });
  if (!b) return Error{b.error()};

  // Clicks only, whatever `types` says, when clicks are among the types asked for.
  if (q.types.empty() || std::find(q.types.begin(), q.types.end(), "click") != q.types.end()) {
    const std::string links_sql =
        "SELECT target_link_url, target_link_name, count(*) AS c FROM events" + where.sql +
        " AND type = 'click' GROUP BY target_link_url, target_link_name"
        " ORDER BY c DESC, target_link_url LIMIT ?";
    auto l = each(raw, links_sql, where, {static_cast<std::int64_t>(q.top)}, [&](sqlite3_stmt* s) {
      out.top_links.push_back(
          LinkCount{column_text(s, 0), column_text(s, 1), sqlite3_column_int64(s, 2)});
    });
    if (!l) return Error{l.error()};
  }
  auto d = by_key(raw, "tracking_domain", where, q.top);
  if (!d) return Error{d.error()};
  out.domains = std::move(d).value();
  auto c = by_key(raw, "campaign_id", where, q.top);
  if (!c) return Error{c.error()};
  out.campaigns = std::move(c).value();
  auto k = by_key(raw, "classification", where, 10);  // who clicked: at most 5 values
  if (!k) return Error{k.error()};
  out.classifications = std::move(k).value();
  return out;
}

}  // namespace trackrelay::store
