// api/router.h — the management REST API, decided without network I/O.
//
// Owns: the routes under /api/v1 (tracking domains, sending domains,
// subaccounts, API keys, message events, the OpenAPI document), API-key
// authentication (Authorization: <key>, or Basic with the key as user name),
// subaccount scoping (X-MSYS-SUBACCOUNT; a subaccount key sees only its own
// resources), the hosted service's JSON shapes and error bodies
// {"errors":[{"message","description","code"}]}, and the rules of docs/api.md.
// May call: store/ (domains, events), dns/ (verification), conf/, base/,
// Boost.JSON, Boost.URL.
//
// handle() is synchronous and thread-safe: the server (api/server.h) runs
// it on a worker thread, because a verification waits for DNS.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"
#include "dns/resolver.h"
#include "store/domain_store.h"
#include "store/event_store.h"

namespace trackrelay::api {

struct ApiRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // "/api/v1/tracking-domains?default=true"
  std::string authorization;
  std::string subaccount;  // X-MSYS-SUBACCOUNT
  bool has_subaccount = false;
  std::string body;
};

struct ApiResponse {
  int status = 200;
  std::string body;  // JSON (empty for 204)
  std::string content_type = "application/json";
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
  // The configuration file's snapshot (not the effective one): system domain,
  // file domains (read-only through the API), dns.* settings.
  std::function<std::shared_ptr<const conf::Config>()> file_config;
  // Makes a resolver for a verification; default: dns::make_resolver with dns.*.
  std::function<Result<std::unique_ptr<dns::Resolver>>(const conf::Config&)> resolver;
  // Called after every change to domains, so this process applies it at once.
  std::function<void()> changed;
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
