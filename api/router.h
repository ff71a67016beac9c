// api/router.h — the management REST API, decided without network I/O.
//
// Owns: the routes under /api/v1 (tracking domains, sending domains,
// subaccounts, API keys, message events, webhooks (api/webhooks.cc), the
// OpenAPI document), API-key
// authentication (Authorization: <key>, or Basic with the key as user name;
// checked by store::DomainStore::authenticate, which refuses keys of
// subaccounts that are not active: 403), subaccount scoping
// (X-MSYS-SUBACCOUNT; a subaccount key sees only its own resources and the
// events whose subaccount_id is its own), the hosted service's JSON shapes and error bodies
// {"errors":[{"message","description","code"}]}, and the rules of docs/api.md.
// May call: store/ (domains, events), dns/ (verification), conf/, base/,
// Boost.JSON, Boost.URL.
//
// Browser sessions (the dashboard, api/dashboard.h): a request without an
// Authorization header but with the session cookie is authenticated by
// RouterOptions::session, which also checks the CSRF token of every change;
// the session then acts exactly as its API key (or, signed in with the admin
// password, as a primary key). Paths outside /api/v1 go to RouterOptions::site.
//
// handle() is synchronous and thread-safe: the server (api/service.cc) runs
// it on a worker thread, because a verification waits for DNS.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <semaphore>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "conf/config.h"
#include "dns/resolver.h"
#include "store/cert_store.h"
#include "store/domain_store.h"
#include "store/event_store.h"
#include "store/webhook_store.h"

namespace trackrelay::api {

struct ApiRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // "/api/v1/tracking-domains?default=true"
  std::string authorization;
  std::string subaccount;  // X-MSYS-SUBACCOUNT
  bool has_subaccount = false;
  std::string body;
  std::string cookie;        // the Cookie header (dashboard sessions)
  std::string csrf_token;    // X-CSRF-Token
  std::string origin;        // Origin, when the browser sent one
  std::string host;          // Host
  std::string content_type;  // Content-Type
  std::string referer;       // Referer (its origin stands in for a missing Origin)
  std::string peer;          // the client's address ("192.0.2.1", "2001:db8::1")
};

struct ApiResponse {
  int status = 200;
  std::string body;  // JSON (empty for 204)
  std::string content_type = "application/json";
  // More headers (Set-Cookie, Content-Security-Policy, ...), in order.
  std::vector<std::pair<std::string, std::string>> headers = {};
};

// What a session cookie means for one API request (api/dashboard.h decides).
struct SessionAuth {
  enum class State {
    kNone,     // no session cookie: authenticate by the Authorization header
    kValid,    // act as `key`, or as the primary account when `admin`
    kExpired,  // unknown, signed out or timed out: 401
    kBadCsrf,  // a change without the session's CSRF token, or whose Origin (or
               // Referer) is not the dashboard's own (the Host it is served on): 403
  };
  State state = State::kNone;
  bool admin = false;  // signed in with dashboard.admin_password_hash
  std::string key;     // signed in with this API key (checked again on every request)
};

// One route, as the OpenAPI document must list it.
struct Route {
  std::string_view method;  // "GET"
  std::string_view path;    // "/tracking-domains/{domain}" (below /api/v1)
};
// Every route the router answers.
const std::vector<Route>& routes();
// The OpenAPI 3 document (api/openapi.cc).
std::string_view openapi_json();

struct RouterOptions {
  store::DomainStore* domains = nullptr;  // required
  store::EventStore* events = nullptr;    // null: the events route answers 503
  // Null: the webhooks routes answer 503.
  store::WebhookStore* webhooks = nullptr;
  store::CertStore* certificates = nullptr;  // null: the certificate routes answer 503
  // The configuration file's snapshot (not the effective one): system domain,
  // file domains (read-only through the API), dns.* settings.
  std::function<std::shared_ptr<const conf::Config>()> file_config;
  // Makes a resolver for a verification; default: dns::make_resolver with dns.*.
  std::function<Result<std::unique_ptr<dns::Resolver>>(const conf::Config&)> resolver;
  // Called after every change to domains, so this process applies it at once.
  std::function<void()> changed;
  // Answers every path outside /api/v1 (the dashboard); null: 404.
  std::function<ApiResponse(const ApiRequest&)> site;
  // Resolves the session cookie of a request without an Authorization
  // header; null: no sessions.
  std::function<SessionAuth(const ApiRequest&)> session;
  // HTTP challenges that may run at once (each holds a worker for up to
  // dns.timeout_ms); one more answers 429. The server passes fewer than its
  // workers, so slow challenge targets cannot starve the API. Null: no limit.
  std::shared_ptr<std::counting_semaphore<>> http_challenge_slots;
};

class Router {
 public:
  explicit Router(RouterOptions options);
  ApiResponse handle(const ApiRequest& request) const;

 private:
  RouterOptions o_;
};

// {"errors":[{"message": message, "description": description, "code": code}]}
ApiResponse error_response(int status, std::string_view message, std::string_view description = {},
                           std::string_view code = {});

}  // namespace trackrelay::api
