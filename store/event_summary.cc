// store/event_summary.cc — see event_summary.h. Every count is one GROUP BY
// over the events table (the ts_ms index bounds the scan to the range), in
// portable SQL run on either backend (store/event_sql.h).
// May call: base/, store/event_sql.h.
#include "store/event_summary.h"

#include <algorithm>
#include <functional>

#include "store/event_sql.h"

namespace trackrelay::store {
namespace {

using internal::EventReader;
using internal::Row;
using internal::Value;

// The WHERE clause shared by every count, and its bindings in order.
struct Where {
  std::string sql;
  std::vector<Value> values;  // views into the SummaryQuery

  explicit Where(const SummaryQuery& q) {
    sql = " WHERE ts_ms >= ? AND ts_ms < ?";
    values = {q.from_ms, q.to_ms};
    if (q.subaccount_id) {
      sql += " AND subaccount_id = ?";
      values.emplace_back(*q.subaccount_id);
    }
    auto in_list = [this](const char* column, const std::vector<std::string>& list) {
      if (list.empty()) return;
      sql += std::string(" AND ") + column + " IN (";
      for (std::size_t i = 0; i < list.size(); ++i) {
        sql += i == 0 ? "?" : ",?";
        values.emplace_back(std::string_view(list[i]));
      }
      sql += ")";
    };
    in_list("type", q.types);
    in_list("campaign_id", q.campaign_ids);
    in_list("tracking_domain", q.tracking_domains);
    in_list("classification", q.classifications);
  }
};

// Runs `sql` (with the shared WHERE bound first, then `extra` ints) and calls
// `row` for every result row.
Result<bool> each(EventReader& db, const std::string& sql, const Where& where,
                  const std::vector<std::int64_t>& extra,
                  const std::function<void(const Row&)>& row) {
  std::vector<Value> params = where.values;
  for (std::int64_t v : extra) params.emplace_back(v);
  auto r = db.each(sql, params, row);
  if (!r) return Error{"summary " + r.error(), r.code()};
  return true;
}

Result<std::vector<KeyCount>> by_key(EventReader& db, const char* column, const Where& where,
                                     std::size_t top) {
  std::vector<KeyCount> out;
  const std::string sql = std::string("SELECT ") + column + ", type, count(*) FROM events" +
                          where.sql + " GROUP BY " + column + ", type";
  auto r = each(db, sql, where, {}, [&](const Row& s) {
    std::string key = s.text(0);
    const int t = type_index(s.text(1));
    if (t < 0) return;
    auto it = std::find_if(out.begin(), out.end(), [&](const KeyCount& k) { return k.key == key; });
    if (it == out.end()) it = out.insert(out.end(), KeyCount{std::move(key), {}});
    it->counts[static_cast<std::size_t>(t)] += s.i64(2);
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
  auto opened = EventReader::open(path);
  if (!opened) return opened.failure();
  EventReader& raw = **opened;
  const Where where(q);

  // The bucket arithmetic uses integers of this request, never its strings.
  const std::string bucket_sql = "SELECT (ts_ms - " + std::to_string(q.from_ms) + ") / " +
                                 std::to_string(q.bucket_ms) + ", type, count(*) FROM events" +
                                 where.sql + " GROUP BY 1, 2";
  auto b = each(raw, bucket_sql, where, {}, [&](const Row& s) {
    const std::int64_t i = s.i64(0);
    const int t = type_index(s.text(1));
    if (i < 0 || i >= n || t < 0) return;
    const std::int64_t c = s.i64(2);
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
    auto l = each(raw, links_sql, where, {static_cast<std::int64_t>(q.top)}, [&](const Row& s) {
      out.top_links.push_back(LinkCount{s.text(0), s.text(1), s.i64(2)});
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
