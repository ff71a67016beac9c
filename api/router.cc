// api/router.cc — routing, authentication, subaccount scope and the shared
// response helpers. The routes themselves: tracking.cc, sending.cc,
// accounts.cc. May call: store/, dns/, conf/, base/, Boost.JSON, Boost.URL.
#include "api/router.h"

#include <boost/url/parse.hpp>
#include <charconv>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "api/grants.h"
#include "api/internal.h"
#include "base/encoding.h"
#include "base/strings.h"
#include "store/event_json.h"

namespace trackrelay::api {
namespace {

using internal::Ctx;
using Handler = ApiResponse (*)(Ctx&);

struct Entry {
  Route route;
  Handler handler;
  bool needs_key = true;
};

ApiResponse openapi(Ctx&) {
  ApiResponse r;
  r.body = std::string(openapi_json());
  return r;
}

const std::vector<Entry>& table() {
  static const std::vector<Entry> kTable = {
      {{"GET", "/openapi.json"}, openapi, false},
      {{"POST", "/tracking-domains"}, internal::tracking_create},
      {{"GET", "/tracking-domains"}, internal::tracking_list},
      {{"GET", "/tracking-domains/{domain}"}, internal::tracking_get},
      {{"PUT", "/tracking-domains/{domain}"}, internal::tracking_update},
      {{"DELETE", "/tracking-domains/{domain}"}, internal::tracking_delete},
      {{"POST", "/tracking-domains/{domain}/verify"}, internal::tracking_verify},
      {{"PUT", "/tracking-domains/{domain}/certificate"}, internal::tracking_certificate_put},
      {{"DELETE", "/tracking-domains/{domain}/certificate"}, internal::tracking_certificate_delete},
      {{"POST", "/sending-domains"}, internal::sending_create},
      {{"GET", "/sending-domains"}, internal::sending_list},
      {{"GET", "/sending-domains/{domain}"}, internal::sending_get},
      {{"PUT", "/sending-domains/{domain}"}, internal::sending_update},
      {{"DELETE", "/sending-domains/{domain}"}, internal::sending_delete},
      {{"POST", "/sending-domains/{domain}/verify"}, internal::sending_verify},
      {{"POST", "/subaccounts"}, internal::subaccount_create},
      {{"GET", "/subaccounts"}, internal::subaccount_list},
      {{"GET", "/subaccounts/summary"}, internal::subaccount_summary},
      {{"GET", "/subaccounts/{id}"}, internal::subaccount_get},
      {{"PUT", "/subaccounts/{id}"}, internal::subaccount_update},
      {{"POST", "/api-keys"}, internal::key_create},
      {{"GET", "/api-keys"}, internal::key_list},
      {{"DELETE", "/api-keys/{id}"}, internal::key_delete},
      {{"GET", "/events/message"}, internal::events_message},
      {{"GET", "/events/summary"}, internal::events_summary},
      {{"GET", "/metrics/deliverability"}, internal::deliverability},
      {{"GET", "/metrics/deliverability/campaign"}, internal::deliverability_by_campaign},
      {{"GET", "/metrics/deliverability/sending-domain"},
       internal::deliverability_by_sending_domain},
      {{"GET", "/metrics/deliverability/subaccount"}, internal::deliverability_by_subaccount},
      {{"GET", "/metrics/deliverability/tracking-domain"},
       internal::deliverability_by_tracking_domain},
      {{"POST", "/webhooks"}, internal::webhook_create},
      {{"GET", "/webhooks"}, internal::webhook_list},
      {{"GET", "/webhooks/{webhook_id}"}, internal::webhook_get},
      {{"PUT", "/webhooks/{webhook_id}"}, internal::webhook_update},
      {{"DELETE", "/webhooks/{webhook_id}"}, internal::webhook_delete},
      {{"POST", "/webhooks/{webhook_id}/validate"}, internal::webhook_validate},
      {{"GET", "/webhooks/{webhook_id}/batch-status"}, internal::webhook_batch_status},
  };
  return kTable;
}

constexpr std::string_view kBase = "/api/v1";

// Splits "/a/{x}/b" against decoded segments; the {..} values go to `params`.
bool match(std::string_view pattern, const std::vector<std::string>& segs,
           std::vector<std::string>& params) {
  std::vector<std::string_view> parts;
  pattern.remove_prefix(1);
  while (!pattern.empty()) {
    const auto slash = pattern.find('/');
    parts.push_back(pattern.substr(0, slash));
    pattern = slash == std::string_view::npos ? std::string_view() : pattern.substr(slash + 1);
  }
  if (parts.size() != segs.size()) return false;
  params.clear();
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].starts_with('{')) {
      if (segs[i].empty()) return false;
      params.push_back(segs[i]);
    } else if (parts[i] != segs[i]) {
      return false;
    }
  }
  return true;
}

// The key in an Authorization header: "<key>", "Basic base64(key:)", "Bearer <key>".
std::string key_from(std::string_view auth) {
  auth = trim(auth);
  if (istarts_with(auth, "Basic ")) {
    const std::string_view b64 = trim(auth.substr(6));
    if (b64.size() > 1024) return {};
    auto out = base64_decode(b64);
    if (!out) return {};
    return out->substr(0, out->find(':'));
  }
  if (istarts_with(auth, "Bearer ")) return std::string(trim(auth.substr(7)));
  return std::string(auth);
}

}  // namespace

const std::vector<Route>& routes() {
  static const std::vector<Route> kRoutes = [] {
    std::vector<Route> out;
    for (const Entry& e : table()) out.push_back(e.route);
    return out;
  }();
  return kRoutes;
}

ApiResponse error_response(int status, std::string_view message, std::string_view description,
                           std::string_view code) {
  boost::json::object err;
  err["message"] = message;
  if (!description.empty()) err["description"] = description;
  if (!code.empty()) err["code"] = code;
  boost::json::object body;
  body["errors"] = boost::json::array{std::move(err)};
  return ApiResponse{status, boost::json::serialize(body)};
}

Router::Router(RouterOptions options) : o_(std::move(options)) {}

namespace {

// The table entry for `segs` (below /api/v1) and `method`, its path
// parameters in *params; or the 404/405 response.
std::variant<const Entry*, ApiResponse> find_route(const std::vector<std::string>& segs,
                                                   const std::string& method,
                                                   std::vector<std::string>* params) {
  const Entry* found = nullptr;
  bool path_exists = false;
  for (const Entry& e : table()) {
    if (!match(e.route.path, segs, *params)) continue;
    path_exists = true;
    if (e.route.method == method) {
      found = &e;
      break;
    }
  }
  if (found == nullptr) {
    if (path_exists)
      return error_response(405, "method not allowed", method + " is not supported here", "1600");
    return error_response(404, "not found", "no such resource", "1600");
  }
  match(found->route.path, segs, *params);
  return found;
}

// The dashboard session's key (or admin) when the request sends no API key;
// the 401/403 response for an ended session or a change without its CSRF token.
std::optional<ApiResponse> session_key(const RouterOptions& o, const ApiRequest& req,
                                       std::string& key, bool& admin) {
  if (!key.empty() || !o.session) return std::nullopt;
  SessionAuth s = o.session(req);
  switch (s.state) {
    case SessionAuth::State::kNone:
      break;
    case SessionAuth::State::kExpired:
      return error_response(401, "Unauthorized.",
                            "your dashboard session has ended (signed out, timed out, or the "
                            "server restarted); sign in again",
                            "1100");
    case SessionAuth::State::kBadCsrf:
      return error_response(403, "Forbidden.",
                            "a change made with a dashboard session needs the session's "
                            "X-CSRF-Token header and must come from the dashboard's own origin",
                            "1101");
    case SessionAuth::State::kValid:
      admin = s.admin;
      key = std::move(s.key);
      break;
  }
  return std::nullopt;
}

// Sets c.key from the API key or dashboard session; the refusal otherwise.
std::optional<ApiResponse> authenticate(const RouterOptions& o, const ApiRequest& req, Ctx& c) {
  std::string key = key_from(req.authorization);
  bool admin = false;
  if (auto refused = session_key(o, req, key, admin)) return refused;
  if (admin) {
    // The admin password acts as a primary account key.
    c.key = store::ApiKeyRow{0, "", "admin password (dashboard)", 0, 0, ""};
    return std::nullopt;
  }
  if (key.empty()) {
    return error_response(401, "Unauthorized.",
                          "send an API key in the Authorization header "
                          "(create one with: trackrelay keys create)",
                          "1100");
  }
  std::string refusal;
  bool suspended = false;
  auto row = o.domains->authenticate(key, &refusal, &suspended);
  if (!row) return internal::store_failed(row.failure());
  if (!row->has_value()) {
    if (suspended) return error_response(403, "Forbidden.", refusal, "1101");
    return error_response(401, "Unauthorized.", refusal, "1100");
  }
  c.key = **row;
  return std::nullopt;
}

// Sets the account the request acts for (X-MSYS-SUBACCOUNT, else the key's).
std::optional<ApiResponse> set_scope(const RouterOptions& o, const ApiRequest& req, Ctx& c) {
  if (!req.has_subaccount) {
    c.scope = c.key.subaccount_id;
    c.all = c.primary_key();
    return std::nullopt;
  }
  std::int64_t n = -1;
  const std::string_view v = trim(req.subaccount);
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || n < 0) {
    return error_response(400, "invalid X-MSYS-SUBACCOUNT header",
                          "expected a subaccount id (0 for the primary account)", "1300");
  }
  if (!c.primary_key() && n != c.key.subaccount_id) {
    return error_response(403, "Forbidden.",
                          "this API key belongs to subaccount " +
                              std::to_string(c.key.subaccount_id) +
                              " and cannot act for another account",
                          "1101");
  }
  if (n != 0) {
    auto sub = o.domains->subaccount(n);
    if (!sub) return internal::store_failed(sub.failure());
    if (!sub->has_value()) {
      return error_response(400, "unknown subaccount",
                            "subaccount " + std::to_string(n) + " does not exist", "1300");
    }
  }
  c.scope = n;
  return std::nullopt;
}

}  // namespace

ApiResponse Router::handle(const ApiRequest& req) const {
  auto url = boost::urls::parse_origin_form(req.target);
  if (!url) return error_response(400, "invalid request target", url.error().message(), "1300");
  std::vector<std::string> segs;
  for (auto seg : url->segments()) segs.push_back(std::string(seg));
  // Below /api/v1 only; the rest is the dashboard's.
  if (segs.size() < 2 || segs[0] != "api" || segs[1] != "v1") {
    if (o_.site) return o_.site(req);
    return error_response(404, "not found", "the API is under " + std::string(kBase), "1600");
  }
  segs.erase(segs.begin(), segs.begin() + 2);
  while (!segs.empty() && segs.back().empty()) segs.pop_back();  // a trailing slash
  std::vector<std::string> params;
  auto route = find_route(segs, req.method, &params);
  if (auto* refused = std::get_if<ApiResponse>(&route)) return std::move(*refused);
  const Entry* found = std::get<const Entry*>(route);
  Ctx c{o_, req, o_.file_config(), {}, 0, false, std::move(params), {}};
  for (auto p : url->params()) c.query[std::string(p.key)] = std::string(p.value);
  if (!found->needs_key) return found->handler(c);
  if (auto refused = authenticate(o_, req, c)) return std::move(*refused);
  if (const std::string_view grant = required_grant(req.method, segs); !key_allows(c.key, grant)) {
    return error_response(
        403, "Forbidden.",
        (grant == "*" ? std::string("this resource needs a key with every grant")
                      : "this API key does not have the grant " + std::string(grant)) +
            " (its grants: " + c.key.grants + ")",
        "1101");
  }
  if (auto refused = set_scope(o_, req, c)) return std::move(*refused);
  return found->handler(c);
}

namespace internal {

ApiResponse ok(json::value results, int status) {
  json::object body;
  body["results"] = std::move(results);
  return ApiResponse{status, json::serialize(body)};
}

ApiResponse no_content() {
  return ApiResponse{204, ""};
}

ApiResponse store_failed(const Error& e) {
  if (e.code == Errc::kUnavailable) {
    return error_response(503, "store unavailable", "the store failed: " + e.message, "1500");
  }
  return error_response(500, "internal error", "the store failed: " + e.message, "1500");
}

ApiResponse not_found(std::string_view what) {
  return error_response(404, "resource could not be found", what, "1600");
}

ApiResponse managed_by_file(const conf::Config& file, std::string_view domain) {
  return error_response(409, std::string(domain) + " is managed by the configuration file",
                        "change it in " + file.source + " and reload trackrelay (SIGHUP)", "1302");
}

std::optional<std::string> alabel(std::string_view given, ApiResponse& error) {
  auto a = conf::to_alabel(given);
  if (!a) {
    error = error_response(422, "invalid domain", a.error(), "1200");
    return std::nullopt;
  }
  return std::move(a).value();
}

std::optional<json::object> body_object(const Ctx& c, ApiResponse& error) {
  if (trim(c.req.body).empty()) return json::object{};
  boost::system::error_code ec;
  json::value v = json::parse(c.req.body, ec);
  if (ec) {
    error = error_response(400, "malformed JSON",
                           "the request body is not valid JSON: " + ec.message(), "1300");
    return std::nullopt;
  }
  if (!v.is_object()) {
    error = error_response(400, "malformed JSON", "the request body must be a JSON object", "1300");
    return std::nullopt;
  }
  return std::move(v.as_object());
}

namespace {
ApiResponse wrong_type(std::string_view key, std::string_view want) {
  return error_response(422, "invalid data format/type",
                        "'" + std::string(key) + "' must be " + std::string(want), "1300");
}
}  // namespace

bool field_bool(const json::object& o, std::string_view key, std::optional<bool>& out,
                ApiResponse& error) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return true;
  if (!v->is_bool()) {
    error = wrong_type(key, "a boolean (true or false)");
    return false;
  }
  out = v->as_bool();
  return true;
}

bool field_string(const json::object& o, std::string_view key, std::optional<std::string>& out,
                  ApiResponse& error) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return true;
  if (!v->is_string()) {
    error = wrong_type(key, "a string");
    return false;
  }
  out = std::string(v->as_string());
  return true;
}

bool field_int(const json::object& o, std::string_view key, std::optional<std::int64_t>& out,
               ApiResponse& error) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return true;
  if (v->is_int64()) {
    out = v->as_int64();
  } else if (v->is_uint64() && v->as_uint64() < (1ull << 62)) {
    out = static_cast<std::int64_t>(v->as_uint64());
  } else {
    error = wrong_type(key, "an integer");
    return false;
  }
  return true;
}

std::string iso(std::int64_t ms) {
  return store::format_iso8601(ms);
}

}  // namespace internal
}  // namespace trackrelay::api
