// Which links are tracked, and the exact target a click is redirected to.
#include "rewrite/target.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace trackrelay::rewrite {
namespace {

class Target : public ::testing::Test {
 protected:
  std::shared_ptr<const conf::Config> config_ = testing::test_config();
  std::string ok(std::string_view href, bool utf8 = true) {
    auto r = browser_target(href, utf8, *config_);
    EXPECT_TRUE(r.ok()) << href << ": " << (r.ok() ? "" : r.error());
    return r.ok() ? *r : std::string{};
  }
  std::string why_not(std::string_view href, bool utf8 = true) {
    auto r = browser_target(href, utf8, *config_);
    EXPECT_FALSE(r.ok()) << href << " was tracked as " << (r.ok() ? *r : "");
    return r.ok() ? std::string{} : r.error();
  }
};

TEST_F(Target, HttpAndHttpsAnyCase) {
  EXPECT_EQ(ok("http://a.example/"), "http://a.example/");
  EXPECT_EQ(ok("https://a.example/x?y=1#z"), "https://a.example/x?y=1#z");
  EXPECT_EQ(ok("HTTPS://A.example/Path"), "HTTPS://A.example/Path");
}

TEST_F(Target, WhatwgInputCleanup) {
  EXPECT_EQ(ok("  \x01https://a.example/\x1f "), "https://a.example/");
  EXPECT_EQ(ok("https://a.exa\tmple/p\na\rth"), "https://a.example/path");
}

TEST_F(Target, BrowserPercentEncoding) {
  EXPECT_EQ(ok("https://a.example/a b\"<>`"), "https://a.example/a%20b%22%3C%3E%60");
  EXPECT_EQ(ok("https://a.example/caf\xC3\xA9?q=\xE2\x82\xAC"),
            "https://a.example/caf%C3%A9?q=%E2%82%AC");
  EXPECT_EQ(ok("https://b\xC3\xBC"
               "cher.example/x"),
            "https://xn--bcher-kva.example/x");
}

TEST_F(Target, KeepsUserinfoPortAndIpLiterals) {
  EXPECT_EQ(ok("https://user:pw@a.example:8443/x"), "https://user:pw@a.example:8443/x");
  EXPECT_EQ(ok("http://[2001:db8::1]:8080/"), "http://[2001:db8::1]:8080/");
  EXPECT_EQ(ok("http://192.0.2.1/x"), "http://192.0.2.1/x");
  EXPECT_EQ(ok("https://a.example/wiki/Foo_(bar)[1]@x"), "https://a.example/wiki/Foo_(bar)[1]@x");
}

TEST_F(Target, OtherSchemesAreNotTracked) {
  for (const char* href : {"mailto:a@example.com", "tel:+15551234", "sms:+1555", "cid:part1",
                           "data:text/html,hi", "javascript:alert(1)", "ftp://a.example/",
                           "/relative/path", "relative.html", "//a.example/x", "#top"}) {
    why_not(href);
  }
  EXPECT_EQ(why_not("#top"), "anchor");
  EXPECT_EQ(why_not(""), "empty link");
}

TEST_F(Target, TemplatePlaceholdersAreNotTracked) {
  EXPECT_EQ(why_not("{{unsubscribe_url}}"), "template placeholder");
  EXPECT_EQ(why_not("*|ARCHIVE|*"), "template placeholder");
  EXPECT_EQ(why_not("<%= url %>"), "template placeholder");
  why_not("https://{{host}}/x");
  EXPECT_EQ(why_not("https://x.example/u/{{id}}"), "template placeholder");
  EXPECT_EQ(why_not("https://x.example/?e=*|EMAIL|*"), "template placeholder");
  EXPECT_EQ(why_not("https://x.example/<%= id %>"), "template placeholder");
  why_not("https://*|DOMAIN|*/x");
  why_not("https:///nohost");
  why_not("https://a.example:80x/");
}

TEST_F(Target, AlreadyTrackedLinksAreNotTrackedAgain) {
  EXPECT_EQ(why_not("https://click.example.com/f/AAAA"), "already tracked");
  EXPECT_EQ(why_not("http://LINKS.example.org/q/AAAA"), "already tracked");
  EXPECT_EQ(why_not("http://track.example.net/f/AAAA"), "already tracked");
  EXPECT_EQ(ok("https://click.example.com/other"), "https://click.example.com/other");
  EXPECT_TRUE(is_tracked_url("https://click.example.com:443/f/x", *config_));
  EXPECT_FALSE(is_tracked_url("https://evil.example/f/x", *config_));
}

TEST_F(Target, NonAsciiOutsideUtf8PartsIsNotTracked) {
  EXPECT_EQ(why_not("https://a.example/caf\xE9", false),
            "non-ASCII URL in a part that is not UTF-8");
  EXPECT_EQ(why_not("https://a.example/caf\xE9", true), "URL is not valid UTF-8");
  EXPECT_EQ(ok("https://a.example/plain", false), "https://a.example/plain");
}

}  // namespace
}  // namespace trackrelay::rewrite
