// api/accounts.cc — /subaccounts (minimal: name, status; PUT changes them,
// terminated is final), /api-keys (create: the key is shown once; list;
// revoke) and the events scope (event_scope; the events API itself is
// engagement.cc's). A subaccount key sees only its own keys and the events
// whose subaccount_id is its own (whatever their tracking domain), and cannot manage
// subaccounts. A subaccount's status decides whether its keys authenticate
// (store::DomainStore::authenticate) and its domains apply to mail
// (api/effective.cc). May call: store/, conf/, base/, Boost.JSON.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <initializer_list>

#include "api/grants.h"
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
  o["grants"] = grants_json(k, k.subaccount_id != 0);
  o["created"] = iso(k.created_ms);
  return o;
}

json::object new_key_json(const store::DomainStore::NewKey& k) {
  json::object o = key_json(k.row);
  o["key"] = k.key;
  return o;
}

}  // namespace

namespace {

// The grants of a new key: body[field] (key_grants / grants) checked
// against what the creating key has, else the creator's own (a key never
// makes a stronger one); nullopt with `err` (400) when it is not acceptable.
std::optional<std::string> new_key_grants(const Ctx& c, const json::object& body,
                                          std::string_view field, bool subaccount,
                                          ApiResponse& err) {
  const json::value* given = body.if_contains(field);
  if (given == nullptr || given->is_null()) {
    if (c.key.grants.empty()) return std::string();
    std::string out;
    std::string_view rest = c.key.grants;
    while (!rest.empty()) {
      const auto space = rest.find(' ');
      const std::string_view g = rest.substr(0, space);
      if (!subaccount || !g.starts_with("subaccounts/"))
        out += (out.empty() ? "" : " ") + std::string(g);
      rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
    }
    // "" would mean every grant: a key with none of its creator's is refused.
    if (out.empty()) {
      err = error_response(400, "invalid " + std::string(field),
                           "this API key has no grant a subaccount key can have; name the new "
                           "key's grants in '" +
                               std::string(field) + "'",
                           "1300");
      return std::nullopt;
    }
    return out;
  }
  std::string why;
  auto grants = parse_grants(*given, field, subaccount, c.key, why);
  if (!grants) err = error_response(400, "invalid " + std::string(field), why, "1300");
  return grants;
}

// 400 for a body field not in `known`: SparkPost fields trackrelay has no
// use for (ip_pool, key_valid_ips, options, ...) are refused, never ignored.
bool only_fields(const json::object& body, std::initializer_list<std::string_view> known,
                 ApiResponse& err) {
  for (const auto& kv : body) {
    if (std::find(known.begin(), known.end(), kv.key()) != known.end()) continue;
    std::string list;
    for (std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
    err = error_response(400, "unsupported field",
                         "'" + std::string(kv.key()).substr(0, 64) +
                             "' is not supported here (fields: " + list + ")",
                         "1300");
    return false;
  }
  return true;
}

// 422 unless `name` is 1-1024 characters (not only spaces).
bool valid_name(const std::optional<std::string>& name, ApiResponse& err) {
  if (!name || trim(*name).empty()) {
    err = error_response(422, "required field is missing", "'name' is required", "1400");
    return false;
  }
  if (name->size() > kMaxName) {
    err = error_response(422, "invalid name", "'name' is longer than 1024 characters", "1200");
    return false;
  }
  return true;
}

}  // namespace

// SparkPost's POST /subaccounts: setup_api_key defaults to true; the key is
// in the answer once (results.key, label, short_key).
ApiResponse subaccount_create(Ctx& c) {
  if (!c.primary_key()) return primary_only();
  ApiResponse err;
  auto body = body_object(c, err);
  if (!body) return err;
  std::optional<std::string> name, status, key_label;
  std::optional<bool> setup_key;
  if (!only_fields(*body, {"name", "status", "setup_api_key", "key_label", "key_grants"}, err) ||
      !field_string(*body, "name", name, err) || !field_string(*body, "status", status, err) ||
      !field_string(*body, "key_label", key_label, err) ||
      !field_bool(*body, "setup_api_key", setup_key, err)) {
    return err;
  }
  if (!valid_name(name, err)) return err;
  const std::string st = status.value_or("active");
  if (st != "active" && st != "suspended" && st != "terminated") {
    return error_response(422, "invalid status", "'status' must be active, suspended or terminated",
                          "1200");
  }
  const bool with_key = setup_key.value_or(true);
  const json::value* given = body->if_contains("key_grants");
  if (!with_key && ((given != nullptr && !given->is_null()) || key_label)) {
    return error_response(400, "invalid request",
                          "'key_label' and 'key_grants' need 'setup_api_key': true", "1300");
  }
  if (key_label && key_label->size() > kMaxName) {
    return error_response(422, "invalid key_label", "'key_label' is longer than 1024 characters",
                          "1200");
  }
  std::optional<std::string> grants =
      with_key ? new_key_grants(c, *body, "key_grants", true, err) : "";
  if (!grants) return err;
  // The subaccount and its key are one transaction: both or neither.
  auto made = c.o.domains->add_subaccount_with_key(
      *name, st, with_key ? std::optional<std::string>(key_label.value_or("")) : std::nullopt,
      *grants);
  if (!made) return store_failed(made.failure());
  if (c.o.changed) c.o.changed();
  json::object res;
  res["subaccount_id"] = made->row.id;
  res["name"] = made->row.name;
  res["status"] = made->row.status;
  if (made->key) {
    res["key"] = made->key->key;
    res["label"] = made->key->row.label;
    res["short_key"] = made->key->row.prefix.substr(0, 4);
    res["key_grants"] = grants_json(made->key->row, true);
  }
  return ok(std::move(res));
}

ApiResponse subaccount_summary(Ctx& c) {
  if (!c.primary_key()) return primary_only();
  auto rows = c.o.domains->subaccounts();
  if (!rows) return store_failed(rows.failure());
  std::int64_t active = 0, suspended = 0, terminated = 0;
  for (const auto& s : *rows) {
    if (s.status == "active") ++active;
    if (s.status == "suspended") ++suspended;
    if (s.status == "terminated") ++terminated;
  }
  json::object res;
  res["total"] = static_cast<std::int64_t>(rows->size());
  res["active"] = active;
  res["suspended"] = suspended;
  res["terminated"] = terminated;
  return ok(std::move(res));
}

ApiResponse subaccount_list(Ctx& c) {
  if (!c.primary_key()) return primary_only();
  auto rows = c.o.domains->subaccounts();
  if (!rows) return store_failed(rows.failure());
  json::array out;
  for (const auto& s : *rows) out.push_back(subaccount_json(s));
  return ok(std::move(out));
}

ApiResponse subaccount_get(Ctx& c) {
  if (!c.primary_key()) return primary_only();
  const auto id = parse_id(c.params[0]);
  if (!id) return not_found("subaccount " + c.params[0] + " does not exist");
  auto row = c.o.domains->subaccount(*id);
  if (!row) return store_failed(row.failure());
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
  if (!only_fields(*body, {"name", "status"}, err) || !field_string(*body, "name", name, err) ||
      !field_string(*body, "status", status, err)) {
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
  if (!row) return store_failed(row.failure());
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
  if (!r) return store_failed(r.failure());
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
    if (!row) return store_failed(row.failure());
    if (!row->has_value()) {
      return error_response(422, "unknown subaccount",
                            "subaccount " + std::to_string(account) + " does not exist", "1200");
    }
  }
  if (label && label->size() > kMaxName) {
    return error_response(422, "invalid label", "'label' is longer than 1024 characters", "1200");
  }
  ApiResponse grants_err;
  auto grants = new_key_grants(c, *body, "grants", account != 0, grants_err);
  if (!grants) return grants_err;
  auto key = c.o.domains->create_api_key(label.value_or(""), account, *grants);
  if (!key) return store_failed(key.failure());
  return ok(new_key_json(*key));
}

ApiResponse key_list(Ctx& c) {
  auto rows = c.o.domains->api_keys();
  if (!rows) return store_failed(rows.failure());
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
  if (!rows) return store_failed(rows.failure());
  for (const auto& k : *rows) {
    if (k.id != *id || !c.visible(k.subaccount_id)) continue;
    auto r = c.o.domains->revoke_api_key(*id);
    if (!r) return store_failed(r.failure());
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
