// tests/api/tenancy_router_test.cc — the API rules of issue 10 with a table
// resolver: the TXT proof of a sending domain (record shown at create and
// GET; invalid, pending on SERVFAIL with the state kept, valid, and invalid
// again when the record goes), 409 for a domain another account holds, and
// PUT /subaccounts/{id} with the key refusal that follows. The real resolver
// against dnsmasq: tests/api/tenancy_test.py.
#include "api_test_util.h"

namespace trackrelay::api::testing {
namespace {

std::string s(const json::value& v) {
  return std::string(v.as_string());
}

TEST_F(Api, SendingDomainTxtProof) {
  auto r = call("POST", "/sending-domains", R"({"domain": "example.com"})");
  ASSERT_EQ(r.status, 200) << error_text(r);
  const json::value record = r.body.at("results").at("verification").at("txt_record");
  EXPECT_EQ(s(record.at("hostname")), "_trackrelay.example.com");
  const std::string value = s(record.at("value"));
  ASSERT_EQ(value.rfind("trackrelay-verification=", 0), 0u) << value;
  r = call("GET", "/sending-domains/example.com");
  EXPECT_FALSE(r.body.at("results").at("status").at("ownership_verified").as_bool());
  EXPECT_EQ(r.body.at("results").at("verification").at("txt_record"), record);

  auto verify = [&] { return call("POST", "/sending-domains/example.com/verify"); };
  r = verify();
  ASSERT_EQ(r.status, 200) << error_text(r);
  EXPECT_FALSE(r.body.at("results").at("ownership_verified").as_bool());
  EXPECT_EQ(s(r.body.at("results").at("txt_status")), "invalid");
  EXPECT_EQ(s(r.body.at("results").at("dkim_status")), "unverified") << "the hosted fields";
  dns_["TXT _trackrelay.example.com"] =
      dns::Answer{dns::Answer::Kind::kFound, {"v=spf1 -all", value}, ""};
  r = verify();
  EXPECT_TRUE(r.body.at("results").at("ownership_verified").as_bool()) << r.body;
  EXPECT_EQ(s(r.body.at("results").at("txt_status")), "valid");
  dns_["TXT _trackrelay.example.com"] = servfail();
  r = verify();
  EXPECT_TRUE(r.body.at("results").at("ownership_verified").as_bool()) << "no definite answer";
  EXPECT_NE(s(r.body.at("results").at("message")).find("unchanged"), std::string::npos);
  dns_["TXT _trackrelay.example.com"] = dns::Answer{dns::Answer::Kind::kFound, {value + "x"}, ""};
  r = verify();
  EXPECT_FALSE(r.body.at("results").at("ownership_verified").as_bool()) << "a near miss";
  dns_.erase("TXT _trackrelay.example.com");
  r = verify();
  EXPECT_FALSE(r.body.at("results").at("ownership_verified").as_bool());
  r = call("GET", "/sending-domains/example.com");
  EXPECT_EQ(s(r.body.at("results").at("status").at("txt_status")), "invalid");
  EXPECT_EQ(call("POST", "/sending-domains/nope.example.com/verify").status, 404);
}

TEST_F(Api, DomainsHeldByAnotherAccountAre409) {
  auto sub = call("POST", "/subaccounts", R"({"name": "t", "setup_api_key": true})");
  ASSERT_EQ(sub.status, 200) << error_text(sub);
  const std::string key = s(sub.body.at("results").at("key"));
  ASSERT_EQ(call("POST", "/sending-domains", R"({"domain": "bigbank.com"})").status, 200);
  ASSERT_EQ(call("POST", "/tracking-domains", R"({"domain": "click.bigbank.com"})").status, 200);
  auto r = call("POST", "/sending-domains", R"({"domain": "bigbank.com"})", key);
  EXPECT_EQ(r.status, 409);
  EXPECT_NE(error_text(r).find("held by another account"), std::string::npos) << error_text(r);
  r = call("POST", "/tracking-domains", R"({"domain": "click.bigbank.com"})", key);
  EXPECT_EQ(r.status, 409);
  EXPECT_NE(error_text(r).find("held by another account"), std::string::npos) << error_text(r);
  r = call("POST", "/sending-domains", R"({"domain": "bigbank.com"})");
  EXPECT_NE(error_text(r).find("already exists"), std::string::npos) << error_text(r);
  EXPECT_EQ(call("POST", "/sending-domains/bigbank.com/verify", "", key).status, 404);
}

TEST_F(Api, SubaccountStatusDecidesWhetherItsKeysWork) {
  auto sub = call("POST", "/subaccounts", R"({"name": "t", "setup_api_key": true})");
  ASSERT_EQ(sub.status, 200) << error_text(sub);
  const std::string key = s(sub.body.at("results").at("key"));
  const std::string path =
      "/subaccounts/" + std::to_string(sub.body.at("results").at("subaccount_id").as_int64());
  EXPECT_EQ(call("GET", "/sending-domains", "", key).status, 200);
  EXPECT_EQ(call("PUT", path, R"({"status": "suspended"})", key).status, 403)
      << "a subaccount cannot manage subaccounts";
  EXPECT_EQ(call("PUT", path, R"({"status": "gone"})").status, 422);
  EXPECT_EQ(call("PUT", path, R"({"name": ""})").status, 422);
  EXPECT_EQ(call("PUT", "/subaccounts/999", R"({"status": "active"})").status, 404);
  const int before = changes_;
  auto r = call("PUT", path, R"({"status": "suspended", "name": "renamed"})");
  ASSERT_EQ(r.status, 200) << error_text(r);
  EXPECT_GT(changes_, before) << "the effective configuration is rebuilt";
  EXPECT_EQ(s(call("GET", path).body.at("results").at("name")), "renamed");
  r = call("GET", "/sending-domains", "", key);
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(error_text(r).find("suspended"), std::string::npos) << error_text(r);
  ASSERT_EQ(call("PUT", path, R"({"status": "active"})").status, 200);
  EXPECT_EQ(call("GET", "/sending-domains", "", key).status, 200);
  ASSERT_EQ(call("PUT", path, R"({"status": "terminated"})").status, 200);
  EXPECT_EQ(call("GET", "/sending-domains", "", key).status, 403);
  EXPECT_EQ(call("PUT", path, R"({"status": "active"})").status, 409) << "terminated is final";
}

}  // namespace
}  // namespace trackrelay::api::testing
