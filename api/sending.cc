// api/sending.cc — /sending-domains: create, list, get, update, delete, and
// their link to a tracking domain (`tracking_domain`; "" removes it; an
// unknown one, or one of another account, is a 400 naming it). File domains
// are read-only. May call: store/, conf/, base/, Boost.JSON.
#include "api/internal.h"

namespace trackrelay::api::internal {
namespace {

json::object status_object() {
  // trackrelay does not verify sending domains (no DKIM/SPF here): the
  // hosted service's fields, all unverified, so clients find them.
  json::object s;
  s["ownership_verified"] = false;
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

json::object domain_json(std::string_view domain, std::string_view tracking, std::int64_t sub,
                         std::string_view managed_by) {
  json::object o;
  o["domain"] = domain;
  o["tracking_domain"] = tracking;
  o["status"] = status_object();
  o["shared_with_subaccounts"] = false;
  o["is_default_bounce_domain"] = false;
  if (sub != 0) o["subaccount_id"] = sub;
  o["managed_by"] = managed_by;
  return o;
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
    error = store_failed(row.error());
    return std::nullopt;
  }
  if (!row->has_value() || !c.visible((*row)->subaccount_id)) return unknown("does not exist");
  if ((*row)->subaccount_id != account) return unknown("belongs to another account");
  return *a;
}

std::optional<store::SendingDomainRow> visible_row(Ctx& c, const std::string& domain,
                                                   ApiResponse& error) {
  auto row = c.o.domains->sending_domain(domain);
  if (!row) {
    error = store_failed(row.error());
    return std::nullopt;
  }
  if (!row->has_value() || !c.visible((*row)->subaccount_id)) {
    error = not_found("sending domain " + domain + " does not exist");
    return std::nullopt;
  }
  return **row;
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
  auto r = c.o.domains->add_sending_domain({*name, c.scope, *link, 0});
  if (!r) return store_failed(r.error());
  if (*r == store::Change::kExists) {
    return error_response(409, "resource conflict", "sending domain " + *name + " already exists",
                          "1602");
  }
  if (c.o.changed) c.o.changed();
  json::object res;
  res["message"] = "Successfully Created domain.";
  res["domain"] = *name;
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
  if (!rows) return store_failed(rows.error());
  for (const store::SendingDomainRow& row : *rows) {
    if (c.file->find_sending_domain(row.domain) != nullptr) continue;
    if (c.visible(row.subaccount_id)) {
      out.push_back(domain_json(row.domain, row.tracking_domain, row.subaccount_id, "api"));
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
  return ok(domain_json(row->domain, row->tracking_domain, row->subaccount_id, "api"));
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
    if (!r) return store_failed(r.error());
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
  if (!r) return store_failed(r.error());
  if (*r == store::Change::kNotFound)
    return not_found("sending domain " + *name + " does not exist");
  if (c.o.changed) c.o.changed();
  return no_content();
}

}  // namespace trackrelay::api::internal
