// api/internal.h — shared by the route files of api/ (router.cc dispatches,
// tracking.cc, sending.cc, accounts.cc answer). Not part of the API.
#pragma once

#include <boost/json.hpp>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "api/router.h"
#include "store/event_filter.h"

namespace trackrelay::api::internal {

namespace json = boost::json;

// One authenticated request.
struct Ctx {
  const RouterOptions& o;
  const ApiRequest& req;
  std::shared_ptr<const conf::Config> file;
  store::ApiKeyRow key;
  std::int64_t scope = 0;           // the account new resources belong to (0: primary)
  bool all = false;                 // a primary key without X-MSYS-SUBACCOUNT sees every account
  std::vector<std::string> params;  // decoded path parameters, in order
  std::map<std::string, std::string> query;  // decoded query parameters (last wins)

  bool visible(std::int64_t subaccount) const { return all || subaccount == scope; }
  bool primary_key() const { return key.subaccount_id == 0; }
};

ApiResponse ok(json::value results, int status = 200);
ApiResponse no_content();
// The store failed: 503 when the database is away or did not answer in
// time (Errc::kUnavailable: worth a retry), else 500.
ApiResponse store_failed(const Error& e);
ApiResponse not_found(std::string_view what);
// 409: `domain` is declared in the configuration file, not the store.
ApiResponse managed_by_file(const conf::Config& file, std::string_view domain);
// The A-label of a path or body domain, or the 422 that says what is wrong.
std::optional<std::string> alabel(std::string_view given, ApiResponse& error);

// A store row (a looked-up domain) the caller may see; otherwise `error` is
// the 500 or 503 (store failure) or the 404 ("<what> does not exist").
template <class Row>
std::optional<Row> visible_or_404(const Ctx& c, Result<std::optional<Row>> row,
                                  const std::string& what, ApiResponse& error) {
  if (!row) {
    error = store_failed(row.failure());
    return std::nullopt;
  }
  if (!row->has_value() || !c.visible((*row)->subaccount_id)) {
    error = not_found(what + " does not exist");
    return std::nullopt;
  }
  return std::move(**row);
}

// Parses the body as a JSON object (an empty body is {}). On failure `error`
// holds the 400 to answer.
std::optional<json::object> body_object(const Ctx& c, ApiResponse& error);
// Typed optional fields: absent/null → nullopt; a wrong type → `error` (422).
bool field_bool(const json::object& o, std::string_view key, std::optional<bool>& out,
                ApiResponse& error);
bool field_string(const json::object& o, std::string_view key, std::optional<std::string>& out,
                  ApiResponse& error);
bool field_int(const json::object& o, std::string_view key, std::optional<std::int64_t>& out,
               ApiResponse& error);

// "2024-05-01T12:00:00.000Z"
std::string iso(std::int64_t ms);

ApiResponse tracking_create(Ctx& c);
ApiResponse tracking_list(Ctx& c);
ApiResponse tracking_get(Ctx& c);
ApiResponse tracking_update(Ctx& c);
ApiResponse tracking_delete(Ctx& c);
ApiResponse tracking_verify(Ctx& c);
// certificates.cc: the `tls` object of a secure domain (null when not
// secure), and operators' certificates.
json::value tls_status(const Ctx& c, const std::string& domain, bool secure, bool verified);
ApiResponse tracking_certificate_put(Ctx& c);
ApiResponse tracking_certificate_delete(Ctx& c);

ApiResponse sending_create(Ctx& c);
ApiResponse sending_list(Ctx& c);
ApiResponse sending_get(Ctx& c);
ApiResponse sending_update(Ctx& c);
ApiResponse sending_delete(Ctx& c);
ApiResponse sending_verify(Ctx& c);  // the TXT proof of ownership

ApiResponse subaccount_create(Ctx& c);
ApiResponse subaccount_list(Ctx& c);
ApiResponse subaccount_get(Ctx& c);
// {"total": N, "active", "suspended", "terminated"}
ApiResponse subaccount_summary(Ctx& c);
ApiResponse subaccount_update(Ctx& c);  // name, status (active | suspended | terminated)
ApiResponse key_create(Ctx& c);
ApiResponse key_list(Ctx& c);
ApiResponse key_delete(Ctx& c);
ApiResponse events_message(Ctx& c);  // engagement.cc
ApiResponse events_summary(Ctx& c);  // engagement.cc
// /metrics/deliverability[/campaign|/sending-domain|/subaccount|/tracking-domain]
ApiResponse deliverability(Ctx& c);  // deliverability.cc
ApiResponse deliverability_by_campaign(Ctx& c);
ApiResponse deliverability_by_sending_domain(Ctx& c);
ApiResponse deliverability_by_subaccount(Ctx& c);
ApiResponse deliverability_by_tracking_domain(Ctx& c);

// The events a request selects (engagement.cc): from/to (ISO 8601; without a
// zone they are in `timezone`), the filter parameters of the table kFilters
// (SparkPost's comma-separated lists: events, campaigns, recipients, ...;
// for `metrics` only the rows metrics take), and the caller's scope
// (event_scope). Any query parameter that is neither one of those nor in
// `own` is the 400; a bad value the 422. Without `from`: `default_span_ms`
// before `to` for events, the 400 for metrics (SparkPost requires it).
std::optional<ApiResponse> event_selection(const Ctx& c, std::span<const std::string_view> own,
                                           bool metrics, std::int64_t default_span_ms,
                                           store::Selection& out);
// The `classifications=` filter (engagement.cc): the list, or a 422 naming a
// value that is not human, apple_mpp, image_proxy or scanner.
std::optional<ApiResponse> parse_classifications(const std::string* value,
                                                 std::vector<std::string>& out);

// api/webhooks.cc
ApiResponse webhook_create(Ctx& c);
ApiResponse webhook_list(Ctx& c);
ApiResponse webhook_get(Ctx& c);
ApiResponse webhook_update(Ctx& c);
ApiResponse webhook_delete(Ctx& c);
ApiResponse webhook_validate(Ctx& c);
ApiResponse webhook_batch_status(Ctx& c);

// The events a caller may see: nullopt (every account's) for a primary key
// without X-MSYS-SUBACCOUNT, else only those of its scope. Decided by the
// event's own subaccount_id, never by a tracking-domain name (a domain may
// change hands; its old events stay with the account that sent them).
std::optional<std::int64_t> event_scope(const Ctx& c);
// "a,b, c" → {"a", "b", "c"} (empty items dropped).
std::vector<std::string> split_list(std::string_view s);

}  // namespace trackrelay::api::internal
