// api/dashboard.cc — see dashboard.h. May call: api/dashboard_sessions, store/,
// conf/, dashboard/assets, base/ (password hashes), Boost.JSON.
#include "api/dashboard.h"

#include <boost/json.hpp>
#include <optional>

#include "api/internal.h"
#include "base/crypto.h"
#include "base/strings.h"
#include "dashboard/assets.h"

namespace trackrelay::api {
namespace {

namespace json = boost::json;

// Every answer of the site carries these: the page runs only its own
// scripts and styles, talks only to its own origin, and is never framed.
constexpr std::string_view kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

ApiResponse with_headers(ApiResponse r) {
  r.headers.emplace_back("Content-Security-Policy", kCsp);
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
  r.headers.emplace_back("Cross-Origin-Resource-Policy", "same-origin");
  return r;
}

ApiResponse json_error(int status, std::string_view message, std::string_view description) {
  return with_headers(
      error_response(status, message, description, status == 401 ? "1100" : "1300"));
}

ApiResponse text(int status, std::string_view body) {
  ApiResponse r{status, std::string(body), "text/plain; charset=utf-8", {}};
  return with_headers(std::move(r));
}

bool safe_method(std::string_view m) {
  return m == "GET" || m == "HEAD" || m == "OPTIONS";
}

std::string cookie(const conf::Config& file, std::string_view value, bool clear) {
  std::string c = std::string(kSessionCookie) + "=" + std::string(value) +
                  "; Path=/; HttpOnly; SameSite=Strict";
  if (clear) c += "; Max-Age=0";
  if (file.dashboard.secure_cookie) c += "; Secure";
  return c;
}

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find_first_of("?#"));
}

// "host[:port]" in lower case, without the scheme's default port.
std::string authority(std::string_view host, bool https) {
  std::string a = to_lower(trim(host));
  const std::string_view default_port = https ? ":443" : ":80";
  if (a.ends_with(default_port)) a.resize(a.size() - default_port.size());
  return a;
}

struct Origin {
  std::string authority;  // authority() of the host part
  bool https = false;
};

// The origin of an Origin header ("https://dash.example:8443") or of a URL
// (a Referer: "http://dash.example/x"); nullopt when it is neither http nor
// https ("null", "file://", garbage).
std::optional<Origin> parse_origin(std::string_view url, bool whole_url) {
  url = trim(url);
  Origin o;
  if (istarts_with(url, "https://")) {
    o.https = true;
    url.remove_prefix(8);
  } else if (istarts_with(url, "http://")) {
    url.remove_prefix(7);
  } else {
    return std::nullopt;
  }
  const auto end = url.find_first_of("/?#");
  if (end != std::string_view::npos) {
    if (!whole_url) return std::nullopt;  // an Origin has no path
    url = url.substr(0, end);
  }
  if (url.empty() || url.find('@') != std::string_view::npos) return std::nullopt;
  o.authority = authority(url, o.https);
  return o;
}

}  // namespace

bool same_origin(const ApiRequest& req) {
  const bool has_origin = !trim(req.origin).empty();
  const auto from = has_origin ? parse_origin(req.origin, false) : parse_origin(req.referer, true);
  return from && !trim(req.host).empty() && from->authority == authority(req.host, from->https);
}

Dashboard::Dashboard(Options options) : o_(std::move(options)), sessions_(o_.clock) {}

Result<bool> Dashboard::check(const conf::Config& file) {
  if (file.dashboard.admin_password_hash.empty()) return true;
  auto h = parse_password_hash_format(file.dashboard.admin_password_hash);
  if (!h) return Error{"dashboard.admin_password_hash: " + h.error()};
  return true;
}

ApiResponse Dashboard::handle(const ApiRequest& req) {
  const std::shared_ptr<const conf::Config> file = o_.file_config();
  if (!file->dashboard.enabled) {
    return json_error(404, "not found", "the dashboard is turned off (dashboard.enabled)");
  }
  const std::string_view path = path_of(req.target);
  if (path == "/session") {
    if (req.method == "GET" || req.method == "HEAD") return session_get(req);
    if (req.method == "POST") return session_post(req);
    if (req.method == "DELETE") return session_delete(req);
    return json_error(405, "method not allowed", req.method + " is not supported here");
  }
  const dashboard::Asset* asset = nullptr;
  if (path == "/" || path == "/index.html") {
    asset = dashboard::find_asset("index.html");
  } else if (path.starts_with("/assets/")) {
    asset = dashboard::find_asset(path.substr(8));
  }
  if (asset == nullptr) return text(404, "not found\n");
  if (req.method != "GET" && req.method != "HEAD") return text(405, "method not allowed\n");
  ApiResponse r{200, std::string(asset->body), std::string(asset->content_type), {}};
  return with_headers(std::move(r));
}

std::optional<Sessions::Found> Dashboard::live(const ApiRequest& req, const conf::Config& file) {
  const std::string_view id = cookie_value(req.cookie, kSessionCookie);
  if (id.empty()) return std::nullopt;
  auto found = sessions_.find(id, std::chrono::seconds(file.dashboard.session_timeout));
  if (!found) return std::nullopt;
  bool holds = true;
  if (found->who.admin) {
    holds = !file.dashboard.admin_password_hash.empty() &&
            equal_secrets(found->who.admin_hash, file.dashboard.admin_password_hash);
  } else {
    auto row = o_.domains->authenticate(found->who.key);
    holds = row && row->has_value();
  }
  if (!holds) {
    sessions_.close(id);
    return std::nullopt;
  }
  return found;
}

SessionAuth Dashboard::authenticate(const ApiRequest& req) {
  SessionAuth out;
  const std::shared_ptr<const conf::Config> file = o_.file_config();
  if (!file->dashboard.enabled) return out;
  const std::string_view id = cookie_value(req.cookie, kSessionCookie);
  if (id.empty()) return out;
  auto found = sessions_.find(id, std::chrono::seconds(file->dashboard.session_timeout));
  out.state = SessionAuth::State::kExpired;
  if (!found) return out;
  if (found->who.admin &&
      !equal_secrets(found->who.admin_hash, file->dashboard.admin_password_hash)) {
    sessions_.close(id);
    return out;
  }
  if (!safe_method(req.method) &&
      (!equal_secrets(req.csrf_token, found->csrf) || !same_origin(req))) {
    out.state = SessionAuth::State::kBadCsrf;
    return out;
  }
  out.state = SessionAuth::State::kValid;
  out.admin = found->who.admin;
  out.key = std::move(found->who.key);  // the router checks it is still a live key
  return out;
}

ApiResponse Dashboard::session_get(const ApiRequest& req) {
  const std::shared_ptr<const conf::Config> file = o_.file_config();
  json::object res;
  res["password_sign_in"] = !file->dashboard.admin_password_hash.empty();
  res["cname_target"] = file->system_domain;
  auto found = live(req, *file);
  res["signed_in"] = found.has_value();
  if (found) {
    res["admin"] = found->who.admin;
    res["csrf_token"] = found->csrf;
    if (found->who.admin) {
      res["subaccount_id"] = 0;
      res["label"] = "admin";
    } else {
      auto row = o_.domains->authenticate(found->who.key);
      if (row && row->has_value()) {
        res["subaccount_id"] = (*row)->subaccount_id;
        res["label"] = (*row)->label;
        res["key_prefix"] = (*row)->prefix;
      }
    }
  }
  json::object body;
  body["results"] = std::move(res);
  return with_headers(ApiResponse{200, json::serialize(body), "application/json", {}});
}

ApiResponse Dashboard::session_post(const ApiRequest& req) {
  const std::shared_ptr<const conf::Config> file = o_.file_config();
  // JSON only: a cross-site form cannot send it without the browser asking
  // this server first (CORS preflight), which it never allows.
  if (!istarts_with(trim(req.content_type), "application/json")) {
    return json_error(415, "unsupported media type", "send the sign-in as application/json");
  }
  // A browser always says where a sign-in comes from; another site's page
  // must not sign this browser in (login CSRF). Non-browser clients send
  // neither Origin nor Referer.
  if ((!trim(req.origin).empty() || !trim(req.referer).empty()) && !same_origin(req)) {
    return json_error(403, "Forbidden.", "sign in from the dashboard's own origin");
  }
  const std::string client = client_of(req.peer);
  boost::system::error_code ec;
  json::value v = json::parse(req.body, ec);
  if (ec || !v.is_object()) {
    return json_error(400, "malformed JSON", "expected {\"api_key\": …} or {\"password\": …}");
  }
  const json::object& o = v.as_object();
  const json::value* key = o.if_contains("api_key");
  const json::value* password = o.if_contains("password");
  const bool has_key = key != nullptr && key->is_string() && !key->as_string().empty();
  const bool has_password =
      password != nullptr && password->is_string() && !password->as_string().empty();
  if (has_key == has_password) {
    return json_error(422, "required field is missing", "enter an API key or the admin password");
  }
  if (!sessions_.may_try(client)) {
    return json_error(429, "too many failed sign-ins",
                      "sign-in is paused after repeated failures; try again in a minute");
  }
  Sessions::Identity who;
  if (has_key) {
    const std::string k(trim(std::string_view(key->as_string())));
    auto row = o_.domains->authenticate(k);
    if (!row) {
      return with_headers(internal::store_failed(row.failure()));
    }
    if (!row->has_value()) {
      sessions_.failed(client);
      return json_error(401, "Unauthorized.", "this API key is unknown or has been revoked");
    }
    who.key = k;
    who.account = (*row)->subaccount_id;
  } else {
    if (file->dashboard.admin_password_hash.empty()) {
      return json_error(401, "Unauthorized.",
                        "password sign-in is not set up (dashboard.admin_password_hash); sign "
                        "in with an API key");
    }
    auto h = parse_password_hash_format(file->dashboard.admin_password_hash);
    if (!h) {
      return json_error(500, "password sign-in is misconfigured",
                        "dashboard.admin_password_hash: " + h.error());
    }
    if (!verify_password(*h, std::string_view(password->as_string()))) {
      sessions_.failed(client);
      return json_error(401, "Unauthorized.", "wrong password");
    }
    who.admin = true;
    who.admin_hash = file->dashboard.admin_password_hash;
  }
  if (const std::string_view old = cookie_value(req.cookie, kSessionCookie); !old.empty()) {
    sessions_.close(old);
  }
  auto opened = sessions_.open(std::move(who));
  if (!opened) {
    return json_error(500, "internal error", "no random bytes for a session id");
  }
  ApiRequest as_signed_in = req;
  as_signed_in.cookie = std::string(kSessionCookie) + "=" + opened->id;
  ApiResponse r = session_get(as_signed_in);
  r.headers.emplace_back("Set-Cookie", cookie(*file, opened->id, false));
  return r;
}

ApiResponse Dashboard::session_delete(const ApiRequest& req) {
  const std::shared_ptr<const conf::Config> file = o_.file_config();
  const std::string_view id = cookie_value(req.cookie, kSessionCookie);
  if (!id.empty()) {
    auto found = sessions_.find(id, std::chrono::seconds(file->dashboard.session_timeout));
    if (found && !equal_secrets(req.csrf_token, found->csrf)) {
      return json_error(403, "Forbidden.", "signing out needs the session's X-CSRF-Token header");
    }
    if (found && !same_origin(req)) {
      return json_error(403, "Forbidden.", "sign out from the dashboard's own origin");
    }
    sessions_.close(id);
  }
  ApiResponse r = with_headers(ApiResponse{204, "", "application/json", {}});
  r.headers.emplace_back("Set-Cookie", cookie(*file, "", true));
  return r;
}

}  // namespace trackrelay::api
