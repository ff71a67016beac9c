// api/sending.cc — /sending-domains: create, list, get, update, delete,
// verify, and their link to a tracking domain (`tracking_domain`; "" removes
// it; an unknown one, or one of another account, is a 400 naming it). File
// domains are read-only and the operator's (verified). A domain the API
// creates applies to mail only once verify() finds its TXT record
// (_trackrelay.<domain> TXT "trackrelay-verification=<token>"); a domain held
// by another account (or the file) is a 409. May call: store/, dns/, conf/,
// base/, Boost.JSON.
#include <chrono>

#include "api/internal.h"
#include "base/strings.h"

namespace trackrelay::api::internal {
namespace {

constexpr std::string_view kTxtLabel = "_trackrelay.";
constexpr std::string_view kTxtPrefix = "trackrelay-verification=";

// What a sending domain's proof looks like in the API, for the file (row
// null: the operator's, verified) or a store row.
struct Proof {
  bool verified = true;
  std::string txt_status = "valid";
  std::string token;
  std::string found, message;
  std::int64_t checked_ms = 0;
};

Proof proof_of(const store::SendingDomainRow& row) {
  Proof p;
  p.verified = row.verified;
  p.txt_status = row.txt_status;
  p.token = row.txt_token;
  p.found = row.found;
  p.message = row.message;
  p.checked_ms = row.checked_ms;
  return p;
}

json::object status_object(const Proof& p) {
  // The hosted service's fields, so clients find them: ownership is our TXT
  // proof; trackrelay does not check DKIM/SPF/MX here (always unverified).
  json::object s;
  s["ownership_verified"] = p.verified;
  s["txt_status"] = p.txt_status;
  s["spf_status"] = "unverified";
  s["dkim_status"] = "unverified";
  s["cname_status"] = "unverified";
  s["mx_status"] = "unverified";
  s["abuse_at_status"] = "unverified";
  s["postmaster_at_status"] = "unverified";
  s["verification_mx_status"] = "unverified";
  s["compliance_status"] = "valid";
  return s;
}

// The record the owner publishes (absent for file domains: nothing to prove).
json::object txt_record(std::string_view domain, const Proof& p) {
  json::object r;
  r["type"] = "TXT";
  r["hostname"] = std::string(kTxtLabel) + std::string(domain);
  r["value"] = std::string(kTxtPrefix) + p.token;
  return r;
}

json::object domain_json(std::string_view domain, std::string_view tracking, std::int64_t sub,
                         std::string_view managed_by, const Proof& p = {}) {
  json::object o;
  o["domain"] = domain;
  o["tracking_domain"] = tracking;
  o["status"] = status_object(p);
  o["shared_with_subaccounts"] = false;
  o["is_default_bounce_domain"] = false;
  if (sub != 0) o["subaccount_id"] = sub;
  o["managed_by"] = managed_by;
  if (!p.token.empty()) {
    json::object v;
    v["txt_record"] = txt_record(domain, p);
    v["found"] = p.found;
    v["message"] = p.message;
    v["checked"] = p.checked_ms != 0 ? json::value(iso(p.checked_ms)) : json::value(nullptr);
    o["verification"] = std::move(v);
  }
  return o;
}

// The tracking domain a sending domain of `account` may link to, as an
// A-label ("" to remove the link), or the 400 naming it.
std::optional<std::string> check_link(Ctx& c, const std::string& given, std::int64_t account,
                                      ApiResponse& error) {
  if (given.empty()) return std::string();
  auto a = conf::to_alabel(given);
  auto unknown = [&](std::string_view why) {
    error = error_response(400, "unknown tracking domain",
                           "tracking domain '" + given + "' " + std::string(why), "1600");
    return std::nullopt;
  };
  if (!a) return unknown("is not a valid domain name");
  if (c.file->find_tracking_domain(*a) != nullptr) {
    if (account != 0) return unknown("belongs to another account");
    return *a;
  }
  auto row = c.o.domains->tracking_domain(*a);
  if (!row) {
    error = store_failed(row.failure());
    return std::nullopt;
  }
  if (!row->has_value() || !c.visible((*row)->subaccount_id)) return unknown("does not exist");
  if ((*row)->subaccount_id != account) return unknown("belongs to another account");
  return *a;
}

std::optional<store::SendingDomainRow> visible_row(Ctx& c, const std::string& domain,
                                                   ApiResponse& error) {
  return visible_or_404(c, c.o.domains->sending_domain(domain), "sending domain " + domain, error);
}

const conf::SendingDomain* file_domain(const Ctx& c, const std::string& domain) {
  return c.visible(0) ? c.file->find_sending_domain(domain) : nullptr;
}

}  // namespace

ApiResponse sending_create(Ctx& c) {
  ApiResponse err;
  auto body = body_object(c, err);
  if (!body) return err;
  std::optional<std::string> domain, tracking;
  if (!field_string(*body, "domain", domain, err) ||
      !field_string(*body, "tracking_domain", tracking, err)) {
    return err;
  }
  if (!domain || domain->empty()) {
    return error_response(422, "required field is missing", "'domain' is required", "1400");
  }
  auto name = alabel(*domain, err);
  if (!name) return err;
  if (c.file->find_sending_domain(*name) != nullptr) return managed_by_file(*c.file, *name);
  auto link = check_link(c, tracking.value_or(""), c.scope, err);
  if (!link) return err;
  store::SendingDomainRow fresh;
  fresh.domain = *name;
  fresh.subaccount_id = c.scope;
  fresh.tracking_domain = *link;
  auto r = c.o.domains->add_sending_domain(fresh);
  if (!r) return store_failed(r.failure());
  auto row = c.o.domains->sending_domain(*name);
  if (!row) return store_failed(row.failure());
  if (*r == store::Change::kExists || !row->has_value()) {
    // Held by another account: say so without naming it (409 either way).
    const bool own = row->has_value() && (*row)->subaccount_id == c.scope;
    return error_response(
        409, "resource conflict",
        "sending domain " + *name + (own ? " already exists" : " is held by another account"),
        "1602");
  }
  if (c.o.changed) c.o.changed();
  json::object res;
  res["message"] = "Successfully Created domain.";
  res["domain"] = *name;
  res["verification"] = json::object{{"txt_record", txt_record(*name, proof_of(**row))}};
  return ok(std::move(res));
}

ApiResponse sending_list(Ctx& c) {
  json::array out;
  if (c.visible(0)) {
    for (const conf::SendingDomain& s : c.file->sending_domains) {
      out.push_back(domain_json(s.domain, s.tracking_domain, 0, "config"));
    }
  }
  auto rows = c.o.domains->sending_domains();
  if (!rows) return store_failed(rows.failure());
  for (const store::SendingDomainRow& row : *rows) {
    if (c.file->find_sending_domain(row.domain) != nullptr) continue;
    if (c.visible(row.subaccount_id)) {
      out.push_back(
          domain_json(row.domain, row.tracking_domain, row.subaccount_id, "api", proof_of(row)));
    }
  }
  return ok(std::move(out));
}

ApiResponse sending_get(Ctx& c) {
  ApiResponse err;
  auto name = alabel(c.params[0], err);
  if (!name) return err;
  if (const auto* s = file_domain(c, *name)) {
    return ok(domain_json(s->domain, s->tracking_domain, 0, "config"));
  }
  auto row = visible_row(c, *name, err);
  if (!row) return err;
  return ok(
      domain_json(row->domain, row->tracking_domain, row->subaccount_id, "api", proof_of(*row)));
}

ApiResponse sending_update(Ctx& c) {
  ApiResponse err;
  auto name = alabel(c.params[0], err);
  if (!name) return err;
  auto body = body_object(c, err);
  if (!body) return err;
  std::optional<std::string> tracking;
  if (!field_string(*body, "tracking_domain", tracking, err)) return err;
  if (file_domain(c, *name) != nullptr) return managed_by_file(*c.file, *name);
  auto row = visible_row(c, *name, err);
  if (!row) return err;
  if (tracking) {
    auto link = check_link(c, *tracking, row->subaccount_id, err);
    if (!link) return err;
    row->tracking_domain = *link;
    auto r = c.o.domains->update_sending_domain(*row);
    if (!r) return store_failed(r.failure());
    if (*r == store::Change::kNotFound)
      return not_found("sending domain " + *name + " does not exist");
    if (c.o.changed) c.o.changed();
  }
  json::object res;
  res["message"] = "Successfully Updated Domain.";
  res["domain"] = *name;
  res["tracking_domain"] = row->tracking_domain;
  return ok(std::move(res));
}

ApiResponse sending_delete(Ctx& c) {
  ApiResponse err;
  auto name = alabel(c.params[0], err);
  if (!name) return err;
  if (file_domain(c, *name) != nullptr) return managed_by_file(*c.file, *name);
  auto row = visible_row(c, *name, err);
  if (!row) return err;
  auto r = c.o.domains->delete_sending_domain(*name);
  if (!r) return store_failed(r.failure());
  if (*r == store::Change::kNotFound)
    return not_found("sending domain " + *name + " does not exist");
  if (c.o.changed) c.o.changed();
  return no_content();
}

namespace {

// Checks the TXT proof of `row` and records the outcome in it. A definite
// answer decides (the record is there, or it is not); a failed lookup
// (timeout, SERVFAIL) changes nothing but the message.
void check_txt(dns::Resolver& resolver, store::SendingDomainRow& row) {
  const std::string host = std::string(kTxtLabel) + row.domain;
  const std::string want = std::string(kTxtPrefix) + row.txt_token;
  const dns::Answer a = resolver.txt(host);
  row.checked_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  if (a.kind == dns::Answer::Kind::kFailed) {
    row.message = "no definite answer for " + host + " TXT: " + a.detail + " (state unchanged)";
    if (!row.verified) row.txt_status = "pending";
    return;
  }
  row.found.clear();
  bool match = false;
  for (const std::string& v : a.values) {
    if (!row.found.empty()) row.found += "; ";
    row.found += v;
    if (trim(v) == want) match = true;
  }
  row.verified = match;
  row.txt_status = match ? "valid" : "invalid";
  row.message = match ? host + " TXT \"" + want + "\" found: ownership verified"
                : a.kind == dns::Answer::Kind::kNone
                    ? host + ": " + a.detail + "; publish TXT \"" + want + "\""
                    : host + " has TXT records, but not \"" + want + "\"";
}

}  // namespace

ApiResponse sending_verify(Ctx& c) {
  ApiResponse err;
  auto name = alabel(c.params[0], err);
  if (!name) return err;
  // SparkPost's body (`dkim_verify`, `spf_verify`, ...) asks for checks this
  // server does not make; the ownership (TXT) check always runs. A body that
  // is not a JSON object is still a 400, as on every route.
  if (!body_object(c, err)) return err;
  if (const auto* s = file_domain(c, *name)) {
    json::object res = domain_json(s->domain, s->tracking_domain, 0, "config");
    res["ownership_verified"] = true;
    res["message"] = "declared in the configuration file: the operator's, verified";
    return ok(std::move(res));
  }
  auto row = visible_row(c, *name, err);
  if (!row) return err;
  auto resolver = c.o.resolver ? c.o.resolver(*c.file)
                               : dns::make_resolver(c.file->dns.resolvers, c.file->dns.timeout_ms);
  if (!resolver) return error_response(500, "cannot verify", resolver.error(), "1500");
  store::SendingDomainRow checked = *row;
  check_txt(**resolver, checked);
  row = visible_row(c, *name, err);  // again: the lookup took time
  if (!row) return err;
  row->verified = checked.verified;
  row->txt_status = checked.txt_status;
  row->found = checked.found;
  row->message = checked.message;
  row->checked_ms = checked.checked_ms;
  auto r = c.o.domains->update_sending_domain(*row);
  if (!r) return store_failed(r.failure());
  if (c.o.changed) c.o.changed();
  // The hosted service answers with the status fields at the top level.
  const Proof p = proof_of(*row);
  json::object res = status_object(p);
  res["domain"] = *name;
  res["txt_record"] = txt_record(*name, p);
  res["found"] = p.found;
  res["message"] = p.message;
  return ok(std::move(res));
}

}  // namespace trackrelay::api::internal
