// tests/api/webhooks_router_test.cc — /webhooks through the Router with a
// real store: the hosted service's shapes, the secret shown once, 400s for
// unknown event types, oauth2 and bad targets, the egress rule on create,
// subaccount isolation, batch-status, validate against a closed port.
#include <netinet/in.h>
#include <sys/socket.h>

#include "api_test_util.h"

namespace trackrelay::api::testing {
namespace {

std::string s(const json::value& v) {
  return std::string(v.as_string());
}

constexpr const char* kPrivateOk =
    "dns: {allow_private_addresses: true}\nwebhooks: {timeout_ms: 500}\n";

TEST_F(Api, WebhookCreateListGetUpdateDelete) {
  use_config(std::string(kBaseConfig) + kPrivateOk);
  auto r =
      call("POST", "/webhooks",
           R"({"name": "h", "target": "http://127.0.0.1:9/x", "events": ["click", "injection"]})");
  ASSERT_EQ(r.status, 200) << error_text(r);
  const std::string id = s(r.body.at("results").at("id"));
  EXPECT_EQ(s(r.body.at("results").at("signing_secret")).size(), 64u);
  r = call("GET", "/webhooks/" + id);
  ASSERT_EQ(r.status, 200);
  const auto& h = r.body.at("results").as_object();
  EXPECT_FALSE(h.contains("signing_secret")) << "shown once, at create";
  EXPECT_EQ(s(h.at("auth_type")), "none");
  EXPECT_TRUE(h.at("active").as_bool());
  EXPECT_EQ(h.at("events").as_array().size(), 2u);
  r = call("PUT", "/webhooks/" + id, R"({"active": false, "events": ["open"]})");
  ASSERT_EQ(r.status, 200) << error_text(r);
  r = call("GET", "/webhooks");
  ASSERT_EQ(r.body.at("results").as_array().size(), 1u);
  const auto& l = r.body.at("results").at(0);
  EXPECT_FALSE(l.at("active").as_bool());
  EXPECT_EQ(s(l.at("events").at(0)), "open");
  EXPECT_EQ(s(l.at("name")), "h") << "PUT changes only the fields it names";
  EXPECT_EQ(call("GET", "/webhooks/" + id + "/batch-status").body.at("results").as_array().size(),
            0u);
  EXPECT_EQ(call("DELETE", "/webhooks/" + id).status, 204);
  EXPECT_EQ(call("GET", "/webhooks/" + id).status, 404);
  EXPECT_EQ(call("DELETE", "/webhooks/" + id).status, 404);
}

TEST_F(Api, WebhookBadInputIs400WithAReason) {
  use_config(std::string(kBaseConfig) + kPrivateOk);
  struct Case {
    const char* body;
    const char* says;
  } cases[] = {
      {R"({"name": "h", "target": "http://127.0.0.1/", "events": ["bounce"]})", "bounce"},
      {R"({"name": "h", "target": "http://127.0.0.1/", "events": "click"})", "non-empty array"},
      {R"({"name": "h", "target": "http://127.0.0.1/", "events": ["click"], "auth_type": "oauth2"})",
       "not supported"},
      {R"({"name": "h", "target": "http://127.0.0.1/", "events": ["click"], "auth_type": "basic",
           "auth_credentials": {"username": "a:b", "password": "x"}})",
       "without ':'"},
      {R"({"name": "h", "target": "gopher://127.0.0.1/", "events": ["click"]})", "http"},
      {R"({"name": "h", "target": "http://u:p@127.0.0.1/", "events": ["click"]})", "user info"},
      {R"({"name": "h", "target": "not a url", "events": ["click"]})", "valid absolute URL"},
      {R"({"name": "h", "events": ["click"]})", "'target' is required"},
  };
  for (const Case& c : cases) {
    auto r = call("POST", "/webhooks", c.body);
    EXPECT_EQ(r.status, 400) << c.body;
    EXPECT_NE(error_text(r).find(c.says), std::string::npos) << c.body << " → " << error_text(r);
  }
  EXPECT_EQ(call("GET", "/webhooks").body.at("results").as_array().size(), 0u);
}

TEST_F(Api, WebhookTargetMustBeGlobalUnlessAllowed) {
  for (const char* t : {"http://127.0.0.1/", "http://10.1.2.3/", "http://[::1]:8080/",
                        "https://169.254.169.254/latest"}) {
    auto r = call("POST", "/webhooks",
                  std::string(R"({"name": "h", "events": ["click"], "target": ")") + t + "\"}");
    EXPECT_EQ(r.status, 400) << t;
    EXPECT_NE(error_text(r).find("dns.allow_private_addresses is false"), std::string::npos)
        << error_text(r);
  }
  // A name is resolved (the table resolver has no addresses: it cannot be checked).
  auto r = call("POST", "/webhooks",
                R"({"name": "h", "events": ["click"], "target": "https://hooks.example.org/"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(error_text(r).find("cannot resolve hooks.example.org"), std::string::npos);
  // Global literals need no resolution.
  r = call("POST", "/webhooks",
           R"({"name": "h", "events": ["click"], "target": "https://192.0.43.10/hook"})");
  EXPECT_EQ(r.status, 200) << error_text(r);
}

TEST_F(Api, WebhooksBelongToTheirAccount) {
  use_config(std::string(kBaseConfig) + kPrivateOk);
  auto sub = domains_->add_subaccount("sub", "active");
  ASSERT_TRUE(sub.ok());
  auto sub_key = domains_->create_api_key("sub", sub->id);
  ASSERT_TRUE(sub_key.ok());
  auto r = call("POST", "/webhooks",
                R"({"name": "primary", "target": "http://127.0.0.1:9/", "events": ["click"]})");
  ASSERT_EQ(r.status, 200);
  const std::string primary_id = s(r.body.at("results").at("id"));
  r = call("POST", "/webhooks",
           R"({"name": "mine", "target": "http://127.0.0.1:9/", "events": ["click"]})",
           sub_key->key);
  ASSERT_EQ(r.status, 200);
  r = call("GET", "/webhooks", "", sub_key->key);
  ASSERT_EQ(r.body.at("results").as_array().size(), 1u);
  EXPECT_EQ(s(r.body.at("results").at(0).at("name")), "mine");
  EXPECT_EQ(r.body.at("results").at(0).at("subaccount_id").as_int64(), sub->id);
  EXPECT_FALSE(r.body.at("results").at(0).at("all_subaccounts").as_bool());
  EXPECT_EQ(call("GET", "/webhooks/" + primary_id, "", sub_key->key).status, 404);
  EXPECT_EQ(call("PUT", "/webhooks/" + primary_id, "{}", sub_key->key).status, 404);
  EXPECT_EQ(call("POST", "/webhooks/" + primary_id + "/validate", "", sub_key->key).status, 404);
  EXPECT_EQ(call("GET", "/webhooks/" + primary_id + "/batch-status", "", sub_key->key).status, 404);
  r = call("GET", "/webhooks");
  EXPECT_EQ(r.body.at("results").as_array().size(), 2u) << "the primary sees every account's";
  r = call("GET", "/webhooks/" + primary_id);
  EXPECT_TRUE(r.body.at("results").at("all_subaccounts").as_bool());
}

TEST_F(Api, WebhookValidateReportsAReceiverThatDoesNotAnswer) {
  use_config(std::string(kBaseConfig) + kPrivateOk);
  // A port nobody listens on: bind, never listen, keep it bound.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  const std::string target = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/x";
  auto r = call("POST", "/webhooks",
                R"({"name": "h", "events": ["click"], "target": ")" + target + "\"}");
  ASSERT_EQ(r.status, 200) << error_text(r);
  const std::string id = s(r.body.at("results").at("id"));
  r = call("POST", "/webhooks/" + id + "/validate");
  ::close(fd);
  ASSERT_EQ(r.status, 200) << error_text(r);
  EXPECT_EQ(s(r.body.at("results").at("msg")), "Test POST to endpoint failed");
  EXPECT_EQ(r.body.at("results").at("response").at("status").as_int64(), 0);
  EXPECT_FALSE(s(r.body.at("results").at("response").at("body")).empty());
  EXPECT_EQ(call("GET", "/webhooks/" + id + "/batch-status?limit=0").status, 400);
}

}  // namespace
}  // namespace trackrelay::api::testing
