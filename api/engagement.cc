// api/engagement.cc — GET /events/summary: the counts behind the dashboard's
// Engagement page (clicks and opens per time bucket, top links by clicks
// with their names, counts per tracking domain and per campaign), computed
// by the store over the whole range rather than from one page of events.
// Filters and account scope are those of /events/message.
// May call: store/ (event_summary), conf/, base/, Boost.JSON.
#include <charconv>
#include <chrono>
#include <functional>
#include <optional>

#include "api/internal.h"
#include "store/event_json.h"
#include "store/event_summary.h"

namespace trackrelay::api::internal {
namespace {

constexpr std::int64_t kMinute = 60 * 1000;
constexpr std::int64_t kHour = 60 * kMinute;
constexpr std::int64_t kDay = 24 * kHour;
constexpr const char* kTypes[] = {"click", "open", "initial_open"};

json::object counts_json(const store::TypeCounts& c) {
  json::object o;
  for (std::size_t i = 0; i < 3; ++i) o[kTypes[i]] = c[i];
  return o;
}

// A query parameter's non-empty value, or null.
using Param = std::function<const std::string*(const char*)>;

ApiResponse bad(std::string_view what) {
  return error_response(422, "invalid parameter", what, "1300");
}

// The query's time range and bucket (from, to, bucket); an error response when wrong.
std::optional<ApiResponse> parse_range(const Param& param, store::SummaryQuery& q,
                                       std::string& bucket) {
  const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  q.to_ms = now;
  q.from_ms = now - kDay;
  if (const std::string* v = param("from")) {
    auto ms = store::parse_iso8601_ms(*v);
    if (!ms) return bad("'from' must be an ISO 8601 time such as 2024-05-01T12:00:00Z");
    q.from_ms = *ms;
  }
  if (const std::string* v = param("to")) {
    auto ms = store::parse_iso8601_ms(*v);
    if (!ms) return bad("'to' must be an ISO 8601 time such as 2024-05-01T12:00:00Z");
    q.to_ms = *ms;
  }
  if (q.to_ms <= q.from_ms) return bad("'to' must be later than 'from'");
  if (const std::string* v = param("bucket")) {
    bucket = *v;
  } else {
    const std::int64_t span = q.to_ms - q.from_ms;
    bucket = span <= 3 * kHour ? "minute" : span <= 14 * kDay ? "hour" : "day";
  }
  if (bucket == "minute") {
    q.bucket_ms = kMinute;
  } else if (bucket == "hour") {
    q.bucket_ms = kHour;
  } else if (bucket == "day") {
    q.bucket_ms = kDay;
  } else {
    return bad("'bucket' must be minute, hour or day");
  }
  if ((q.to_ms - q.from_ms + q.bucket_ms - 1) / q.bucket_ms > store::kMaxBuckets) {
    return bad("the range holds more than " + std::to_string(store::kMaxBuckets) + " " + bucket +
               "s; use a larger bucket or a shorter range");
  }
  return std::nullopt;
}

// The filters (events, campaign_ids, tracking_domains) and top; an error response when wrong.
std::optional<ApiResponse> parse_filters(const Param& param, store::SummaryQuery& q) {
  if (const std::string* v = param("events")) {
    q.types = split_list(*v);
    for (const std::string& t : q.types) {
      if (!store::is_event_type(t)) {
        return bad("unknown event type '" + t + "' (click, open, initial_open)");
      }
    }
  }
  if (const std::string* v = param("campaign_ids")) q.campaign_ids = split_list(*v);
  if (const std::string* v = param("tracking_domains")) q.tracking_domains = split_list(*v);
  if (auto wrong = parse_classifications(param("classifications"), q.classifications)) return wrong;
  if (const std::string* v = param("top")) {
    std::size_t n = 0;
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc() || end != v->data() + v->size() || n < 1 || n > 100) {
      return bad("'top' must be 1-100");
    }
    q.top = n;
  }
  return std::nullopt;
}

}  // namespace

// classifications=human,scanner (who clicked, track/classify.h): the events
// API and the summary filter on the events' classification column:
//   classification IN (?, ...)
std::optional<ApiResponse> parse_classifications(const std::string* value,
                                                 std::vector<std::string>& out) {
  if (value == nullptr) return std::nullopt;
  out = split_list(*value);
  for (const std::string& k : out) {
    if (k != "human" && k != "apple_mpp" && k != "image_proxy" && k != "scanner") {
      return error_response(
          422, "invalid parameter",
          "unknown classification '" + k + "' (human, apple_mpp, image_proxy, scanner)", "1300");
    }
  }
  return std::nullopt;
}

namespace {

// One list of per-key counts ({"<name>": key, counts...}).
json::array key_counts_json(const std::vector<store::KeyCount>& keys, std::string_view name) {
  json::array out;
  for (const store::KeyCount& k : keys) {
    json::object o = counts_json(k.counts);
    o[name] = k.key;
    out.push_back(std::move(o));
  }
  return out;
}

json::object summary_json(const store::SummaryQuery& q, const std::string& bucket,
                          const store::Summary& s) {
  json::object res;
  res["from"] = iso(q.from_ms);
  res["to"] = iso(q.to_ms);
  res["bucket"] = bucket;
  res["totals"] = counts_json(s.totals);
  json::array timeline;
  for (std::size_t i = 0; i < s.buckets.size(); ++i) {
    json::object b = counts_json(s.buckets[i]);
    b["time"] = iso(q.from_ms + static_cast<std::int64_t>(i) * q.bucket_ms);
    timeline.push_back(std::move(b));
  }
  res["timeline"] = std::move(timeline);
  json::array links;
  for (const store::LinkCount& l : s.top_links) {
    json::object o;
    o["target_link_url"] = l.url;
    o["target_link_name"] = l.name;
    o["clicks"] = l.clicks;
    links.push_back(std::move(o));
  }
  res["top_links"] = std::move(links);
  res["tracking_domains"] = key_counts_json(s.domains, "tracking_domain");
  res["campaigns"] = key_counts_json(s.campaigns, "campaign_id");
  res["classifications"] = key_counts_json(s.classifications, "classification");
  return res;
}

}  // namespace

ApiResponse events_summary(Ctx& c) {
  if (c.o.events == nullptr) {
    return error_response(503, "events are not available", "the event store is not open", "1500");
  }
  const Param param = [&](const char* k) -> const std::string* {
    auto it = c.query.find(k);
    return it == c.query.end() || it->second.empty() ? nullptr : &it->second;
  };
  store::SummaryQuery q;
  std::string bucket;
  if (auto wrong = parse_range(param, q, bucket)) return std::move(*wrong);
  if (auto wrong = parse_filters(param, q)) return std::move(*wrong);
  q.subaccount_id = event_scope(c);
  auto s = store::summarize(c.o.events->path(), q);
  if (!s) return error_response(500, "internal error", "the store failed: " + s.error(), "1500");
  return ok(summary_json(q, bucket, *s));
}

}  // namespace trackrelay::api::internal
