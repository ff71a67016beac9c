// api/webhooks.cc — /webhooks in the hosted service's shape: create (the
// signing_secret is shown once), list, get, update (PUT), delete, validate
// (POST a signed test batch now and answer with the receiver's status,
// headers and body), batch-status (the newest delivery attempts: batch,
// attempt number, response or failure code, the batch's state after it). A webhook belongs to the
// account that created it (c.scope); a primary key without X-MSYS-SUBACCOUNT makes one that gets
// every account's events, anyone else one that gets only its account's. The target must be http(s)
// and reach a global address unless dns.allow_private_addresses (webhook/http_post.h). May call:
// store/ (webhooks), webhook/, dns/, conf/, base/, Boost.JSON.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <semaphore>

#include "api/internal.h"
#include "base/crypto.h"
#include "base/log.h"
#include "base/strings.h"
#include "webhook/dispatcher.h"
#include "webhook/http_post.h"
#include "webhook/payload.h"
#include "webhook/signature.h"

namespace trackrelay::api::internal {
namespace {

constexpr std::size_t kMaxName = 1024;
constexpr std::size_t kMaxCredential = 1024;
constexpr std::int64_t kMaxBatchStatus = 1000;

ApiResponse unavailable() {
  return error_response(503, "webhooks are unavailable", "this process has no webhook store",
                        "1500");
}

ApiResponse invalid(std::string_view message, std::string_view description) {
  return error_response(400, message, description, "1300");
}

json::object webhook_json(const store::WebhookRow& h) {
  json::object o;
  o["id"] = h.id;
  o["name"] = h.name;
  o["target"] = h.target;
  json::array events;
  for (const std::string& e : h.events) events.push_back(json::string(e));
  o["events"] = std::move(events);
  o["auth_type"] = h.auth_type;
  if (h.auth_type == "basic") o["auth_credentials"] = json::object{{"username", h.auth_username}};
  o["active"] = h.active;
  o["subaccount_id"] = h.subaccount_id;
  o["all_subaccounts"] = h.all_accounts;
  o["created"] = iso(h.created_ms);
  if (h.last_successful_ms != 0) o["last_successful"] = iso(h.last_successful_ms);
  if (h.last_failure_ms != 0) o["last_failure"] = iso(h.last_failure_ms);
  return o;
}

std::string new_id() {
  const std::string hex = random_hex(16);
  if (hex.size() != 32) return {};
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

// `events`: a non-empty array of known types, or the 400.
std::optional<std::vector<std::string>> parse_events(const json::value& v, ApiResponse& err) {
  std::string known;
  for (std::string_view t : webhook::event_types())
    known += (known.empty() ? "" : ", ") + std::string(t);
  if (!v.is_array() || v.as_array().empty()) {
    err = invalid("invalid events", "'events' must be a non-empty array of: " + known);
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (const json::value& e : v.as_array()) {
    if (!e.is_string() || !webhook::is_webhook_event_type(e.as_string())) {
      err = invalid("invalid events",
                    (e.is_string() ? "unknown event type '" + std::string(e.as_string()) + "'"
                                   : std::string("event types are strings")) +
                        "; known: " + known);
      return std::nullopt;
    }
    const std::string t(e.as_string());
    if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
  }
  return out;
}

// auth_type and auth_credentials into `h`; false with `err` set.
bool apply_auth(const json::object& body, store::WebhookRow& h, ApiResponse& err) {
  std::optional<std::string> type;
  if (!field_string(body, "auth_type", type, err)) return false;
  if (type) h.auth_type = *type;
  if (h.auth_type == "oauth2") {
    err = invalid("auth_type oauth2 is not supported", "use none or basic");
    return false;
  }
  if (h.auth_type != "none" && h.auth_type != "basic") {
    err = invalid("invalid auth_type", "'auth_type' must be none or basic");
    return false;
  }
  const json::value* creds = body.if_contains("auth_credentials");
  if (h.auth_type == "none") {
    h.auth_username.clear();
    h.auth_password.clear();
    return true;
  }
  if (creds == nullptr || creds->is_null()) {
    if (!h.auth_username.empty()) return true;  // an update keeps the credentials
    err = invalid("auth_credentials required",
                  "auth_type basic needs auth_credentials "
                  "{\"username\", \"password\"}");
    return false;
  }
  std::optional<std::string> user, pass;
  if (!creds->is_object() || !field_string(creds->as_object(), "username", user, err) ||
      !field_string(creds->as_object(), "password", pass, err) || !user || user->empty() ||
      user->find(':') != std::string::npos || !pass || user->size() > kMaxCredential ||
      pass->size() > kMaxCredential) {
    err = invalid("invalid auth_credentials",
                  "auth_credentials must be {\"username\", \"password\"}: strings, the username "
                  "not empty and without ':'");
    return false;
  }
  h.auth_username = *user;
  h.auth_password = *pass;
  return true;
}

// The target's checks: an http(s) URL whose host reaches a permitted address.
std::optional<ApiResponse> check_target(Ctx& c, const std::string& target) {
  auto t = webhook::parse_target(target);
  if (!t) return invalid("invalid target", t.error());
  auto resolver = c.o.resolver ? c.o.resolver(*c.file)
                               : dns::make_resolver(c.file->dns.resolvers, c.file->dns.timeout_ms);
  if (!resolver) return error_response(500, "cannot check the target", resolver.error(), "1500");
  auto ok = webhook::egress_addresses(*t, resolver->get(), c.file->dns.allow_private_addresses);
  if (!ok) return invalid("target not allowed", ok.error());
  return std::nullopt;
}

// name, target, events, active, auth from `body` into `h` (all optional
// here; create checks the required ones first).
std::optional<ApiResponse> apply_fields(Ctx& c, const json::object& body, store::WebhookRow& h) {
  ApiResponse err;
  std::optional<std::string> name, target;
  std::optional<bool> active;
  if (!field_string(body, "name", name, err) || !field_string(body, "target", target, err) ||
      !field_bool(body, "active", active, err)) {
    return err;
  }
  if (name) {
    if (trim(*name).empty() || name->size() > kMaxName) {
      return invalid("invalid name", "'name' must be 1 to 1024 characters");
    }
    h.name = *name;
  }
  if (target) {
    if (auto refused = check_target(c, *target)) return refused;
    h.target = *target;
  }
  if (const json::value* ev = body.if_contains("events"); ev != nullptr && !ev->is_null()) {
    auto events = parse_events(*ev, err);
    if (!events) return err;
    h.events = std::move(*events);
  }
  if (active) h.active = *active;
  if (!apply_auth(body, h, err)) return err;
  return std::nullopt;
}

// The webhook of the path, if the caller may see it; else `err`.
std::optional<store::WebhookRow> find(Ctx& c, ApiResponse& err) {
  auto row = c.o.webhooks->get(c.params.at(0));
  return visible_or_404(c, std::move(row), "webhook " + c.params.at(0), err);
}

json::object links(const std::string& id) {
  json::object o;
  o["id"] = id;
  json::array l;
  l.push_back(json::object{{"href", "/api/v1/webhooks/" + id},
                           {"rel", "urn.msys.webhooks.webhook"},
                           {"method", json::array{"GET", "PUT", "DELETE"}}});
  o["links"] = std::move(l);
  return o;
}

}  // namespace

ApiResponse webhook_create(Ctx& c) {
  if (c.o.webhooks == nullptr) return unavailable();
  ApiResponse err;
  auto body = body_object(c, err);
  if (!body) return err;
  for (const char* required : {"name", "target", "events"}) {
    const json::value* v = body->if_contains(required);
    if (v == nullptr || v->is_null()) {
      return error_response(400, "required field is missing",
                            "'" + std::string(required) + "' is required", "1400");
    }
  }
  store::WebhookRow h;
  if (auto refused = apply_fields(c, *body, h)) return *refused;
  h.id = new_id();
  h.signing_secret = webhook::new_secret();
  if (h.id.empty() || h.signing_secret.empty()) {
    return error_response(500, "internal error", "no randomness for the id and secret", "1500");
  }
  h.subaccount_id = c.scope;
  h.all_accounts = c.all;
  h.created_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  auto added = c.o.webhooks->add(h);
  if (!added) return store_failed(added.failure());
  json::object res = links(h.id);
  res["name"] = h.name;
  res["signing_secret"] = h.signing_secret;  // shown this once
  return ok(std::move(res));
}

ApiResponse webhook_list(Ctx& c) {
  if (c.o.webhooks == nullptr) return unavailable();
  auto list = c.o.webhooks->list();
  if (!list) return store_failed(list.failure());
  json::array out;
  for (const store::WebhookRow& h : *list) {
    if (c.visible(h.subaccount_id)) out.push_back(webhook_json(h));
  }
  return ok(std::move(out));
}

ApiResponse webhook_get(Ctx& c) {
  if (c.o.webhooks == nullptr) return unavailable();
  ApiResponse err;
  auto h = find(c, err);
  if (!h) return err;
  return ok(webhook_json(*h));
}

ApiResponse webhook_update(Ctx& c) {
  if (c.o.webhooks == nullptr) return unavailable();
  ApiResponse err;
  auto h = find(c, err);
  if (!h) return err;
  auto body = body_object(c, err);
  if (!body) return err;
  if (auto refused = apply_fields(c, *body, *h)) return *refused;
  auto done = c.o.webhooks->update(*h);
  if (!done) return store_failed(done.failure());
  if (!*done) return not_found("webhook " + h->id + " does not exist");
  return ok(links(h->id));
}

ApiResponse webhook_delete(Ctx& c) {
  if (c.o.webhooks == nullptr) return unavailable();
  ApiResponse err;
  auto h = find(c, err);
  if (!h) return err;
  auto done = c.o.webhooks->remove(h->id);
  if (!done) return store_failed(done.failure());
  return no_content();
}

namespace {

// The receiver's answer as the hosted service shows it.
json::object validate_result(const webhook::PostResult& r) {
  json::object response;
  response["status"] = r.status;
  json::object headers;
  for (const auto& [name, value] : r.headers) headers[to_lower(name)] = to_valid_utf8(value);
  response["headers"] = std::move(headers);
  response["body"] = to_valid_utf8(r.answered ? r.body : r.error);
  json::object res;
  const bool ok2xx = r.answered && r.status >= 200 && r.status < 300;
  res["msg"] = ok2xx ? "Test POST to endpoint succeeded" : "Test POST to endpoint failed";
  res["response"] = std::move(response);
  return res;
}

}  // namespace

ApiResponse webhook_validate(Ctx& c) {
  if (c.o.webhooks == nullptr) return unavailable();
  ApiResponse err;
  auto h = find(c, err);
  if (!h) return err;
  auto body = body_object(c, err);
  if (!body) return err;
  const auto now = std::chrono::system_clock::now();
  const std::int64_t ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::string payload = webhook::test_body(ms);
  if (const json::value* m = body->if_contains("message"); m != nullptr && !m->is_null()) {
    payload = json::serialize(*m);
  }
  std::counting_semaphore<>* slots = c.o.http_challenge_slots.get();
  if (slots != nullptr && !slots->try_acquire()) {
    return error_response(429, "too many outbound requests at once",
                          "another validation or HTTP challenge is running; try again shortly",
                          "1429");
  }
  auto resolver = c.o.resolver ? c.o.resolver(*c.file)
                               : dns::make_resolver(c.file->dns.resolvers, c.file->dns.timeout_ms);
  webhook::PostRequest req;
  req.url = h->target;
  req.body = payload;
  req.headers = webhook::request_headers(*h, "validate-" + random_hex(8), payload, ms / 1000);
  req.timeout_ms = c.file->webhooks.timeout_ms;
  req.allow_private = c.file->dns.allow_private_addresses;
  const webhook::PostResult r = webhook::post(req, resolver ? resolver->get() : nullptr);
  if (slots != nullptr) slots->release();
  if (!r.answered) log::info("webhooks", "validate " + h->id + ": " + r.error);
  return ok(validate_result(r));
}

ApiResponse webhook_batch_status(Ctx& c) {
  if (c.o.webhooks == nullptr) return unavailable();
  ApiResponse err;
  auto h = find(c, err);
  if (!h) return err;
  std::int64_t limit = 100;
  if (auto it = c.query.find("limit"); it != c.query.end()) {
    auto [end, ec] =
        std::from_chars(it->second.data(), it->second.data() + it->second.size(), limit);
    if (ec != std::errc() || end != it->second.data() + it->second.size() || limit < 1 ||
        limit > kMaxBatchStatus) {
      return invalid("invalid limit", "'limit' must be 1 to 1000");
    }
  }
  auto attempts = c.o.webhooks->attempts(h->id, static_cast<std::size_t>(limit));
  if (!attempts) return store_failed(attempts.failure());
  json::array out;
  for (const store::AttemptRow& a : *attempts) {
    json::object o;
    o["ts"] = iso(a.ts_ms);
    o["batch_id"] = a.batch_id;
    o["attempts"] = a.attempt;
    o["response_code"] = std::to_string(a.response_code);
    if (a.state != "delivered") {
      o["failure_code"] = std::to_string(a.response_code);
      o["error"] = to_valid_utf8(a.error);
    }
    o["state"] = a.state;  // the batch's state after this attempt: delivered, pending, failed
    out.push_back(std::move(o));
  }
  return ok(std::move(out));
}

}  // namespace trackrelay::api::internal
