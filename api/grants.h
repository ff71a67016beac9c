// api/grants.h — API key grants (SparkPost's key_grants): which ones exist
// here, which one each request needs, and the check of a requested list.
//
// Owns: the names of the enforced grants, the grant of a request (method +
// path below /api/v1), the grants a subaccount key may have, and turning a
// JSON `key_grants`/`grants` list into ApiKeyRow::grants. A key whose
// grants are "" may do everything (keys made before grants existed, by
// `trackrelay keys create`, or without a grant list). The store keeps the
// grants (store/domain_store.h); api/router.cc and the relay's AUTH
// (app/relay_accounts.cc: smtp/inject) enforce them.
// May call: store/domain_store.h, Boost.JSON.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/domain_store.h"

namespace trackrelay::api {

inline constexpr std::string_view kGrantSmtpInject = "smtp/inject";

// Every grant enforced here, in the order the docs list them.
const std::vector<std::string_view>& known_grants();

// The grant a request needs. A path no grant covers (a route added without
// one) needs "*", which only a key with every grant ("" grants) has.
std::string_view required_grant(std::string_view method, const std::vector<std::string>& segs);

// Whether `key` may make the request (tracking_domains/manage also allows
// what tracking_domains/view does, */modify what */view does).
bool key_allows(const store::ApiKeyRow& key, std::string_view grant);

// A `key_grants` value (a JSON array of grant names) as ApiKeyRow::grants;
// nullopt with `error` set ("unknown grant 'x' (known: ...)", "a subaccount
// key cannot have subaccounts/manage", "'key_grants' must be an array of
// strings") otherwise. `subaccount`: the key is a subaccount's. `creator`:
// the key making it — a key never gets a grant its creator lacks.
std::optional<std::string> parse_grants(const boost::json::value& list, std::string_view field,
                                        bool subaccount, const store::ApiKeyRow& creator,
                                        std::string& error);

// The grants of a key as a JSON array (every known grant for "").
boost::json::array grants_json(const store::ApiKeyRow& key, bool subaccount);

}  // namespace trackrelay::api
