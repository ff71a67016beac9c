// tests/api/subaccounts_router_test.cc — the subaccounts API of issue 11
// (subaccounts part) through the Router over a real store: POST
// /subaccounts makes a key unless setup_api_key is false (SparkPost's
// results.key/label/short_key), key_label and key_grants are honoured and
// unknown grants are a 400, grants are enforced per route and can never
// grow, GET /subaccounts/summary counts by status, and a primary key with
// X-MSYS-SUBACCOUNT creates and reads a subaccount's tracking domains —
// its default then applies to that subaccount's mail only (the effective
// configuration). Real processes: tests/api/subaccount_routing_test.py.
#include "api/effective.h"
#include "api_test_util.h"
#include "rewrite/domain_choice.h"

namespace trackrelay::api::testing {
namespace {

std::string s(const json::value& v) {
  return std::string(v.as_string());
}

TEST_F(Api, CreateSubaccountMakesAKeyByDefault) {
  auto r = call("POST", "/subaccounts", R"({"name": "acme"})");
  ASSERT_EQ(r.status, 200) << error_text(r);
  const json::value& res = r.body.at("results");
  const std::string key = s(res.at("key"));
  EXPECT_EQ(key.size(), 40u);
  EXPECT_EQ(s(res.at("short_key")), key.substr(0, 4));
  EXPECT_EQ(s(res.at("label")),
            "API key for subaccount " + std::to_string(res.at("subaccount_id").as_int64()));
  auto own = call("GET", "/tracking-domains", "", key);
  EXPECT_EQ(own.status, 200) << "the new key works: " << error_text(own);

  r = call("POST", "/subaccounts", R"({"name": "nokey", "setup_api_key": false})");
  ASSERT_EQ(r.status, 200) << error_text(r);
  EXPECT_FALSE(r.body.at("results").as_object().contains("key"));
  r = call("POST", "/subaccounts",
           R"({"name": "labelled", "key_label": "app", "key_grants": ["smtp/inject"]})");
  ASSERT_EQ(r.status, 200) << error_text(r);
  EXPECT_EQ(s(r.body.at("results").at("label")), "app");
  EXPECT_EQ(r.body.at("results").at("key_grants"), json::parse(R"(["smtp/inject"])"));

  r = call("POST", "/subaccounts", R"({"name": "x", "key_grants": ["transmissions/modify"]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(error_text(r).find("unknown grant 'transmissions/modify'"), std::string::npos)
      << error_text(r);
  EXPECT_EQ(call("POST", "/subaccounts", R"({"name": "x", "key_grants": "smtp/inject"})").status,
            400);
  EXPECT_EQ(call("POST", "/subaccounts", R"({"name": "x", "key_grants": []})").status, 400);
  r = call("POST", "/subaccounts", R"({"name": "x", "key_grants": ["subaccounts/manage"]})");
  EXPECT_EQ(r.status, 400) << "a subaccount key cannot manage subaccounts";
  r = call("POST", "/subaccounts", R"({"name": "x", "setup_api_key": false, "key_label": "a"})");
  EXPECT_EQ(r.status, 400) << error_text(r);
  EXPECT_EQ(call("POST", "/subaccounts", R"({"setup_api_key": false})").status, 422);
  r = call("POST", "/subaccounts", R"({"name": "x", "ip_pool": "shared"})");
  EXPECT_EQ(r.status, 400) << "never silently ignored";
  EXPECT_NE(error_text(r).find("'ip_pool' is not supported"), std::string::npos) << error_text(r);
  EXPECT_EQ(call("PUT", "/subaccounts/1", R"({"compliance_status": "x"})").status, 400);
  auto list = call("GET", "/subaccounts");
  EXPECT_EQ(list.body.at("results").as_array().size(), 3u) << "refused requests made nothing";
}

TEST_F(Api, GrantsAreEnforcedAndNeverGrow) {
  auto r = call("POST", "/subaccounts",
                R"({"name": "ro", "key_grants": ["tracking_domains/view", "api_keys/manage"]})");
  ASSERT_EQ(r.status, 200) << error_text(r);
  const std::string ro = s(r.body.at("results").at("key"));
  EXPECT_EQ(call("GET", "/tracking-domains", "", ro).status, 200);
  r = call("POST", "/tracking-domains", R"({"domain": "click.ro.example.com"})", ro);
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(error_text(r).find("tracking_domains/manage"), std::string::npos) << error_text(r);
  EXPECT_EQ(call("GET", "/sending-domains", "", ro).status, 403);
  EXPECT_EQ(call("GET", "/events/message", "", ro).status, 403);
  // A key it makes has its grants at most.
  r = call("POST", "/api-keys", R"({"label": "child"})", ro);
  ASSERT_EQ(r.status, 200) << error_text(r);
  EXPECT_EQ(r.body.at("results").at("grants"),
            json::parse(R"(["tracking_domains/view", "api_keys/manage"])"));
  EXPECT_EQ(call("POST", "/tracking-domains", R"({"domain": "c.ro.example.com"})",
                 s(r.body.at("results").at("key")))
                .status,
            403);
  r = call("POST", "/api-keys", R"({"grants": ["tracking_domains/manage"]})", ro);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(error_text(r).find("does not have"), std::string::npos) << error_text(r);
  // manage includes view.
  r = call("POST", "/api-keys", R"({"grants": ["tracking_domains/manage"]})");
  ASSERT_EQ(r.status, 200) << error_text(r);
  EXPECT_EQ(call("GET", "/tracking-domains", "", s(r.body.at("results").at("key"))).status, 200);
  // A primary key without subaccounts/view cannot list them.
  r = call("POST", "/api-keys", R"({"grants": ["message_events/view"]})");
  ASSERT_EQ(r.status, 200) << error_text(r);
  EXPECT_EQ(call("GET", "/subaccounts", "", s(r.body.at("results").at("key"))).status, 403);
  EXPECT_EQ(call("GET", "/events/message", "", s(r.body.at("results").at("key"))).status, 200);
  // A key that only manages subaccounts gives their keys nothing, never everything.
  r = call("POST", "/api-keys", R"({"grants": ["subaccounts/manage"]})");
  ASSERT_EQ(r.status, 200) << error_text(r);
  const std::string admin = s(r.body.at("results").at("key"));
  r = call("POST", "/subaccounts", R"({"name": "x"})", admin);
  EXPECT_EQ(r.status, 400) << error_text(r);
  r = call("POST", "/subaccounts", R"({"name": "x", "key_grants": ["smtp/inject"]})", admin);
  EXPECT_EQ(r.status, 400) << "a grant it does not have: " << error_text(r);
  r = call("POST", "/subaccounts", R"({"name": "x", "setup_api_key": false})", admin);
  EXPECT_EQ(r.status, 200) << error_text(r);
}

TEST_F(Api, SubaccountSummaryAndGet) {
  for (const char* st : {"active", "active", "suspended", "terminated"}) {
    ASSERT_EQ(call("POST", "/subaccounts",
                   std::string(R"({"name": "n", "setup_api_key": false, "status": ")") + st + "\"}")
                  .status,
              200);
  }
  auto r = call("GET", "/subaccounts/summary");
  ASSERT_EQ(r.status, 200) << error_text(r);
  EXPECT_EQ(r.body.at("results"),
            json::parse(R"({"total": 4, "active": 2, "suspended": 1, "terminated": 1})"));
  r = call("GET", "/subaccounts/2");
  ASSERT_EQ(r.status, 200) << error_text(r);
  EXPECT_EQ(r.body.at("results").at("id").as_int64(), 2);
  EXPECT_EQ(s(r.body.at("results").at("status")), "active");
  EXPECT_EQ(call("GET", "/subaccounts/99").status, 404);
  auto sub = call("POST", "/subaccounts", R"({"name": "k"})");
  EXPECT_EQ(call("GET", "/subaccounts/summary", "", s(sub.body.at("results").at("key"))).status,
            403);
}

TEST_F(Api, PrimaryActsForASubaccountWithTheHeader) {
  auto sub = call("POST", "/subaccounts", R"({"name": "acme"})");
  ASSERT_EQ(sub.status, 200) << error_text(sub);
  const std::int64_t id = sub.body.at("results").at("subaccount_id").as_int64();
  const std::string key = s(sub.body.at("results").at("key"));
  const std::string as = std::to_string(id);
  dns_["click.acme.example.com"] = cname_to("track.example.net");
  dns_["click.primary.example.com"] = cname_to("track.example.net");
  auto r = call("POST", "/tracking-domains",
                R"({"domain": "click.acme.example.com", "default": true})", "", as);
  ASSERT_EQ(r.status, 200) << error_text(r);
  ASSERT_EQ(call("POST", "/tracking-domains/click.acme.example.com/verify", "", "", as).status,
            200);
  r = call("POST", "/tracking-domains",
           R"({"domain": "click.primary.example.com", "default": true})");
  ASSERT_EQ(r.status, 200) << error_text(r);
  ASSERT_EQ(call("POST", "/tracking-domains/click.primary.example.com/verify").status, 200);

  // The subaccount's key sees it as its own default; the header filters the primary's reads.
  r = call("GET", "/tracking-domains/click.acme.example.com", "", key);
  ASSERT_EQ(r.status, 200) << error_text(r);
  EXPECT_TRUE(r.body.at("results").at("default").as_bool());
  EXPECT_EQ(r.body.at("results").at("subaccount_id").as_int64(), id);
  r = call("GET", "/tracking-domains", "", "", as);
  ASSERT_EQ(r.body.at("results").as_array().size(), 1u) << r.body;
  EXPECT_EQ(call("GET", "/tracking-domains/click.primary.example.com", "", key).status, 404);
  // A subaccount key naming another account: 403 in SparkPost's shape.
  r = call("GET", "/tracking-domains", "", key, "0");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(s(r.body.at("errors").at(0).at("code")), "1101");
  EXPECT_EQ(call("GET", "/tracking-domains", "", key, as).status, 200) << "its own id is fine";
  EXPECT_EQ(call("GET", "/tracking-domains", "", "", "999").status, 400);

  // Each account's unlinked mail goes through its own default.
  auto snap = domains_->load();
  ASSERT_TRUE(snap.ok());
  const Effective e = build_effective(*file_, *snap);
  auto cfg = std::make_shared<conf::Config>(*e.config);
  cfg->senders = "any";
  EXPECT_EQ(rewrite::choose_tracking_domain(*cfg, "gmail.com", id).domain,
            "click.acme.example.com");
  EXPECT_EQ(rewrite::choose_tracking_domain(*cfg, "gmail.com", 0).domain,
            "click.primary.example.com");
  EXPECT_EQ(rewrite::choose_tracking_domain(*cfg, "gmail.com", id + 1).domain, "track.example.net")
      << "another subaccount never gets either default";
}

}  // namespace
}  // namespace trackrelay::api::testing
