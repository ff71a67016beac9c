// api/dashboard.h — the operator dashboard, served on the API listener.
//
// Owns: the site outside /api/v1 — the page and its static files (dashboard/,
// compiled into the binary), the security headers every page answer carries
// (Content-Security-Policy with script-src 'self', nosniff, no framing, no
// referrer) — and sign-in: GET /session (who is signed in, and the CSRF
// token), POST /session {api_key} or {password} (dashboard.admin_password_hash,
// PBKDF2 as relay.auth), DELETE /session (sign out). The session cookie is
// HttpOnly and SameSite=Strict (Secure with dashboard.secure_cookie). The
// page itself only calls /api/v1, with the cookie and X-CSRF-Token instead
// of an API key (authenticate() below, called by the router).
// May call: api/dashboard_sessions, api/router (types), store/ (API keys), conf/,
// dashboard/ (the files), base/ (password hashes), Boost.JSON.
#pragma once

#include <functional>
#include <memory>

#include "api/dashboard_sessions.h"
#include "api/router.h"
#include "base/result.h"

namespace trackrelay::api {

inline constexpr std::string_view kSessionCookie = "trackrelay_session";

// True when the request's Origin (or, without one, its Referer's origin) is
// the dashboard's own: http(s)://<the Host header>. False without either.
// Every cookie-authenticated change (and sign-out) needs it.
bool same_origin(const ApiRequest& req);

class Dashboard {
 public:
  struct Options {
    store::DomainStore* domains = nullptr;  // required: API keys sign in
    // The configuration file's current snapshot (dashboard.*, system domain).
    std::function<std::shared_ptr<const conf::Config>()> file_config;
    Sessions::Clock clock;  // tests
  };
  explicit Dashboard(Options options);

  // Checks the dashboard.* settings `serve` cannot run with (a malformed
  // admin password hash); the error names the key.
  static Result<bool> check(const conf::Config& file);

  // Answers a request outside /api/v1 (RouterOptions::site).
  ApiResponse handle(const ApiRequest& req);
  // What the request's session cookie means for an API request
  // (RouterOptions::session): the CSRF token and the dashboard's own Origin
  // (same_origin) required for every method but GET, HEAD and OPTIONS.
  SessionAuth authenticate(const ApiRequest& req);

 private:
  ApiResponse session_get(const ApiRequest& req);
  ApiResponse session_post(const ApiRequest& req);
  ApiResponse session_delete(const ApiRequest& req);
  // The live session of `req` whose identity still holds (key not revoked,
  // admin password unchanged); closes one that does not.
  std::optional<Sessions::Found> live(const ApiRequest& req, const conf::Config& file);

  Options o_;
  Sessions sessions_;
};

}  // namespace trackrelay::api
