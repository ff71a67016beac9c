// tests/api/router_test.cc — the management API's rules through the Router
// with a real store and a table resolver: auth, JSON errors, tracking and
// sending domains (status codes and messages of docs/api.md), file domains
// read-only, defaults, verification, subaccount isolation, keys, events.
#include <openssl/evp.h>

#include <chrono>

#include "api/internal.h"
#include "api_test_util.h"

namespace trackrelay::api::testing {
namespace {

std::string s(const json::value& v) {
  return std::string(v.as_string());
}

TEST_F(Api, MissingOrWrongKeyIs401WithTheJsonErrorShape) {
  ApiRequest req;
  req.method = "GET";
  req.target = "/api/v1/tracking-domains";
  ApiResponse r = router_->handle(req);
  EXPECT_EQ(r.status, 401);
  auto body = json::parse(r.body);
  EXPECT_EQ(s(body.at("errors").at(0).at("message")), "Unauthorized.");
  EXPECT_EQ(call("GET", "/tracking-domains", "", "0000000000000000000000000000000000000000").status,
            401);
}

TEST_F(Api, BasicAuthWithTheKeyAsUserName) {
  // base64("<key>:")
  std::string userpass = key_ + ":";
  std::string b64(4 * ((userpass.size() + 2) / 3), '\0');
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                  reinterpret_cast<const unsigned char*>(userpass.data()),
                  static_cast<int>(userpass.size()));
  EXPECT_EQ(call("GET", "/tracking-domains", "", "Basic " + b64).status, 200);
}

TEST_F(Api, MalformedJsonWrongTypesAndUnknownFields) {
  EXPECT_EQ(call("POST", "/tracking-domains", "{\"domain\":").status, 400);
  EXPECT_EQ(call("POST", "/tracking-domains", "[1,2]").status, 400);
  auto r = call("POST", "/tracking-domains", R"({"domain": "click.example.com", "secure": "yes"})");
  EXPECT_EQ(r.status, 422);
  EXPECT_NE(error_text(r).find("'secure' must be a boolean"), std::string::npos) << error_text(r);
  EXPECT_EQ(call("POST", "/tracking-domains", R"({"domain": 7})").status, 422);
  EXPECT_EQ(call("POST", "/tracking-domains", R"({})").status, 422);
  r = call("POST", "/tracking-domains", R"({"domain": "click.example.com", "colour": "blue"})");
  EXPECT_EQ(r.status, 200) << "unknown fields are ignored: " << error_text(r);
}

TEST_F(Api, UnknownRoutesAndMethods) {
  EXPECT_EQ(call("GET", "/nothing-here").status, 404);
  EXPECT_EQ(call("PATCH", "/tracking-domains").status, 405);
}

TEST_F(Api, CreateGetListTrackingDomain) {
  auto r = call("POST", "/tracking-domains", R"({"domain": "Click.Example.COM.", "secure": true})");
  ASSERT_EQ(r.status, 200) << error_text(r);
  EXPECT_EQ(s(r.body.at("results").at("domain")), "click.example.com");
  EXPECT_EQ(changes_, 1);
  r = call("GET", "/tracking-domains/CLICK.example.com");
  ASSERT_EQ(r.status, 200);
  const auto& d = r.body.at("results");
  EXPECT_EQ(d.at("port").as_int64(), 443);
  EXPECT_TRUE(d.at("secure").as_bool());
  EXPECT_FALSE(d.at("default").as_bool());
  EXPECT_FALSE(d.at("status").at("verified").as_bool());
  EXPECT_EQ(s(d.at("status").at("cname_status")), "unverified");
  EXPECT_EQ(s(d.at("verification").at("record").at("value")), "track.example.net");
  r = call("GET", "/tracking-domains");
  ASSERT_EQ(r.body.at("results").as_array().size(), 1u);
  EXPECT_EQ(call("POST", "/tracking-domains", R"({"domain": "click.example.com"})").status, 409);
  EXPECT_EQ(call("GET", "/tracking-domains/other.example.com").status, 404);
}

TEST_F(Api, InvalidDomainsSayWhy) {
  auto root = call("POST", "/tracking-domains", R"({"domain": "example.com"})");
  EXPECT_EQ(root.status, 422);
  EXPECT_NE(error_text(root).find("root domain"), std::string::npos) << error_text(root);
  auto suffix = call("POST", "/tracking-domains", R"({"domain": "co.uk"})");
  EXPECT_EQ(suffix.status, 422);
  EXPECT_NE(error_text(suffix).find("public suffix"), std::string::npos) << error_text(suffix);
  auto syntax = call("POST", "/tracking-domains", R"({"domain": "bad_name.example.com"})");
  EXPECT_EQ(syntax.status, 422);
  EXPECT_NE(error_text(syntax).find("not a valid domain name"), std::string::npos);
  auto idn = call("POST", "/tracking-domains", R"({"domain": "click.bücher.example"})");
  EXPECT_EQ(idn.status, 200);
  EXPECT_EQ(s(idn.body.at("results").at("domain")), "click.xn--bcher-kva.example");
}

TEST_F(Api, VerifyReportsFoundAndExpected) {
  ASSERT_EQ(call("POST", "/tracking-domains", R"({"domain": "click.example.com"})").status, 200);
  dns_["click.example.com"] = cname_to("spgo.example.net");
  auto r = call("POST", "/tracking-domains/click.example.com/verify");
  ASSERT_EQ(r.status, 200);
  const auto& v = r.body.at("results");
  EXPECT_FALSE(v.at("verified").as_bool());
  EXPECT_EQ(s(v.at("cname_status")), "invalid");
  EXPECT_EQ(s(v.at("found")), "spgo.example.net");
  EXPECT_NE(s(v.at("message"))
                .find("click.example.com has CNAME spgo.example.net; expected track.example.net"),
            std::string::npos)
      << s(v.at("message"));
  dns_["click.example.com"] = servfail();
  r = call("POST", "/tracking-domains/click.example.com/verify");
  EXPECT_EQ(s(r.body.at("results").at("cname_status")), "pending") << "the lookup failed";
  EXPECT_NE(s(r.body.at("results").at("message")).find("SERVFAIL"), std::string::npos);
  dns_["click.example.com"] = cname_to("TRACK.EXAMPLE.NET");
  r = call("POST", "/tracking-domains/click.example.com/verify");
  EXPECT_TRUE(r.body.at("results").at("verified").as_bool());
  EXPECT_TRUE(r.body.at("results").at("default").as_bool())
      << "the single custom tracking domain becomes the default";
  dns_["click.example.com"] = servfail();
  r = call("POST", "/tracking-domains/click.example.com/verify");
  EXPECT_TRUE(r.body.at("results").at("verified").as_bool()) << "a timeout never un-verifies";
}

TEST_F(Api, DefaultRules) {
  for (const char* d : {"a.example.com", "b.example.com"}) {
    ASSERT_EQ(call("POST", "/tracking-domains", std::string(R"({"domain": ")") + d + "\"}").status,
              200);
  }
  auto r = call("PUT", "/tracking-domains/a.example.com", R"({"default": true})");
  EXPECT_EQ(r.status, 422);
  EXPECT_NE(error_text(r).find("not verified"), std::string::npos) << error_text(r);
  dns_["a.example.com"] = cname_to("track.example.net");
  dns_["b.example.com"] = cname_to("track.example.net");
  call("POST", "/tracking-domains/a.example.com/verify");
  call("POST", "/tracking-domains/b.example.com/verify");
  EXPECT_EQ(call("PUT", "/tracking-domains/a.example.com", R"({"default": true})").status, 200);
  EXPECT_EQ(call("PUT", "/tracking-domains/b.example.com", R"({"default": true})").status, 200);
  r = call("GET", "/tracking-domains?default=true");
  ASSERT_EQ(r.body.at("results").as_array().size(), 1u);
  EXPECT_EQ(s(r.body.at("results").at(0).at("domain")), "b.example.com") << "b replaced a";
  // Deleting the default is allowed; the system default then applies.
  EXPECT_EQ(call("DELETE", "/tracking-domains/b.example.com").status, 204);
  EXPECT_EQ(call("GET", "/tracking-domains?default=true").body.at("results").as_array().size(), 0u);
}

TEST_F(Api, SetAsDefaultAtCreationAppliesOnceVerified) {
  ASSERT_EQ(call("POST", "/tracking-domains", R"({"domain": "a.example.com"})").status, 200);
  dns_["a.example.com"] = cname_to("track.example.net");
  call("POST", "/tracking-domains/a.example.com/verify");
  ASSERT_EQ(
      call("POST", "/tracking-domains", R"({"domain": "b.example.com", "default": true})").status,
      200);
  dns_["b.example.com"] = cname_to("track.example.net");
  auto r = call("POST", "/tracking-domains/b.example.com/verify");
  EXPECT_TRUE(r.body.at("results").at("default").as_bool());
  EXPECT_FALSE(
      call("GET", "/tracking-domains/a.example.com").body.at("results").at("default").as_bool());
}

TEST_F(Api, SendingDomainsAndTheirTrackingDomain) {
  ASSERT_EQ(call("POST", "/tracking-domains", R"({"domain": "click.example.com"})").status, 200);
  auto r = call("POST", "/sending-domains",
                R"({"domain": "example.com", "tracking_domain": "nope.example.com"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(error_text(r).find("nope.example.com"), std::string::npos) << "names it";
  r = call("POST", "/sending-domains",
           R"({"domain": "Example.COM", "tracking_domain": "click.example.com"})");
  ASSERT_EQ(r.status, 200) << error_text(r);
  EXPECT_EQ(call("POST", "/sending-domains", R"({"domain": "example.com"})").status, 409);
  r = call("GET", "/sending-domains/example.com");
  EXPECT_EQ(s(r.body.at("results").at("tracking_domain")), "click.example.com");
  r = call("DELETE", "/tracking-domains/click.example.com");
  EXPECT_EQ(r.status, 409);
  EXPECT_NE(error_text(r).find("example.com"), std::string::npos) << error_text(r);
  EXPECT_EQ(call("PUT", "/sending-domains/example.com", R"({"tracking_domain": ""})").status, 200);
  EXPECT_EQ(s(call("GET", "/sending-domains/example.com").body.at("results").at("tracking_domain")),
            "");
  EXPECT_EQ(call("DELETE", "/tracking-domains/click.example.com").status, 204);
  EXPECT_EQ(call("DELETE", "/sending-domains/example.com").status, 204);
  EXPECT_EQ(call("DELETE", "/sending-domains/example.com").status, 404);
}

TEST_F(Api, FileDomainsAreVisibleAndReadOnly) {
  use_config(std::string(kBaseConfig) +
             "  tracking_domains: [{domain: click.example.org, default: true}]\n"
             "  sending_domains: [{domain: example.org, tracking_domain: click.example.org}]\n");
  auto r = call("GET", "/tracking-domains/click.example.org");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(s(r.body.at("results").at("managed_by")), "config");
  EXPECT_TRUE(r.body.at("results").at("default").as_bool());
  for (auto [m, p, b] :
       {std::tuple{"PUT", "/tracking-domains/click.example.org", R"({"secure": true})"},
        {"DELETE", "/tracking-domains/click.example.org", ""},
        {"POST", "/tracking-domains", R"({"domain": "click.example.org"})"},
        {"PUT", "/sending-domains/example.org", R"({"tracking_domain": ""})"},
        {"DELETE", "/sending-domains/example.org", ""}}) {
    r = call(m, p, b);
    EXPECT_EQ(r.status, 409) << m << " " << p;
    EXPECT_NE(error_text(r).find("managed by the configuration file"), std::string::npos);
  }
  // The file designates the default: the API cannot move it.
  ASSERT_EQ(call("POST", "/tracking-domains", R"({"domain": "click.example.com"})").status, 200);
  dns_["click.example.com"] = cname_to("track.example.net");
  r = call("POST", "/tracking-domains/click.example.com/verify");
  EXPECT_FALSE(r.body.at("results").at("default").as_bool());
  r = call("PUT", "/tracking-domains/click.example.com", R"({"default": true})");
  EXPECT_EQ(r.status, 422);
  // A store sending domain may use a file tracking domain.
  EXPECT_EQ(call("POST", "/sending-domains",
                 R"({"domain": "example.net", "tracking_domain": "click.example.org"})")
                .status,
            200);
}

TEST_F(Api, SubaccountIsolation) {
  auto sub = call("POST", "/subaccounts", R"({"name": "Customer", "setup_api_key": true})");
  ASSERT_EQ(sub.status, 200) << error_text(sub);
  const std::int64_t id = sub.body.at("results").at("subaccount_id").as_int64();
  const std::string sub_key = s(sub.body.at("results").at("key"));
  // The primary account's domain, and the subaccount's own.
  ASSERT_EQ(call("POST", "/tracking-domains", R"({"domain": "click.primary.com"})").status, 200);
  auto r = call("POST", "/tracking-domains", R"({"domain": "click.customer.com"})", sub_key);
  ASSERT_EQ(r.status, 200);
  r = call("GET", "/tracking-domains/click.customer.com");
  EXPECT_EQ(r.body.at("results").at("subaccount_id").as_int64(), id);
  // The subaccount key sees only its own.
  r = call("GET", "/tracking-domains", "", sub_key);
  ASSERT_EQ(r.body.at("results").as_array().size(), 1u);
  EXPECT_EQ(call("GET", "/tracking-domains/click.primary.com", "", sub_key).status, 404);
  EXPECT_EQ(call("DELETE", "/tracking-domains/click.primary.com", "", sub_key).status, 404);
  EXPECT_EQ(call("GET", "/tracking-domains", "", sub_key, "0").status, 403);
  EXPECT_EQ(call("GET", "/subaccounts", "", sub_key).status, 403);
  // Linking to another account's tracking domain is a 400.
  r = call("POST", "/sending-domains",
           R"({"domain": "customer.com", "tracking_domain": "click.primary.com"})", sub_key);
  EXPECT_EQ(r.status, 400);
  r = call("POST", "/sending-domains",
           R"({"domain": "primary.com", "tracking_domain": "click.customer.com"})");
  EXPECT_EQ(r.status, 400) << "the primary account cannot link to a subaccount's domain either";
  // The primary key scoped by header sees the subaccount's only; filters.
  r = call("GET", "/tracking-domains", "", "", std::to_string(id));
  ASSERT_EQ(r.body.at("results").as_array().size(), 1u);
  r = call("GET", "/tracking-domains?subaccounts=" + std::to_string(id));
  ASSERT_EQ(r.body.at("results").as_array().size(), 1u);
  EXPECT_EQ(call("GET", "/tracking-domains", "", "", "99").status, 400);
  // Keys: a subaccount key lists only its own.
  r = call("GET", "/api-keys", "", sub_key);
  ASSERT_EQ(r.body.at("results").as_array().size(), 1u);
  EXPECT_EQ(call("POST", "/api-keys", R"({"subaccount_id": 0})", sub_key).status, 403);
}

TEST_F(Api, KeysCreateListRevoke) {
  auto r = call("POST", "/api-keys", R"({"label": "dashboard"})");
  ASSERT_EQ(r.status, 200);
  const std::string key = s(r.body.at("results").at("key"));
  const std::int64_t id = r.body.at("results").at("id").as_int64();
  EXPECT_EQ(call("GET", "/tracking-domains", "", key).status, 200);
  r = call("GET", "/api-keys");
  ASSERT_EQ(r.body.at("results").as_array().size(), 2u);
  EXPECT_FALSE(r.body.at("results").at(1).as_object().contains("key")) << "never listed";
  EXPECT_EQ(call("DELETE", "/api-keys/" + std::to_string(id)).status, 204);
  EXPECT_EQ(call("GET", "/tracking-domains", "", key).status, 401);
}

TEST_F(Api, EventsArePagedWithACursor) {
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  for (int i = 0; i < 5; ++i) {
    store::Event e;
    e.type = i % 2 == 0 ? "click" : "open";
    e.timestamp_ms = now - 1000 + i;
    e.tracking_domain = "click.example.com";
    e.campaign_id = "c" + std::to_string(i % 2);
    ASSERT_TRUE(events_->append_and_wait(e).ok());
  }
  auto r = call("GET", "/events/message?per_page=2&events=click,open");
  ASSERT_EQ(r.status, 200) << error_text(r);
  EXPECT_EQ(r.body.at("results").as_array().size(), 2u);
  std::string next = s(r.body.at("links").at("next"));
  int total = 2;
  while (!next.empty()) {
    r = call("GET", next.substr(7));  // without "/api/v1"
    ASSERT_EQ(r.status, 200);
    total += static_cast<int>(r.body.at("results").as_array().size());
    const auto& links = r.body.at("links").as_object();
    next = links.contains("next") ? s(links.at("next")) : "";
  }
  EXPECT_EQ(total, 5);
  r = call("GET", "/events/message?events=click");
  EXPECT_EQ(r.body.at("results").as_array().size(), 3u);
  EXPECT_EQ(call("GET", "/events/message?events=bounce").status, 422);
  EXPECT_EQ(call("GET", "/events/message?from=yesterday").status, 422);
  // A subaccount sees the events of its own tracking domains only.
  auto sub = call("POST", "/subaccounts", R"({"name": "S", "setup_api_key": true})");
  r = call("GET", "/events/message", "", s(sub.body.at("results").at("key")));
  EXPECT_EQ(r.body.at("results").as_array().size(), 0u);
}

// A database that is away or did not answer in time is worth a retry (503);
// any other store failure is a 500. Both in SparkPost's error shape.
TEST(StoreFailed, UnavailableIs503OtherFailuresAre500) {
  const ApiResponse away =
      internal::store_failed(Error{"no answer within 10000 ms", Errc::kUnavailable});
  EXPECT_EQ(away.status, 503);
  auto body = json::parse(away.body);
  EXPECT_EQ(s(body.at("errors").at(0).at("message")), "store unavailable");
  EXPECT_EQ(s(body.at("errors").at(0).at("description")),
            "the store failed: no answer within 10000 ms");
  EXPECT_EQ(s(body.at("errors").at(0).at("code")), "1500");
  const ApiResponse broken = internal::store_failed(Error{"disk I/O error", Errc::kFailed});
  EXPECT_EQ(broken.status, 500);
  EXPECT_EQ(s(json::parse(broken.body).at("errors").at(0).at("message")), "internal error");
}

}  // namespace
}  // namespace trackrelay::api::testing
