// api/grants.cc — see grants.h.
#include "api/grants.h"

#include <algorithm>

namespace trackrelay::api {
namespace {

// SparkPost's names. subaccounts/* are primary-account grants only.
const std::vector<std::string_view> kGrants = {
    "smtp/inject",           "sending_domains/manage",
    "tracking_domains/view", "tracking_domains/manage",
    "message_events/view",   "metrics/view",
    "api_keys/manage",       "webhooks/view",
    "webhooks/modify",       "subaccounts/view",
    "subaccounts/manage",
};

bool primary_only(std::string_view g) {
  return g.starts_with("subaccounts/");
}

bool known(std::string_view g) {
  return std::find(kGrants.begin(), kGrants.end(), g) != kGrants.end();
}

// "x/view" for "x/manage" and "x/modify" (the stronger grant includes it).
std::string_view view_of(std::string_view g) {
  if (g == "tracking_domains/manage") return "tracking_domains/view";
  if (g == "webhooks/modify") return "webhooks/view";
  if (g == "subaccounts/manage") return "subaccounts/view";
  return {};
}

}  // namespace

const std::vector<std::string_view>& known_grants() {
  return kGrants;
}

std::string_view required_grant(std::string_view method, const std::vector<std::string>& segs) {
  if (segs.empty()) return "*";
  const std::string& first = segs.front();
  const bool read = method == "GET" || method == "HEAD";
  if (first == "tracking-domains")
    return read ? "tracking_domains/view" : "tracking_domains/manage";
  if (first == "sending-domains") return "sending_domains/manage";
  if (first == "events") return "message_events/view";
  if (first == "metrics") return "metrics/view";
  if (first == "api-keys") return "api_keys/manage";
  if (first == "webhooks") return read ? "webhooks/view" : "webhooks/modify";
  if (first == "subaccounts") return read ? "subaccounts/view" : "subaccounts/manage";
  return "*";
}

bool key_allows(const store::ApiKeyRow& key, std::string_view grant) {
  if (key.grants.empty()) return true;
  if (grant == "*") return false;
  if (key.has_grant(grant)) return true;
  for (std::string_view g : kGrants) {
    if (view_of(g) == grant && key.has_grant(g)) return true;
  }
  return false;
}

std::optional<std::string> parse_grants(const boost::json::value& list, std::string_view field,
                                        bool subaccount, const store::ApiKeyRow& creator,
                                        std::string& error) {
  const std::string not_list = "'" + std::string(field) + "' must be an array of strings";
  if (!list.is_array()) {
    error = not_list;
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (const boost::json::value& v : list.as_array()) {
    if (!v.is_string()) {
      error = not_list;
      return std::nullopt;
    }
    const std::string g(v.as_string());
    if (!known(g)) {
      error = "unknown grant '" + g.substr(0, 64) + "' (grants here:";
      for (std::string_view k : kGrants) error += " " + std::string(k);
      error += ")";
      return std::nullopt;
    }
    if (subaccount && primary_only(g)) {
      error = "a subaccount key cannot have the grant " + g;
      return std::nullopt;
    }
    if (!creator.has_grant(g)) {
      error = "this API key cannot give the grant " + g + ", which it does not have";
      return std::nullopt;
    }
    if (std::find(out.begin(), out.end(), g) == out.end()) out.push_back(g);
  }
  if (out.empty()) {
    error = "'" + std::string(field) + "' must name at least one grant";
    return std::nullopt;
  }
  std::string joined;
  for (const std::string& g : out) joined += (joined.empty() ? "" : " ") + g;
  return joined;
}

boost::json::array grants_json(const store::ApiKeyRow& key, bool subaccount) {
  boost::json::array out;
  for (std::string_view g : kGrants) {
    if (subaccount && primary_only(g) && key.grants.empty()) continue;
    if (!key.grants.empty() ? key.has_grant(g) : true) out.emplace_back(g);
  }
  return out;
}

}  // namespace trackrelay::api
