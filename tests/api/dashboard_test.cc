// tests/api/dashboard_test.cc — the dashboard's sign-in and sessions
// (api/dashboard_sessions.h, api/dashboard.h) through a Router wired as `serve` wires
// it, and GET /events/summary (api/engagement.cc, store/event_summary.h).
// The page itself is tested in real Chromium by tests/dashboard/.
#include "api/dashboard.h"

#include <chrono>
#include <vector>

#include "api/dashboard_sessions.h"
#include "api_test_util.h"
#include "base/crypto.h"
#include "base/encoding.h"

namespace trackrelay::api::testing {
namespace {

using std::chrono::seconds;
using std::chrono::steady_clock;

std::string hash_of(std::string_view password) {
  const std::string salt = "0123456789abcdef";
  return "pbkdf2-sha256$1000$" + base64_encode(salt) + "$" +
         base64_encode(make_password_hash(password, salt, 1000));
}

std::string header(const ApiResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

TEST(Sessions, IdleTimeoutCloseAndThrottle) {
  steady_clock::time_point now{};
  Sessions s([&] { return now; });
  auto a = s.open({false, "key", ""});
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->id.size(), 64u);
  EXPECT_NE(a->id, a->csrf);
  ASSERT_TRUE(s.find(a->id, seconds(60)).has_value());
  EXPECT_EQ(s.find(a->id, seconds(60))->csrf, a->csrf);
  now += seconds(50);
  EXPECT_TRUE(s.find(a->id, seconds(60)).has_value()) << "use refreshes the session";
  now += seconds(61);
  EXPECT_FALSE(s.find(a->id, seconds(60)).has_value()) << "idle too long";
  auto b = s.open({true, "", "h"});
  s.close(b->id);
  EXPECT_FALSE(s.find(b->id, seconds(60)).has_value());
  EXPECT_FALSE(s.find("short", seconds(60)).has_value());
  for (int i = 0; i < Sessions::kMaxFailuresPerMinute; ++i) {
    EXPECT_TRUE(s.may_try("192.0.2.1"));
    s.failed("192.0.2.1");
  }
  EXPECT_FALSE(s.may_try("192.0.2.1"));
  EXPECT_TRUE(s.may_try("192.0.2.2")) << "per client, not for everyone";
  now += seconds(61);
  EXPECT_TRUE(s.may_try("192.0.2.1"));
}

TEST(Sessions, ThrottleKeys) {
  EXPECT_EQ(client_of("192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(client_of("::ffff:192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(client_of("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  EXPECT_EQ(client_of("2001:db8:1:2::9"), client_of("2001:db8:1:2:ffff::1"));
  EXPECT_NE(client_of("2001:db8:1:2::9"), client_of("2001:db8:1:3::9"));
}

TEST(Sessions, OneAccountCannotEvictAnothersSessions) {
  Sessions s;
  auto admin = s.open({true, "", "h", 0});
  auto other = s.open({false, "k2", "", 2});
  ASSERT_TRUE(admin && other);
  std::vector<Sessions::Opened> mine;
  for (std::size_t i = 0; i < Sessions::kMaxSessionsPerAccount + 50; ++i) {
    auto o = s.open({false, "k1", "", 1});
    ASSERT_TRUE(o.has_value());
    mine.push_back(*o);
  }
  EXPECT_TRUE(s.find(admin->id, seconds(60)).has_value()) << "admin session evicted";
  EXPECT_TRUE(s.find(other->id, seconds(60)).has_value()) << "account 2's session evicted";
  EXPECT_TRUE(s.find(mine.back().id, seconds(60)).has_value());
  EXPECT_FALSE(s.find(mine.front().id, seconds(60)).has_value()) << "its own oldest went";
  // The whole table full: the account holding the most gives way.
  for (std::int64_t account = 10; account < 10 + 100; ++account) {
    for (std::size_t i = 0; i < Sessions::kMaxSessionsPerAccount - 1; ++i) {
      ASSERT_TRUE(s.open({false, "k", "", account}).has_value());
    }
  }
  EXPECT_TRUE(s.find(admin->id, seconds(60)).has_value()) << "admin session evicted";
  EXPECT_TRUE(s.find(other->id, seconds(60)).has_value()) << "account 2's session evicted";
}

TEST(Sessions, CookieValue) {
  EXPECT_EQ(cookie_value("a=1; trackrelay_session=abc; b=2", "trackrelay_session"), "abc");
  EXPECT_EQ(cookie_value("trackrelay_session=\"q\"", "trackrelay_session"), "q");
  EXPECT_EQ(cookie_value("xtrackrelay_session=abc", "trackrelay_session"), "");
  EXPECT_EQ(cookie_value("", "trackrelay_session"), "");
}

class Dash : public Api {
 protected:
  void SetUp() override {
    Api::SetUp();
    use_config(std::string(kBaseConfig) + "dashboard: {admin_password_hash: '" + hash_of("pw") +
               "', session_timeout: 60}\n");
    Dashboard::Options d;
    d.domains = domains_.get();
    d.file_config = [this] { return file_; };
    dash_ = std::make_unique<Dashboard>(std::move(d));
    RouterOptions ro;
    ro.domains = domains_.get();
    ro.events = events_.get();
    ro.file_config = [this] { return file_; };
    ro.site = [this](const ApiRequest& r) { return dash_->handle(r); };
    ro.session = [this](const ApiRequest& r) { return dash_->authenticate(r); };
    site_ = std::make_unique<Router>(std::move(ro));
  }

  // As the dashboard's page sends it: from its own origin, from one client.
  ApiResponse send(std::string method, std::string target, std::string body = "",
                   std::string cookie = "", std::string csrf = "",
                   std::string origin = "http://dash.example:8080", std::string peer = kPeer) {
    ApiRequest r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.body = std::move(body);
    r.cookie = std::move(cookie);
    r.csrf_token = std::move(csrf);
    r.content_type = "application/json";
    r.host = "dash.example:8080";
    r.origin = std::move(origin);
    r.peer = std::move(peer);
    return site_->handle(r);
  }
  static constexpr const char* kPeer = "192.0.2.1";

  // Signs in; returns {cookie header, csrf token}.
  std::pair<std::string, std::string> sign_in(const std::string& body) {
    ApiResponse r = send("POST", "/session", body);
    EXPECT_EQ(r.status, 200) << r.body;
    const std::string set = header(r, "Set-Cookie");
    EXPECT_NE(set.find("HttpOnly"), std::string::npos) << set;
    EXPECT_NE(set.find("SameSite=Strict"), std::string::npos) << set;
    const std::string cookie = set.substr(0, set.find(';'));
    auto v = json::parse(r.body);
    return {cookie, std::string(v.at("results").at("csrf_token").as_string())};
  }

  std::unique_ptr<Dashboard> dash_;
  std::unique_ptr<Router> site_;
};

TEST_F(Dash, PageAndAssetsCarryTheSecurityHeaders) {
  ApiResponse r = send("GET", "/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_NE(header(r, "Content-Security-Policy").find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(header(r, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(r.body.find("<script>"), std::string::npos) << "no inline script";
  EXPECT_EQ(send("GET", "/assets/js/app.js").content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(send("GET", "/assets/nope.js").status, 404);
  EXPECT_EQ(send("GET", "/assets/../index.html").status, 404);
  EXPECT_EQ(send("POST", "/").status, 405);
}

TEST_F(Dash, KeySessionActsAsItsKeyWithCsrfOnChanges) {
  EXPECT_EQ(send("POST", "/session", R"({"api_key":"nope"})").status, 401);
  EXPECT_EQ(send("POST", "/session", R"({})").status, 422);
  auto [cookie, csrf] = sign_in(R"({"api_key":")" + key_ + R"("})");
  EXPECT_EQ(send("GET", "/api/v1/tracking-domains", "", cookie).status, 200);
  const std::string body = R"({"domain":"click.example.com"})";
  ApiResponse r = send("POST", "/api/v1/tracking-domains", body, cookie);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(send("POST", "/api/v1/tracking-domains", body, cookie, "wrong").status, 403);
  EXPECT_EQ(send("POST", "/api/v1/tracking-domains", body, cookie, csrf).status, 200);
  // Revoking the key ends its sessions.
  auto keys = domains_->api_keys();
  ASSERT_TRUE(keys.ok());
  ASSERT_TRUE(domains_->revoke_api_key(keys->front().id).ok());
  EXPECT_EQ(send("GET", "/api/v1/tracking-domains", "", cookie).status, 401);
}

TEST_F(Dash, SignOutEndsTheSession) {
  auto [cookie, csrf] = sign_in(R"({"api_key":")" + key_ + R"("})");
  EXPECT_EQ(send("DELETE", "/session", "", cookie).status, 403) << "sign-out needs the token";
  ApiResponse r = send("DELETE", "/session", "", cookie, csrf);
  EXPECT_EQ(r.status, 204);
  EXPECT_NE(header(r, "Set-Cookie").find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(send("GET", "/api/v1/tracking-domains", "", cookie).status, 401);
  auto who = json::parse(send("GET", "/session", "", cookie).body);
  EXPECT_FALSE(who.at("results").at("signed_in").as_bool());
}

TEST_F(Dash, AdminPasswordIsThePrimaryAccountUntilTheHashChanges) {
  EXPECT_EQ(send("POST", "/session", R"({"password":"wrong"})").status, 401);
  auto [cookie, csrf] = sign_in(R"({"password":"pw"})");
  EXPECT_EQ(send("POST", "/api/v1/subaccounts", R"({"name":"s"})", cookie, csrf).status, 200);
  use_config(std::string(kBaseConfig) + "dashboard: {admin_password_hash: '" + hash_of("new") +
             "'}\n");
  EXPECT_EQ(send("GET", "/api/v1/tracking-domains", "", cookie).status, 401);
}

TEST_F(Dash, FailedSignInsAreThrottledPerClientAddress) {
  for (int i = 0; i < Sessions::kMaxFailuresPerMinute; ++i) {
    EXPECT_EQ(send("POST", "/session", R"({"password":"wrong"})").status, 401);
  }
  ApiResponse r = send("POST", "/session", R"({"password":"pw"})");
  EXPECT_EQ(r.status, 429);
  EXPECT_NE(r.body.find("too many failed sign-ins"), std::string::npos) << r.body;
  // Another client is not locked out by the first one's guessing.
  const std::string origin = "http://dash.example:8080";
  EXPECT_EQ(send("POST", "/session", R"({"password":"pw"})", "", "", origin, "198.51.100.7").status,
            200);
  EXPECT_EQ(send("POST", "/session", R"({"password":"pw"})", "", "", origin, "2001:db8::1").status,
            200);
}

TEST_F(Dash, CookieChangesNeedTheDashboardsOrigin) {
  auto [cookie, csrf] = sign_in(R"({"api_key":")" + key_ + R"("})");
  const std::string body = R"({"domain":"click.example.com"})";
  for (const char* origin :
       {"http://evil.example", "http://dash.example:8081", "null",
        "https://dash.example:8080.evil.example", "http://dash.example:8080/x", "file://", ""}) {
    ApiResponse r = send("POST", "/api/v1/tracking-domains", body, cookie, csrf, origin);
    EXPECT_EQ(r.status, 403) << "Origin: " << origin;
    EXPECT_NE(r.body.find("own origin"), std::string::npos) << r.body;
  }
  // Reads need no Origin; nor does an API client with its key.
  EXPECT_EQ(send("GET", "/api/v1/tracking-domains", "", cookie, "", "http://evil.example").status,
            200);
  ApiRequest api;
  api.method = "POST";
  api.target = "/api/v1/tracking-domains";
  api.body = body;
  api.authorization = key_;
  api.content_type = "application/json";
  EXPECT_EQ(site_->handle(api).status, 200);
  // The same origin in either scheme (a TLS proxy in front), any case; or,
  // without Origin, the Referer's origin.
  const std::string b2 = R"({"domain":"c2.example.com"})";
  EXPECT_EQ(send("POST", "/api/v1/tracking-domains", b2, cookie, csrf, "HTTPS://Dash.Example:8080")
                .status,
            200);
  ApiRequest ref;
  ref.method = "POST";
  ref.target = "/api/v1/tracking-domains";
  ref.body = R"({"domain":"c3.example.com"})";
  ref.cookie = cookie;
  ref.csrf_token = csrf;
  ref.content_type = "application/json";
  ref.host = "dash.example:8080";
  ref.referer = "http://dash.example:8080/#/domains";
  EXPECT_EQ(site_->handle(ref).status, 200);
  ref.referer = "http://evil.example/#/domains";
  EXPECT_EQ(site_->handle(ref).status, 403);
  // Sign-out and sign-in from another site are refused too.
  EXPECT_EQ(send("DELETE", "/session", "", cookie, csrf, "http://evil.example").status, 403);
  EXPECT_EQ(send("POST", "/session", R"({"password":"pw"})", "", "", "http://evil.example").status,
            403);
  EXPECT_EQ(send("GET", "/api/v1/tracking-domains", "", cookie).status, 200) << "still signed in";
}

TEST_F(Dash, SignInMustBeJson) {
  ApiRequest r;
  r.method = "POST";
  r.target = "/session";
  r.body = "api_key=x";
  r.content_type = "application/x-www-form-urlencoded";
  EXPECT_EQ(site_->handle(r).status, 415);
}

TEST_F(Dash, TurnedOff) {
  use_config(std::string(kBaseConfig) + "dashboard: {enabled: false}\n");
  EXPECT_EQ(send("GET", "/").status, 404);
  EXPECT_EQ(send("GET", "/api/v1/tracking-domains", "", "trackrelay_session=x").status, 401);
}

TEST_F(Api, EventsSummaryCountsBucketsLinksAndDomains) {
  const std::int64_t t0 = 1714564800000;  // 2024-05-01T12:00:00Z
  auto add = [&](std::string type, std::int64_t ms, std::string domain, std::string url,
                 std::string name, std::string campaign) {
    store::Event e;
    e.type = std::move(type);
    e.timestamp_ms = ms;
    e.tracking_domain = std::move(domain);
    e.target_link_url = std::move(url);
    e.target_link_name = std::move(name);
    e.campaign_id = std::move(campaign);
    ASSERT_TRUE(events_->append_and_wait(e).ok());
  };
  add("click", t0 + 10, "click.example.com", "https://a.example/", "a", "spring");
  add("click", t0 + 3600000 + 5, "click.example.com", "https://a.example/", "a", "spring");
  add("click", t0 + 3600000 + 6, "links.example.org", "https://b.example/", "", "");
  add("open", t0 + 7200000, "click.example.com", "", "", "spring");
  add("open", t0 - 1, "click.example.com", "", "", "spring");  // before the range
  Reply r = call("GET",
                 "/events/summary?from=2024-05-01T12:00:00Z&to=2024-05-01T15:00:00Z"
                 "&bucket=hour");
  ASSERT_EQ(r.status, 200) << error_text(r);
  const auto& res = r.body.at("results");
  EXPECT_EQ(res.at("totals").at("click").as_int64(), 3);
  EXPECT_EQ(res.at("totals").at("open").as_int64(), 1);
  const auto& tl = res.at("timeline").as_array();
  ASSERT_EQ(tl.size(), 3u);
  EXPECT_EQ(tl[0].at("click").as_int64(), 1);
  EXPECT_EQ(tl[1].at("click").as_int64(), 2);
  EXPECT_EQ(tl[2].at("open").as_int64(), 1);
  EXPECT_EQ(tl[1].at("time").as_string(), "2024-05-01T13:00:00.000Z");
  const auto& links = res.at("top_links").as_array();
  ASSERT_EQ(links.size(), 2u);
  EXPECT_EQ(links[0].at("target_link_name").as_string(), "a");
  EXPECT_EQ(links[0].at("clicks").as_int64(), 2);
  EXPECT_EQ(res.at("tracking_domains").at(0).at("tracking_domain").as_string(),
            "click.example.com");
  EXPECT_EQ(res.at("campaigns").at(0).at("campaign_id").as_string(), "spring");

  r = call("GET",
           "/events/summary?from=2024-05-01T12:00:00Z&to=2024-05-01T15:00:00Z"
           "&events=open&tracking_domains=click.example.com");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body.at("results").at("totals").at("click").as_int64(), 0);
  EXPECT_EQ(r.body.at("results").at("bucket").as_string(), "minute");
  EXPECT_EQ(r.body.at("results").at("top_links").as_array().size(), 0u);

  EXPECT_EQ(call("GET", "/events/summary?bucket=week").status, 422);
  EXPECT_EQ(call("GET", "/events/summary?from=2020-01-01T00:00:00Z&bucket=minute").status, 422);
  EXPECT_EQ(call("GET", "/events/summary?events=bounce").status, 422);
  // A parameter the summary does not take (a misspelt filter) is refused,
  // never ignored: ignoring it would widen the counts silently.
  r = call("GET", "/events/summary?recipients=a@example.com");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.at("errors").at(0).at("description").as_string().find("'recipients'"),
            std::string::npos);
  EXPECT_EQ(call("GET", "/events/summary?top=5&classifications=human").status, 200);

  // A subaccount key sees the events of its own tracking domains only.
  auto sub = domains_->add_subaccount("s", "active");
  ASSERT_TRUE(sub.ok());
  auto key = domains_->create_api_key("s", sub->id);
  ASSERT_TRUE(key.ok());
  r = call("GET", "/events/summary?from=2024-05-01T12:00:00Z&to=2024-05-01T15:00:00Z", "",
           key->key);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body.at("results").at("totals").at("click").as_int64(), 0);
}

}  // namespace
}  // namespace trackrelay::api::testing
