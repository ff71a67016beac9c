// api/engagement.cc — the events API: GET /events/message (SparkPost's
// message events search: its filters, cursor paging, total_count) and
// GET /events/summary (the counts behind the dashboard's Engagement page:
// clicks and opens per time bucket, top links, counts per tracking domain
// and campaign, computed by the store over the whole range). The filter
// parameters are one table (kFilters), shared with the deliverability
// metrics (deliverability.cc): a new filter is one row there and one column
// in store/event_filter.cc. A parameter that is not in the table or the
// endpoint's own list is a 400, never ignored.
// May call: store/ (event_store, event_summary, event_json), conf/, base/,
// Boost.JSON.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <functional>
#include <optional>

#include "api/internal.h"
#include "base/strings.h"
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

std::string url_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~' || c == ',' || c == ':') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// SparkPost's filter parameters: name → events column (store/event_filter.h),
// and whether /metrics/deliverability takes it too. A new filter is one row.
enum class Kind { kText, kLower, kType, kInteger, kClassification };
struct FilterParam {
  std::string_view name;
  std::string_view column;
  Kind kind;
  bool metrics;
};
constexpr FilterParam kFilters[] = {
    {"events", "type", Kind::kType, false},
    {"campaigns", "campaign_id", Kind::kText, true},
    {"campaign_ids", "campaign_id", Kind::kText, false},  // trackrelay's earlier name, kept
    {"recipients", "rcpt_to", Kind::kLower, false},
    {"message_ids", "message_id", Kind::kText, false},
    {"transmission_ids", "transmission_id", Kind::kText, false},
    {"subaccounts", "subaccount_id", Kind::kInteger, true},
    {"sending_domains", "sending_domain", Kind::kLower, true},
    {"tracking_domains", "tracking_domain", Kind::kLower, true},
    {"classifications", "classification", Kind::kClassification, true},  // who clicked (issue 13)
};

const FilterParam* filter_named(std::string_view name, bool metrics) {
  for (const FilterParam& f : kFilters) {
    if (f.name == name && (f.metrics || !metrics)) return &f;
  }
  return nullptr;
}

ApiResponse unknown_param(std::string_view name) {
  return error_response(400, "invalid parameter",
                        "unsupported parameter '" + std::string(name) + "'", "1300");
}

// One filter's values, checked; an error response when one is wrong.
std::optional<ApiResponse> filter_values(const FilterParam& f, const std::string& given,
                                         store::ColumnFilter& out) {
  out.column = std::string(f.column);
  out.values = split_list(given);
  for (std::string& v : out.values) {
    if (f.kind == Kind::kLower) v = to_lower(v);
    if (f.kind == Kind::kType && !store::is_event_type(v)) {
      return bad("unknown event type '" + v + "' (injection, click, open, initial_open)");
    }
    if (f.kind == Kind::kClassification) {
      std::vector<std::string> one;
      if (auto wrong = parse_classifications(&v, one)) return wrong;
    }
    if (f.kind == Kind::kInteger &&
        (v.empty() || v.find_first_not_of("0123456789") != std::string::npos || v.size() > 18)) {
      return bad("'" + std::string(f.name) + "' takes subaccount ids (0: the primary account)");
    }
  }
  return std::nullopt;
}

// SparkPost's timezone: UTC (or GMT, Etc/UTC, Z) or a fixed offset ±hh:mm;
// the offset in milliseconds. IANA zone names are not supported (a 400).
std::optional<std::int64_t> timezone_offset_ms(std::string_view tz) {
  if (tz == "UTC" || tz == "GMT" || tz == "Etc/UTC" || tz == "Etc/GMT" || tz == "Z") return 0;
  if (tz.size() != 6 || (tz[0] != '+' && tz[0] != '-') || tz[3] != ':') return std::nullopt;
  auto two = [&](std::size_t i) -> int {
    const char a = tz[i], b = tz[i + 1];
    return a >= '0' && a <= '9' && b >= '0' && b <= '9' ? (a - '0') * 10 + (b - '0') : -1;
  };
  const int h = two(1), m = two(4);
  if (h < 0 || h > 23 || m < 0 || m > 59) return std::nullopt;
  return (tz[0] == '-' ? -1 : 1) * (h * 60 + m) * kMinute;
}

// True when an ISO 8601 time names its zone (Z or an offset after the time).
bool names_zone(std::string_view t) {
  const auto time = t.find_first_of("Tt ");
  if (time == std::string_view::npos) return t.find('-') == std::string_view::npos;  // unix secs
  return t.find_first_of("Zz+-", time) != std::string_view::npos;
}

}  // namespace

std::optional<ApiResponse> event_selection(const Ctx& c, std::span<const std::string_view> own,
                                           bool metrics, std::int64_t default_span_ms,
                                           store::Selection& out) {
  for (const auto& [name, value] : c.query) {
    if (name.empty()) continue;  // "?a=1&": nothing asked
    const bool known = std::find(own.begin(), own.end(), name) != own.end() ||
                       filter_named(name, metrics) != nullptr || name == "from" || name == "to" ||
                       name == "timezone";
    if (!known) return unknown_param(name);
  }
  const Param param = [&](const char* k) -> const std::string* {
    auto it = c.query.find(k);
    return it == c.query.end() || it->second.empty() ? nullptr : &it->second;
  };
  std::int64_t offset = 0;
  if (const std::string* v = param("timezone")) {
    auto o = timezone_offset_ms(*v);
    if (!o)
      return bad(
          "'timezone' must be UTC or an offset such as +02:00 (zone names are not supported)");
    offset = *o;
  }
  auto time = [&](const char* name) -> std::optional<std::optional<std::int64_t>> {
    const std::string* v = param(name);
    if (v == nullptr) return std::optional<std::int64_t>();
    auto ms = store::parse_iso8601_ms(*v);
    if (!ms) return std::nullopt;
    return std::optional<std::int64_t>(names_zone(*v) ? *ms : *ms - offset);
  };
  auto from = time("from");
  if (!from) return bad("'from' must be an ISO 8601 time such as 2024-05-01T12:00");
  auto to = time("to");
  if (!to) return bad("'to' must be an ISO 8601 time such as 2024-05-01T12:00");
  if (metrics && !*from) {  // SparkPost requires it for metrics
    return error_response(400, "invalid parameter",
                          "'from' is required (an ISO 8601 time such as 2024-05-01T12:00)", "1300");
  }
  const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  out.to_ms = to->value_or(now);
  out.from_ms = from->value_or(*out.to_ms - default_span_ms);
  if (*out.to_ms <= *out.from_ms) return bad("'to' must be later than 'from'");
  for (const FilterParam& f : kFilters) {
    if (metrics && !f.metrics) continue;
    auto it = c.query.find(std::string(f.name));
    if (it == c.query.end() || it->second.empty()) continue;
    store::ColumnFilter cf;
    if (auto wrong = filter_values(f, it->second, cf)) return wrong;
    out.filters.push_back(std::move(cf));
  }
  out.subaccount_id = event_scope(c);
  return std::nullopt;
}

ApiResponse events_message(Ctx& c) {
  if (c.o.events == nullptr) {
    return error_response(503, "events are not available", "the event store is not open", "1500");
  }
  static constexpr std::string_view kOwn[] = {"per_page", "cursor"};
  store::Selection sel;
  if (auto wrong = event_selection(c, kOwn, false, kDay, sel)) {
    return std::move(*wrong);
  }
  store::Query q;
  q.newest_first = true;
  q.from_ms = sel.from_ms;
  q.to_ms = sel.to_ms;
  q.subaccount_id = sel.subaccount_id;
  q.filters = std::move(sel.filters);
  if (auto it = c.query.find("per_page"); it != c.query.end() && !it->second.empty()) {
    const std::string& v = it->second;
    std::size_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || end != v.data() + v.size() || n < 1 || n > store::kMaxLimit) {
      return bad("'per_page' must be 1-" + std::to_string(store::kMaxLimit));
    }
    q.limit = n;
  }
  if (auto it = c.query.find("cursor"); it != c.query.end() && it->second != "initial") {
    q.cursor = it->second;
  }
  auto page = c.o.events->query(q);
  if (!page) return bad(page.error());
  auto total = c.o.events->count(q);
  if (!total) return store_failed(total.failure());
  json::array results;
  for (const store::Event& e : page->events) results.push_back(store::to_json(e));
  json::object body;
  body["results"] = std::move(results);
  body["total_count"] = *total;
  json::object links;
  if (!page->next_cursor.empty()) {
    std::string next = "/api/v1/events/message?cursor=" + page->next_cursor +
                       "&per_page=" + std::to_string(q.limit);
    for (const auto& [k, v] : c.query) {
      if (!k.empty() && k != "cursor" && k != "per_page") next += "&" + k + "=" + url_encode(v);
    }
    links["next"] = next;
  }
  body["links"] = std::move(links);
  return ApiResponse{200, json::serialize(body)};
}

ApiResponse events_summary(Ctx& c) {
  if (c.o.events == nullptr) {
    return error_response(503, "events are not available", "the event store is not open", "1500");
  }
  const Param param = [&](const char* k) -> const std::string* {
    auto it = c.query.find(k);
    return it == c.query.end() || it->second.empty() ? nullptr : &it->second;
  };
  // The parameters the summary takes; any other is a 400, as on /events/message
  // (a misspelt filter must not silently widen the counts).
  static constexpr std::string_view kSummaryParams[] = {
      "from", "to", "bucket", "events", "campaign_ids", "tracking_domains", "classifications",
      "top"};
  for (const auto& [name, value] : c.query) {
    if (std::find(std::begin(kSummaryParams), std::end(kSummaryParams), name) ==
        std::end(kSummaryParams)) {
      return unknown_param(name);
    }
  }
  store::SummaryQuery q;
  std::string bucket;
  if (auto wrong = parse_range(param, q, bucket)) return std::move(*wrong);
  if (auto wrong = parse_filters(param, q)) return std::move(*wrong);
  q.subaccount_id = event_scope(c);
  auto s = store::summarize(c.o.events->path(), q);
  if (!s) return store_failed(s.failure());
  return ok(summary_json(q, bucket, *s));
}

}  // namespace trackrelay::api::internal
