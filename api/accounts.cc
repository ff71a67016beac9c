// api/accounts.cc — /subaccounts (minimal: name, status; PUT changes them,
// terminated is final), /api-keys (create: the key is shown once; list;
// revoke) and the events scope (event_scope; the events API itself is
// engagement.cc's). A subaccount key sees only its own keys and the events
// whose subaccount_id is its own (whatever their tracking domain), and cannot manage
// subaccounts. A subaccount's status decides whether its keys authenticate
// (store::DomainStore::authenticate) and its domains apply to mail
// (api/effective.cc). May call: store/, conf/, base/, Boost.JSON.
#include <charconv>
#include <chrono>

#include "api/internal.h"
#include "base/strings.h"
#include "store/event_json.h"

namespace trackrelay::api::internal {
namespace {

constexpr std::size_t kMaxName = 1024;

ApiResponse primary_only() {
  return error_response(403, "Forbidden.", "only a primary account key can manage subaccounts",
                        "1101");
}

std::optional<std::int64_t> parse_id(std::string_view s) {
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end != s.data() + s.size() || n <= 0) return std::nullopt;
  return n;
}

json::object subaccount_json(const store::SubaccountRow& s) {
  json::object o;
  o["id"] = s.id;
  o["name"] = s.name;
  o["status"] = s.status;
  o["compliance_status"] = "active";
  o["created"] = iso(s.created_ms);
  return o;
}

json::object key_json(const store::ApiKeyRow& k) {
  json::object o;
  o["id"] = k.id;
  o["label"] = k.label;
  o["short_key"] = k.prefix.substr(0, 4);
  o["prefix"] = k.prefix;
  o["subaccount_id"] = k.subaccount_id;
  o["created"] = iso(k.created_ms);
  return o;
}

json::object new_key_json(const store::DomainStore::NewKey& k) {
  json::object o = key_json(k.row);
  o["key"] = k.key;
  return o;
}

}  // namespace

ApiResponse subaccount_create(Ctx& c) {
  if (!c.primary_key()) return primary_only();
  ApiResponse err;
  auto body = body_object(c, err);
  if (!body) return err;
  std::optional<std::string> name, status, key_label;
  std::optional<bool> setup_key;
  if (!field_string(*body, "name", name, err) || !field_string(*body, "status", status, err) ||
      !field_string(*body, "key_label", key_label, err) ||
      !field_bool(*body, "setup_api_key", setup_key, err)) {
    return err;
  }
  if (!name || trim(*name).empty()) {
    return error_response(422, "required field is missing", "'name' is required", "1400");
  }
  if (name->size() > kMaxName) {
    return error_response(422, "invalid name", "'name' is longer than 1024 characters", "1200");
  }
  const std::string st = status.value_or("active");
  if (st != "active" && st != "suspended" && st != "terminated") {
    return error_response(422, "invalid status", "'status' must be active, suspended or terminated",
                          "1200");
  }
  auto row = c.o.domains->add_subaccount(*name, st);
  if (!row) return store_failed(row.error());
  json::object res;
  res["subaccount_id"] = row->id;
  res["name"] = row->name;
  res["status"] = row->status;
  if (setup_key.value_or(false)) {
    auto key = c.o.domains->create_api_key(
        key_label.value_or("API key for subaccount " + std::to_string(row->id)), row->id);
    if (!key) return store_failed(key.error());
    res["key"] = key->key;
    res["label"] = key->row.label;
    res["short_key"] = key->row.prefix.substr(0, 4);
  }
  return ok(std::move(res));
}

ApiResponse subaccount_list(Ctx& c) {
  if (!c.primary_key()) return primary_only();
  auto rows = c.o.domains->subaccounts();
  if (!rows) return store_failed(rows.error());
  json::array out;
  for (const auto& s : *rows) out.push_back(subaccount_json(s));
  return ok(std::move(out));
}

ApiResponse subaccount_get(Ctx& c) {
  if (!c.primary_key()) return primary_only();
  const auto id = parse_id(c.params[0]);
  if (!id) return not_found("subaccount " + c.params[0] + " does not exist");
  auto row = c.o.domains->subaccount(*id);
  if (!row) return store_failed(row.error());
  if (!row->has_value()) return not_found("subaccount " + c.params[0] + " does not exist");
  return ok(subaccount_json(**row));
}

ApiResponse subaccount_update(Ctx& c) {
  if (!c.primary_key()) return primary_only();
  const auto id = parse_id(c.params[0]);
  if (!id) return not_found("subaccount " + c.params[0] + " does not exist");
  ApiResponse err;
  auto body = body_object(c, err);
  if (!body) return err;
  std::optional<std::string> name, status;
  if (!field_string(*body, "name", name, err) || !field_string(*body, "status", status, err)) {
    return err;
  }
  if (name && (trim(*name).empty() || name->size() > kMaxName)) {
    return error_response(422, "invalid name", "'name' must be 1-1024 characters", "1200");
  }
  if (status && *status != "active" && *status != "suspended" && *status != "terminated") {
    return error_response(422, "invalid status", "'status' must be active, suspended or terminated",
                          "1200");
  }
  auto row = c.o.domains->subaccount(*id);
  if (!row) return store_failed(row.error());
  if (!row->has_value()) return not_found("subaccount " + c.params[0] + " does not exist");
  store::SubaccountRow s = **row;
  if (s.status == "terminated" && status && *status != "terminated") {
    return error_response(409, "resource conflict",
                          "subaccount " + c.params[0] + " is terminated; that cannot be undone",
                          "1602");
  }
  if (name) s.name = *name;
  if (status) s.status = *status;
  auto r = c.o.domains->update_subaccount(s);
  if (!r) return store_failed(r.error());
  if (*r == store::Change::kNotFound)
    return not_found("subaccount " + c.params[0] + " does not exist");
  if (c.o.changed) c.o.changed();
  json::object res;
  res["message"] = "Successfully updated subaccount information";
  res["subaccount_id"] = s.id;
  res["name"] = s.name;
  res["status"] = s.status;
  return ok(std::move(res));
}

ApiResponse key_create(Ctx& c) {
  ApiResponse err;
  auto body = body_object(c, err);
  if (!body) return err;
  std::optional<std::string> label;
  std::optional<std::int64_t> sub;
  if (!field_string(*body, "label", label, err) || !field_int(*body, "subaccount_id", sub, err)) {
    return err;
  }
  std::int64_t account = sub.value_or(c.scope);
  if (!c.visible(account)) {
    return error_response(403, "Forbidden.", "this API key cannot create keys for another account",
                          "1101");
  }
  if (account != 0) {
    auto row = c.o.domains->subaccount(account);
    if (!row) return store_failed(row.error());
    if (!row->has_value()) {
      return error_response(422, "unknown subaccount",
                            "subaccount " + std::to_string(account) + " does not exist", "1200");
    }
  }
  if (label && label->size() > kMaxName) {
    return error_response(422, "invalid label", "'label' is longer than 1024 characters", "1200");
  }
  auto key = c.o.domains->create_api_key(label.value_or(""), account);
  if (!key) return store_failed(key.error());
  return ok(new_key_json(*key));
}

ApiResponse key_list(Ctx& c) {
  auto rows = c.o.domains->api_keys();
  if (!rows) return store_failed(rows.error());
  json::array out;
  for (const auto& k : *rows) {
    if (c.visible(k.subaccount_id)) out.push_back(key_json(k));
  }
  return ok(std::move(out));
}

ApiResponse key_delete(Ctx& c) {
  const auto id = parse_id(c.params[0]);
  if (!id) return not_found("API key " + c.params[0] + " does not exist");
  auto rows = c.o.domains->api_keys();
  if (!rows) return store_failed(rows.error());
  for (const auto& k : *rows) {
    if (k.id != *id || !c.visible(k.subaccount_id)) continue;
    auto r = c.o.domains->revoke_api_key(*id);
    if (!r) return store_failed(r.error());
    return no_content();
  }
  return not_found("API key " + c.params[0] + " does not exist");
}

std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    const auto comma = s.find(',');
    const std::string_view item = trim(s.substr(0, comma));
    if (!item.empty()) out.emplace_back(item);
    s = comma == std::string_view::npos ? std::string_view() : s.substr(comma + 1);
  }
  return out;
}

std::optional<std::int64_t> event_scope(const Ctx& c) {
  if (c.all) return std::nullopt;
  return c.scope;
}

}  // namespace trackrelay::api::internal
