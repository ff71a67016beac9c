// Tests for rewrite/part_rewriter.h helpers that the engine tests reach only
// indirectly: has_tracking_pixel (one pass over the body for "/q/").
#include "rewrite/part_rewriter.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace trackrelay::rewrite {
namespace {

TEST(HasTrackingPixel, FindsAPixelOfEveryConfiguredHostOnly) {
  auto config = testing::config_from(R"(
tracking:
  system_domain: track.example.net
  senders: any
  keys:
    - {id: k1, secret: "test-secret-0123456789abcdef0123456789"}
  tracking_domains:
    - {domain: click.example.com, secure: true, default: true}
    - {domain: links.example.org, port: 8080}
)");
  ASSERT_TRUE(config);
  const auto has = [&](std::string_view body) { return has_tracking_pixel(body, *config); };
  EXPECT_TRUE(has(R"(<img src="https://track.example.net/q/abc">)"));
  EXPECT_TRUE(has(R"(<img src="https://click.example.com/q/abc">)"));
  EXPECT_TRUE(has(R"(<img src="http://links.example.org/q/x">)"));
  EXPECT_TRUE(has(R"(<img src="http://links.example.org:8080/q/x">)"));
  EXPECT_TRUE(has("a /q/ b https://click.example.com/f/x then https://click.example.com/q/"));
  EXPECT_FALSE(has(R"(<img src="http://links.example.org:8081/q/x">)"));
  EXPECT_FALSE(has(R"(<img src="https://other.example/q/abc">)"));
  EXPECT_FALSE(has(R"(<a href="https://click.example.com/f/abc">)"));
  EXPECT_FALSE(has("/q/ at the start, click.example.com after"));
  EXPECT_FALSE(has(""));
}

}  // namespace
}  // namespace trackrelay::rewrite
