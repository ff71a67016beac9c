// tests/track/handler_test.cc — what each tracking request gets, without
// sockets: routes, hosts, verification, redirect-target rules, expiry,
// events, client addresses behind trusted proxies, and /healthz.
#include "track/handler.h"

#include <gtest/gtest.h>

#include "conf/config.h"
#include "token/token.h"

// Call{.target = ...} leaves the other fields at their defaults on purpose.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace trackrelay::track {
namespace {

constexpr std::string_view kSecret = "handler-test-secret-0123456789abcdefghijklmn";

std::shared_ptr<const Prepared> prepared(const std::string& track_yaml = "") {
  const std::string yaml = std::string(
                               "tracking:\n"
                               "  system_domain: track.example.net\n"
                               "  keys: [{id: k1, secret: \"") +
                           std::string(kSecret) +
                           "\"}]\n"
                           "  tracking_domains:\n"
                           "    - {domain: click.example.com, default: true}\n"
                           "    - {domain: links.example.org}\n" +
                           track_yaml;
  auto r = conf::load_string(yaml, "<test>");
  for (const auto& d : r.diagnostics) ADD_FAILURE() << d.str();
  EXPECT_TRUE(r.ok());
  auto p = prepare(r.config);
  EXPECT_TRUE(p.ok());
  return *p;
}

std::chrono::system_clock::time_point at(std::int64_t unix_s) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(unix_s));
}
constexpr std::int64_t kIssued = 1714564800;

std::string mint(token::Kind kind, std::string target, std::string domain = "click.example.com",
                 std::string_view secret = kSecret) {
  token::Claims c;
  c.kind = kind;
  c.target = std::move(target);
  c.link_name = "cta";
  c.tracking_domain = std::move(domain);
  c.message_id = "m1@example.com";
  c.rcpt_to = "alice@example.net";
  c.campaign_id = "spring";
  c.sending_domain = "example.com";
  c.issued_at = kIssued;
  return token::encode(c, token::Key{"k1", std::string(secret)});
}

struct Call {
  std::string method = "GET";
  std::string target;
  std::string host = "click.example.com";
  std::string peer = "198.51.100.9";
  std::string xff;
};

Reply call(const Prepared& p, const Call& c, std::int64_t now = kIssued + 60,
           store::Health health = {}) {
  Request r{c.method, c.target, c.host, "UA/1.0", c.xff, boost::asio::ip::make_address(c.peer)};
  return handle(p, r, at(now), health);
}

TEST(Handler, ClickRedirectsToTheExactTargetAndMakesAnEvent) {
  auto p = prepared();
  const std::string target = "https://example.com/a?x=1&y=%20[z](w)@q";
  const Reply r = call(*p, {.target = "/f/" + mint(token::Kind::kClick, target)});
  ASSERT_EQ(r.status, 302) << r.why;
  EXPECT_EQ(r.location, target);
  EXPECT_TRUE(r.body.empty());
  EXPECT_TRUE(r.no_store);
  EXPECT_TRUE(r.redirect_headers);
  ASSERT_TRUE(r.event);
  EXPECT_EQ(r.event->type, "click");
  EXPECT_EQ(r.event->timestamp_ms, (kIssued + 60) * 1000);
  EXPECT_EQ(r.event->tracking_domain, "click.example.com");
  EXPECT_EQ(r.event->target_link_url, target);
  EXPECT_EQ(r.event->target_link_name, "cta");
  EXPECT_EQ(r.event->message_id, "m1@example.com");
  EXPECT_EQ(r.event->rcpt_to, "alice@example.net");
  EXPECT_EQ(r.event->campaign_id, "spring");
  EXPECT_EQ(r.event->sending_domain, "example.com");
  EXPECT_EQ(r.event->user_agent, "UA/1.0");
  EXPECT_EQ(r.event->ip_address, "198.51.100.9");
  EXPECT_EQ(r.event->method, "GET");
}

TEST(Handler, HostMayCarryAPortAndAnyCase) {
  auto p = prepared();
  const std::string tok = mint(token::Kind::kClick, "http://example.com/");
  EXPECT_EQ(call(*p, {.target = "/f/" + tok, .host = "CLICK.Example.com:8080"}).status, 302);
}

TEST(Handler, HeadIsServedAndRecordedAsHead) {
  auto p = prepared();
  const Reply r =
      call(*p, {.method = "HEAD", .target = "/f/" + mint(token::Kind::kClick, "https://e.com/")});
  ASSERT_EQ(r.status, 302);
  ASSERT_TRUE(r.event);
  EXPECT_EQ(r.event->method, "HEAD");
}

TEST(Handler, PixelsServeTheGif) {
  auto p = prepared();
  for (auto kind : {token::Kind::kOpen, token::Kind::kInitialOpen}) {
    const Reply r = call(*p, {.target = "/q/" + mint(kind, "")});
    ASSERT_EQ(r.status, 200) << r.why;
    EXPECT_EQ(r.content_type, "image/gif");
    EXPECT_EQ(r.body, pixel_gif());
    EXPECT_TRUE(r.no_store);
    ASSERT_TRUE(r.event);
    EXPECT_EQ(r.event->type, token::kind_name(kind));
    EXPECT_TRUE(r.event->target_link_url.empty());
  }
  ASSERT_EQ(pixel_gif().size(), 43u);
  EXPECT_TRUE(pixel_gif().starts_with("GIF89a"));
}

TEST(Handler, KindMustMatchThePath) {
  auto p = prepared();
  EXPECT_EQ(call(*p, {.target = "/q/" + mint(token::Kind::kClick, "https://e.com/")}).status, 404);
  EXPECT_EQ(call(*p, {.target = "/f/" + mint(token::Kind::kOpen, "")}).status, 404);
}

TEST(Handler, ForgedAlteredTruncatedWrongKeyAndWrongHostNeverRedirect) {
  auto p = prepared();
  const std::string good = mint(token::Kind::kClick, "https://example.com/");
  ASSERT_EQ(call(*p, {.target = "/f/" + good}).status, 302);
  // Every single-character change and every truncation.
  const std::string alphabet = "AZaz09-_";
  for (std::size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    const Reply r = call(*p, {.target = "/f/" + bad});
    EXPECT_EQ(r.status, 404) << "flip at " << i;
    EXPECT_FALSE(r.event);
    EXPECT_EQ(call(*p, {.target = "/f/" + good.substr(0, i)}).status, 404) << "cut at " << i;
  }
  EXPECT_EQ(
      call(*p, {.target = "/f/" + mint(token::Kind::kClick, "https://e.com/", "click.example.com",
                                       "another-secret-0123456789abcdefghijklmnopq")})
          .status,
      404);
  // Issued for links.example.org, presented on click.example.com (both are ours).
  const std::string other = mint(token::Kind::kClick, "https://e.com/", "links.example.org");
  EXPECT_EQ(call(*p, {.target = "/f/" + other, .host = "links.example.org"}).status, 302);
  EXPECT_EQ(call(*p, {.target = "/f/" + other}).status, 404);
  // A host that is not a tracking domain at all.
  const std::string evil = mint(token::Kind::kClick, "https://e.com/", "evil.example.com");
  EXPECT_EQ(call(*p, {.target = "/f/" + evil, .host = "evil.example.com"}).status, 404);
  EXPECT_EQ(call(*p, {.target = "/f/" + good, .host = ""}).status, 404);
}

TEST(Handler, UnsafeTargetsAreNeverRedirectedTo) {
  auto p = prepared();
  for (const std::string& target : std::vector<std::string>{
           "javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html,x", "ftp://e.com/",
           "https://e.com/\r\nSet-Cookie: a=b", "https://e.com/\nx", "https://e.com/ a",
           "https://e.com/\ta", std::string("https://e.com/\0a", 16), "https://e.com/\x7f",
           "https://", "//e.com/", "mailto:a@b.c", ""}) {
    const Reply r = call(*p, {.target = "/f/" + mint(token::Kind::kClick, target)});
    EXPECT_EQ(r.status, 404) << target;
    EXPECT_TRUE(r.location.empty());
    EXPECT_FALSE(r.event);
  }
  EXPECT_EQ(call(*p, {.target = "/f/" + mint(token::Kind::kClick, "HTTPS://E.COM/")}).status, 302);
}

TEST(Handler, OtherPathsMethodsAndHealth) {
  auto p = prepared();
  const std::string tok = mint(token::Kind::kClick, "https://e.com/");
  EXPECT_EQ(call(*p, {.method = "POST", .target = "/f/" + tok}).status, 404);
  EXPECT_EQ(call(*p, {.target = "/"}).status, 404);
  EXPECT_EQ(call(*p, {.target = "/f/"}).status, 404);
  EXPECT_EQ(call(*p, {.target = "/f/" + tok + "/x"}).status, 404);
  EXPECT_EQ(call(*p, {.target = "/x/" + tok}).status, 404);
  const Reply nf = call(*p, {.target = "/nope"});
  EXPECT_EQ(nf.content_type, "text/plain; charset=utf-8");
  EXPECT_FALSE(nf.body.empty());
  EXPECT_LT(nf.body.size(), 64u);
  // A query string is not part of the token.
  EXPECT_EQ(call(*p, {.target = "/f/" + tok + "?utm=1"}).status, 302);

  EXPECT_EQ(call(*p, {.target = "/healthz", .host = "anything"}).status, 200);
  store::Health bad{false, "commit failed: database or disk is full", 1};
  const Reply h = call(*p, {.target = "/healthz"}, kIssued, bad);
  EXPECT_EQ(h.status, 503);
  EXPECT_NE(h.body.find("event store"), std::string_view::npos);
}

TEST(Handler, ExpiryPolicy) {
  const std::string tok = mint(token::Kind::kClick, "https://e.com/");
  auto never = prepared();
  EXPECT_EQ(call(*never, {.target = "/f/" + tok}, kIssued + 100LL * 365 * 86400).status, 302);
  auto week = prepared("track:\n  link_max_age_days: 7\n");
  EXPECT_EQ(call(*week, {.target = "/f/" + tok}, kIssued + 7 * 86400).status, 302);
  EXPECT_EQ(call(*week, {.target = "/f/" + tok}, kIssued + 7 * 86400 + 1).status, 404);
}

TEST(Handler, ForwardedForOnlyFromTrustedProxies) {
  auto p = prepared("track:\n  trusted_proxies: [127.0.0.1/32, 10.0.0.0/8]\n");
  const std::string t = "/f/" + mint(token::Kind::kClick, "https://e.com/");
  auto ip = [&](std::string peer, std::string xff) {
    return call(*p, {.target = t, .peer = peer, .xff = xff}).event->ip_address;
  };
  EXPECT_EQ(ip("198.51.100.9", "203.0.113.5"), "198.51.100.9");  // untrusted peer
  EXPECT_EQ(ip("127.0.0.1", "203.0.113.5"), "203.0.113.5");
  EXPECT_EQ(ip("::ffff:127.0.0.1", "203.0.113.5"), "203.0.113.5");
  // The client can forge the left part; the right-most untrusted entry counts.
  EXPECT_EQ(ip("127.0.0.1", "1.1.1.1, 203.0.113.5, 10.1.2.3"), "203.0.113.5");
  EXPECT_EQ(ip("127.0.0.1", "2001:db8::1"), "2001:db8::1");
  EXPECT_EQ(ip("127.0.0.1", "garbage"), "127.0.0.1");
  EXPECT_EQ(ip("127.0.0.1", ""), "127.0.0.1");
}

TEST(Handler, BadTrustedProxyIsAnError) {
  auto r = conf::load_string(
      "tracking:\n  system_domain: track.example.net\n  keys: [{id: k1, secret: \"" +
          std::string(kSecret) + "\"}]\ntrack:\n  trusted_proxies: [10.0.0.0/33]\n",
      "<test>");
  // Refused where every configuration is checked (conf/), so `check` refuses
  // it too and prepare() never sees it.
  ASSERT_FALSE(r.ok());
  ASSERT_FALSE(r.diagnostics.empty());
  const std::string d = r.diagnostics.front().str();
  EXPECT_NE(d.find("<test>:5:"), std::string::npos) << d;
  EXPECT_NE(d.find("track.trusted_proxies: '10.0.0.0/33'"), std::string::npos) << d;
}

TEST(Net, RedirectableAndHosts) {
  EXPECT_TRUE(is_redirectable("https://example.com/ä"));
  EXPECT_FALSE(is_redirectable("https:/example.com"));
  EXPECT_EQ(host_without_port("a.example:80"), "a.example");
  EXPECT_EQ(host_without_port("[::1]:80"), "::1");
  EXPECT_EQ(host_without_port("a.example"), "a.example");
}

}  // namespace
}  // namespace trackrelay::track
