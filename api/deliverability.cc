// api/deliverability.cc — GET /metrics/deliverability and its groupings
// (/campaign, /sending-domain, /subaccount, and trackrelay's /tracking-domain):
// SparkPost's deliverability metrics, the engagement subset
// (store/event_metrics.h says what each count is). Time, filter and scope
// parameters are the events API's (engagement.cc: event_selection); `from`
// is required, as SparkPost requires it. `metrics` picks the counts (all six
// when absent), `order_by` one of them (descending), `limit` caps the groups.
// May call: store/ (event_metrics), base/, Boost.JSON.
#include <algorithm>
#include <array>
#include <charconv>

#include "api/internal.h"
#include "store/event_metrics.h"

namespace trackrelay::api::internal {
namespace {

using Count = std::int64_t store::Deliverability::*;
struct Metric {
  std::string_view name;
  Count count;
};
constexpr std::array<Metric, 6> kMetrics = {{
    {"count_injected", &store::Deliverability::count_injected},
    {"count_clicked", &store::Deliverability::count_clicked},
    {"count_unique_clicked", &store::Deliverability::count_unique_clicked},
    {"count_rendered", &store::Deliverability::count_rendered},
    {"count_unique_rendered", &store::Deliverability::count_unique_rendered},
    {"count_initial_rendered", &store::Deliverability::count_initial_rendered},
}};
constexpr std::int64_t kDay = 24 * 3600 * 1000;
constexpr std::size_t kMaxGroups = 10000;

ApiResponse invalid(std::string_view what) {
  return error_response(422, "invalid parameter", what, "1300");
}

const std::string* param(const Ctx& c, const char* k) {
  auto it = c.query.find(k);
  return it == c.query.end() || it->second.empty() ? nullptr : &it->second;
}

// The metrics asked for, in kMetrics order; an error response when one is unknown.
std::optional<ApiResponse> chosen_metrics(const Ctx& c, std::vector<const Metric*>& out) {
  const std::string* v = param(c, "metrics");
  const std::vector<std::string> names = v ? split_list(*v) : std::vector<std::string>{};
  for (const std::string& n : names) {
    if (std::none_of(kMetrics.begin(), kMetrics.end(),
                     [&](const Metric& m) { return m.name == n; })) {
      return error_response(400, "invalid parameter",
                            "unsupported metric '" + n +
                                "' (count_injected, count_clicked, "
                                "count_unique_clicked, count_rendered, count_unique_rendered, "
                                "count_initial_rendered)",
                            "1300");
    }
  }
  for (const Metric& m : kMetrics) {
    if (names.empty() || std::find(names.begin(), names.end(), m.name) != names.end()) {
      out.push_back(&m);
    }
  }
  return std::nullopt;
}

// Who clicked (issue 13): clicks and opens count people by default — `human`,
// and events recorded before classification existed (""); `classifications`
// chooses other kinds, `include_machines=true` counts every one. Injections
// are never filtered by it (they are not classified).
std::optional<ApiResponse> count_people(const Ctx& c, store::Selection& sel) {
  const std::string* all = param(c, "include_machines");
  if (all != nullptr && *all != "true" && *all != "false") {
    return invalid("'include_machines' must be true or false");
  }
  auto chosen =
      std::find_if(sel.filters.begin(), sel.filters.end(),
                   [](const store::ColumnFilter& f) { return f.column == "classification"; });
  if (chosen != sel.filters.end()) {
    chosen->engagement_only = true;
  } else if (all == nullptr || *all == "false") {
    sel.filters.push_back({"classification", {"human", ""}, true});
  }
  return std::nullopt;
}

// `group`: the events column; `field`: its name in the results ("" overall).
ApiResponse metrics(Ctx& c, const std::string& group, std::string_view field) {
  if (c.o.events == nullptr) {
    return error_response(503, "metrics are not available", "the event store is not open", "1500");
  }
  static constexpr std::string_view kOwn[] = {"metrics", "limit", "order_by", "include_machines"};
  store::Selection sel;
  if (auto wrong = event_selection(c, kOwn, true, kDay, sel)) return std::move(*wrong);
  if (auto wrong = count_people(c, sel)) return std::move(*wrong);
  std::vector<const Metric*> chosen;
  if (auto wrong = chosen_metrics(c, chosen)) return std::move(*wrong);
  std::size_t limit = kMaxGroups;
  if (const std::string* v = param(c, "limit")) {
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), limit);
    if (ec != std::errc() || end != v->data() + v->size() || limit < 1 || limit > kMaxGroups) {
      return invalid("'limit' must be 1-" + std::to_string(kMaxGroups));
    }
  }
  const Metric* order = nullptr;
  if (const std::string* v = param(c, "order_by")) {
    for (const Metric* m : chosen) {
      if (m->name == *v) order = m;
    }
    if (order == nullptr) return invalid("'order_by' must be one of the metrics asked for");
  }
  auto rows = store::deliverability(c.o.events->path(), sel, group);
  if (!rows) return store_failed(rows.failure());
  if (order != nullptr) {
    std::stable_sort(rows->begin(), rows->end(), [&](const auto& a, const auto& b) {
      return a.*(order->count) > b.*(order->count);
    });
  }
  if (rows->size() > limit) rows->resize(limit);
  json::array results;
  for (const store::Deliverability& d : *rows) {
    json::object o;
    if (field == "subaccount_id") {
      o[field] = std::stoll(d.key);
    } else if (!field.empty()) {
      o[field] = d.key;
    }
    for (const Metric* m : chosen) o[m->name] = d.*(m->count);
    results.push_back(std::move(o));
  }
  return ok(std::move(results));
}

}  // namespace

ApiResponse deliverability(Ctx& c) {
  return metrics(c, "", "");
}
ApiResponse deliverability_by_campaign(Ctx& c) {
  return metrics(c, "campaign_id", "campaign_id");
}
ApiResponse deliverability_by_sending_domain(Ctx& c) {
  return metrics(c, "sending_domain", "sending_domain");
}
ApiResponse deliverability_by_subaccount(Ctx& c) {
  return metrics(c, "subaccount_id", "subaccount_id");
}
ApiResponse deliverability_by_tracking_domain(Ctx& c) {
  return metrics(c, "tracking_domain", "tracking_domain");
}

}  // namespace trackrelay::api::internal
