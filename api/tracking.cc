// api/tracking.cc — /tracking-domains: create, list, get, update, delete,
// verify. Rules (docs/api.md): names are stored as lower-case A-labels; a
// tracking domain is a proper subdomain (Public Suffix List); names are
// unique across accounts and the configuration file; file domains are
// read-only; only a verified domain can be the default, and setting one
// unsets the account's previous default; a domain that sending domains link
// to cannot be deleted. May call: store/, dns/, conf/, base/, Boost.JSON.

#include <algorithm>
#include <chrono>

#include "api/internal.h"
#include "base/crypto.h"
#include "base/log.h"
#include "dns/verify.h"

namespace trackrelay::api::internal {
namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

json::object status_object(bool verified, std::string_view cname, std::string_view compliance) {
  json::object s;
  s["verified"] = verified;
  s["cname_status"] = cname;
  s["compliance_status"] = compliance;
  return s;
}

std::uint16_t port_of(bool secure, const std::optional<std::uint16_t>& port) {
  return port ? *port : (secure ? 443 : 80);
}

json::object record(const conf::Config& file, std::string_view domain) {
  json::object r;
  r["type"] = "CNAME";
  r["name"] = domain;
  r["value"] = file.system_domain;
  return r;
}

json::object row_json(const conf::Config& file, const store::TrackingDomainRow& row) {
  json::object o;
  o["domain"] = row.domain;
  o["port"] = port_of(row.secure, row.port);
  o["secure"] = row.secure;
  o["default"] = row.is_default;
  o["status"] = status_object(row.verified, row.cname_status, row.compliance_status);
  if (row.subaccount_id != 0) o["subaccount_id"] = row.subaccount_id;
  o["managed_by"] = "api";
  json::object v;
  v["record"] = record(file, row.domain);
  v["expected"] = file.system_domain;
  v["found"] = row.found;
  v["message"] = row.message;
  if (row.checked_ms != 0) v["checked_at"] = iso(row.checked_ms);
  if (!row.http_token.empty()) {
    json::object h;
    const std::uint16_t port = file.dns.http_challenge_port.value_or(80);
    h["url"] = "http://" + row.domain + (port == 80 ? "" : ":" + std::to_string(port)) +
               dns::challenge_path(row.http_token);
    h["token"] = row.http_token;
    v["http_challenge"] = std::move(h);
  }
  if (row.default_on_verify && !row.verified) v["default_when_verified"] = true;
  o["verification"] = std::move(v);
  return o;
}

// Whether a verified store domain is the primary account's default: then a
// file domain is the default only when the file designates it explicitly
// (api/effective.cc decides the same way; the file's "only domain" rule
// yields to an explicit default).
bool store_primary_default(const std::vector<store::TrackingDomainRow>& rows) {
  return std::any_of(rows.begin(), rows.end(), [](const store::TrackingDomainRow& r) {
    return r.subaccount_id == 0 && r.is_default && r.verified;
  });
}

bool file_default(const conf::Config& file, const conf::TrackingDomain& t, bool store_default) {
  return t.is_default || (!store_default && file.default_tracking_domain() == &t);
}

json::object file_json(const conf::Config& file, const conf::TrackingDomain& t, bool is_default) {
  json::object o;
  o["domain"] = t.domain;
  o["port"] = port_of(t.secure, t.port);
  o["secure"] = t.secure;
  o["default"] = is_default;
  o["status"] = status_object(true, "valid", "valid");
  o["managed_by"] = "config";
  json::object v;
  v["record"] = record(file, t.domain);
  v["expected"] = file.system_domain;
  v["message"] =
      "declared in the configuration file " + file.source + " (verified by the operator)";
  o["verification"] = std::move(v);
  return o;
}

// Finds a store row the caller may see; answers 404 otherwise.
std::optional<store::TrackingDomainRow> visible_row(Ctx& c, const std::string& domain,
                                                    ApiResponse& error) {
  return visible_or_404(c, c.o.domains->tracking_domain(domain), "tracking domain " + domain,
                        error);
}

const conf::TrackingDomain* file_domain(const Ctx& c, const std::string& domain) {
  return c.visible(0) ? c.file->find_tracking_domain(domain) : nullptr;
}

// A store row's answer, with where its certificate stands (certificates.cc).
json::object with_tls(const Ctx& c, const store::TrackingDomainRow& row) {
  json::object o = row_json(*c.file, row);
  if (row.secure) o["tls"] = tls_status(c, row.domain, true, row.verified);
  return o;
}

bool file_has_designated_default(const conf::Config& file) {
  for (const auto& t : file.tracking_domains) {
    if (t.is_default) return true;
  }
  return false;
}

}  // namespace

ApiResponse tracking_create(Ctx& c) {
  ApiResponse err;
  auto body = body_object(c, err);
  if (!body) return err;
  std::optional<std::string> domain;
  std::optional<bool> secure, is_default;
  std::optional<std::int64_t> port;
  if (!field_string(*body, "domain", domain, err) || !field_bool(*body, "secure", secure, err) ||
      !field_bool(*body, "default", is_default, err) || !field_int(*body, "port", port, err)) {
    return err;
  }
  if (!domain || domain->empty()) {
    return error_response(422, "required field is missing", "'domain' is required", "1400");
  }
  if (port && (*port < 1 || *port > 65535)) {
    return error_response(422, "invalid port", "'port' must be 1-65535", "1200");
  }
  auto name = alabel(*domain, err);
  if (!name) return err;
  switch (conf::check_tracking_domain(*name)) {
    case conf::TrackingDomainCheck::kOk:
      break;
    case conf::TrackingDomainCheck::kRegistrableRoot:
      return error_response(422, "invalid domain",
                            *name + " is a root domain; use a subdomain such as click." + *name,
                            "1200");
    case conf::TrackingDomainCheck::kPublicSuffix:
      return error_response(422, "invalid domain",
                            *name +
                                " is a public suffix; a tracking domain must be a subdomain "
                                "of a registrable domain, such as click.example.com",
                            "1200");
    case conf::TrackingDomainCheck::kInvalid:
      return error_response(422, "invalid domain", *name + " is not a valid domain name", "1200");
  }
  if (*name == c.file->system_domain) {
    return error_response(422, "invalid domain",
                          *name + " is the system tracking domain (tracking.system_domain)",
                          "1200");
  }
  if (c.file->find_tracking_domain(*name) != nullptr) return managed_by_file(*c.file, *name);
  store::TrackingDomainRow row;
  row.domain = *name;
  row.subaccount_id = c.scope;
  row.secure = secure.value_or(false);
  if (port) row.port = static_cast<std::uint16_t>(*port);
  row.default_on_verify = is_default.value_or(false);
  row.http_token = random_hex(16);
  row.created_ms = now_ms();
  auto r = c.o.domains->add_tracking_domain(row);
  if (!r) return store_failed(r.failure());
  if (*r == store::Change::kExists) {
    auto held = c.o.domains->tracking_domain(*name);
    if (!held) return store_failed(held.failure());
    const bool own = held->has_value() && (*held)->subaccount_id == c.scope;
    return error_response(
        409, "resource conflict",
        "tracking domain " + *name + (own ? " already exists" : " is held by another account"),
        "1602");
  }
  if (c.o.changed) c.o.changed();
  json::object res;
  res["domain"] = *name;
  return ok(std::move(res));
}

ApiResponse tracking_list(Ctx& c) {
  std::optional<bool> want_default;
  if (auto it = c.query.find("default"); it != c.query.end() && !it->second.empty()) {
    if (it->second != "true" && it->second != "false") {
      return error_response(422, "invalid parameter", "'default' must be true or false", "1300");
    }
    want_default = it->second == "true";
  }
  std::optional<std::vector<std::int64_t>> subs;
  if (auto it = c.query.find("subaccounts"); it != c.query.end() && !it->second.empty()) {
    subs.emplace();
    std::string_view list = it->second;
    while (!list.empty()) {
      const auto comma = list.find(',');
      const std::string item(list.substr(0, comma));
      try {
        std::size_t used = 0;
        subs->push_back(std::stoll(item, &used));
        if (used != item.size()) throw std::invalid_argument(item);
      } catch (const std::exception&) {
        return error_response(422, "invalid parameter",
                              "'subaccounts' must be a comma-separated list of ids", "1300");
      }
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    }
  }
  auto included = [&](std::int64_t sub, bool is_default) {
    if (!c.visible(sub)) return false;
    if (want_default && *want_default != is_default) return false;
    if (subs && std::find(subs->begin(), subs->end(), sub) == subs->end()) return false;
    return true;
  };
  json::array out;
  auto rows = c.o.domains->tracking_domains();
  if (!rows) return store_failed(rows.failure());
  if (c.visible(0)) {
    const bool store_default = store_primary_default(*rows);
    for (const conf::TrackingDomain& t : c.file->tracking_domains) {
      const bool is_default = file_default(*c.file, t, store_default);
      if (!included(0, is_default)) continue;
      json::object o = file_json(*c.file, t, is_default);
      if (t.secure) o["tls"] = tls_status(c, t.domain, true, true);
      out.push_back(std::move(o));
    }
  }
  for (const store::TrackingDomainRow& row : *rows) {
    if (c.file->find_tracking_domain(row.domain) != nullptr) continue;  // the file's wins
    if (included(row.subaccount_id, row.is_default)) out.push_back(with_tls(c, row));
  }
  return ok(std::move(out));
}

ApiResponse tracking_get(Ctx& c) {
  ApiResponse err;
  auto name = alabel(c.params[0], err);
  if (!name) return err;
  if (const auto* t = file_domain(c, *name)) {
    auto rows = c.o.domains->tracking_domains();
    if (!rows) return store_failed(rows.failure());
    json::object o =
        file_json(*c.file, *t, file_default(*c.file, *t, store_primary_default(*rows)));
    if (t->secure) o["tls"] = tls_status(c, t->domain, true, true);
    return ok(std::move(o));
  }
  auto row = visible_row(c, *name, err);
  if (!row) return err;
  return ok(with_tls(c, *row));
}

ApiResponse tracking_update(Ctx& c) {
  ApiResponse err;
  auto name = alabel(c.params[0], err);
  if (!name) return err;
  auto body = body_object(c, err);
  if (!body) return err;
  std::optional<bool> secure, is_default;
  std::optional<std::int64_t> port;
  if (!field_bool(*body, "secure", secure, err) || !field_bool(*body, "default", is_default, err) ||
      !field_int(*body, "port", port, err)) {
    return err;
  }
  if (file_domain(c, *name) != nullptr) return managed_by_file(*c.file, *name);
  auto row = visible_row(c, *name, err);
  if (!row) return err;
  if (port && (*port < 1 || *port > 65535)) {
    return error_response(422, "invalid port", "'port' must be 1-65535", "1200");
  }
  if (is_default && *is_default) {
    if (!row->verified) {
      return error_response(422, "tracking domain is not verified",
                            *name + " is not verified (cname_status " + row->cname_status +
                                "); verify it before making it the default",
                            "1201");
    }
    if (row->subaccount_id == 0 && file_has_designated_default(*c.file)) {
      return error_response(422, "the default is set by the configuration file",
                            c.file->default_tracking_domain()->domain +
                                " is the default tracking domain in " + c.file->source +
                                "; change it there",
                            "1302");
    }
  }
  if (secure) row->secure = *secure;
  if (port) row->port = static_cast<std::uint16_t>(*port);
  if (is_default) {
    row->is_default = *is_default;
    row->default_on_verify = false;
  }
  auto r = c.o.domains->update_tracking_domain(*row);
  if (!r) return store_failed(r.failure());
  if (*r == store::Change::kNotFound)
    return not_found("tracking domain " + *name + " does not exist");
  if (c.o.changed) c.o.changed();
  return ok(with_tls(c, *row));
}

ApiResponse tracking_delete(Ctx& c) {
  ApiResponse err;
  auto name = alabel(c.params[0], err);
  if (!name) return err;
  if (file_domain(c, *name) != nullptr) return managed_by_file(*c.file, *name);
  auto row = visible_row(c, *name, err);
  if (!row) return err;
  std::vector<std::string> used_by;
  auto r = c.o.domains->delete_tracking_domain(*name, used_by);
  if (!r) return store_failed(r.failure());
  if (*r == store::Change::kInUse) {
    std::string list;
    for (const std::string& s : used_by) list += (list.empty() ? "" : ", ") + s;
    return error_response(409, "tracking domain is in use",
                          *name + " is the tracking domain of the sending domain(s) " + list +
                              "; link them to another tracking domain (or none) first",
                          "1603");
  }
  if (*r == store::Change::kNotFound)
    return not_found("tracking domain " + *name + " does not exist");
  if (c.o.changed) c.o.changed();
  return no_content();
}

namespace {

// The HTTP challenge after a CNAME that is not valid: a valid fetch replaces
// `check`, a failed one adds its message. The 429 response when another
// challenge is being fetched.
std::optional<ApiResponse> http_challenge(Ctx& c, dns::Resolver& resolver, const std::string& name,
                                          const std::string& token, dns::Check& check) {
  std::counting_semaphore<>* slots = c.o.http_challenge_slots.get();
  if (slots != nullptr && !slots->try_acquire()) {
    return error_response(429, "too many HTTP challenges at once",
                          "another HTTP challenge is being fetched; try again in a few seconds",
                          "1429");
  }
  const dns::Check h =
      dns::check_http(resolver, name, c.file->dns.http_challenge_port.value_or(80), token,
                      c.file->dns.timeout_ms, c.file->dns.allow_private_addresses);
  if (slots != nullptr) slots->release();
  if (!h.detail.empty()) log::info("verify", name + ": " + h.detail);
  if (h.cname_status == "valid") {
    check = h;
  } else {
    check.message += "; " + h.message;
  }
  return std::nullopt;
}

// A newly verified domain becomes its account's default: "Once a single
// custom tracking domain is configured, it becomes the default" — per
// account; and "Set as Default" asked at creation. The store's failure.
std::optional<ApiResponse> default_on_verify(Ctx& c, store::TrackingDomainRow& row) {
  bool account_has_default = false;
  int verified_in_account = 0;
  auto rows = c.o.domains->tracking_domains();
  if (!rows) return store_failed(rows.failure());
  for (const auto& other : *rows) {
    if (other.subaccount_id != row.subaccount_id) continue;
    if (other.domain != row.domain && other.is_default && other.verified)
      account_has_default = true;
    if (other.domain == row.domain || other.verified) ++verified_in_account;
  }
  if (row.subaccount_id == 0) {
    verified_in_account += static_cast<int>(c.file->tracking_domains.size());
    if (file_has_designated_default(*c.file)) account_has_default = true;
  }
  if (row.default_on_verify ? !(row.subaccount_id == 0 && file_has_designated_default(*c.file))
                            : (!account_has_default && verified_in_account == 1)) {
    row.is_default = true;
    row.default_on_verify = false;
  }
  return std::nullopt;
}

}  // namespace

ApiResponse tracking_verify(Ctx& c) {
  ApiResponse err;
  auto name = alabel(c.params[0], err);
  if (!name) return err;
  auto body = body_object(c, err);
  if (!body) return err;
  std::optional<bool> http;
  if (!field_bool(*body, "http", http, err)) return err;
  auto resolver = c.o.resolver ? c.o.resolver(*c.file)
                               : dns::make_resolver(c.file->dns.resolvers, c.file->dns.timeout_ms);
  if (!resolver) return error_response(500, "cannot verify", resolver.error(), "1500");
  const conf::TrackingDomain* in_file = file_domain(c, *name);
  std::optional<store::TrackingDomainRow> row;
  if (in_file == nullptr) {
    row = visible_row(c, *name, err);
    if (!row) return err;
  }
  dns::Check check = dns::check_cname(**resolver, *name, c.file->system_domain);
  if (check.cname_status != "valid" && http.value_or(false) && row && !row->http_token.empty()) {
    if (auto busy = http_challenge(c, **resolver, *name, row->http_token, check)) return *busy;
  }
  json::object res;
  res["domain"] = *name;
  if (in_file != nullptr) {
    res["verified"] = true;
    res["cname_status"] = "valid";
    res["compliance_status"] = "valid";
    res["managed_by"] = "config";
    res["message"] = check.message + " (declared in the configuration file: used regardless)";
  } else {
    row = visible_row(c, *name, err);  // again: the lookup took time
    if (!row) return err;
    const dns::State s =
        dns::after_manual({row->verified, row->cname_status, row->failures}, check);
    row->verified = s.verified;
    row->cname_status = s.cname_status;
    row->failures = s.failures;
    row->found = check.found;
    row->message = check.message;
    row->checked_ms = now_ms();
    if (row->verified && !row->is_default) {
      if (auto failed = default_on_verify(c, *row)) return *failed;
    }
    auto r = c.o.domains->update_tracking_domain(*row);
    if (!r) return store_failed(r.failure());
    if (c.o.changed) c.o.changed();
    res["verified"] = row->verified;
    res["cname_status"] = row->cname_status;
    res["compliance_status"] = row->compliance_status;
    res["default"] = row->is_default;
    res["message"] = check.cname_status == "pending" && row->verified
                         ? check.message + " (the domain stays verified)"
                         : check.message;
  }
  res["found"] = check.found;
  res["expected"] = c.file->system_domain;
  res["record"] = record(*c.file, *name);
  return ok(std::move(res));
}

}  // namespace trackrelay::api::internal
