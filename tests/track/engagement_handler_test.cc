// tests/track/engagement_handler_test.cc — issue 11 in the tracker: a click
// records the token's transmission id and SparkPost's recipient pair
// (rcpt_to in lower case, raw_rcpt_to as given), and the redirect needs
// nothing but the token.
#include <gtest/gtest.h>

#include "conf/config.h"
#include "token/token.h"
#include "track/handler.h"

namespace trackrelay::track {
namespace {

constexpr std::string_view kSecret = "engagement-test-secret-0123456789abcdefghij";
constexpr std::int64_t kIssued = 1714564800;

TEST(EngagementHandler, ClickCarriesTransmissionIdAndBothRecipientForms) {
  auto loaded = conf::load_string(std::string("tracking:\n  system_domain: track.example.net\n"
                                              "  keys: [{id: k1, secret: \"") +
                                      std::string(kSecret) +
                                      "\"}]\n  tracking_domains: [{domain: click.example.com}]\n",
                                  "<test>");
  ASSERT_TRUE(loaded.ok());
  auto p = prepare(loaded.config);
  ASSERT_TRUE(p.ok()) << p.error();
  token::Claims c;
  c.target = "https://example.com/x";
  c.tracking_domain = "click.example.com";
  c.message_id = "m1@example.com";
  c.rcpt_to = "Alice.Smith@Example.NET";
  c.subaccount_id = 3;
  c.transmission_id = "123456789012345678";
  c.issued_at = kIssued;
  const std::string tok = token::encode(c, token::Key{"k1", std::string(kSecret)});
  const std::string target = "/f/" + tok;  // Request holds views
  Request r{"GET", target, "click.example.com",
            "UA",  "",     boost::asio::ip::make_address("192.0.2.1")};
  const Reply reply =
      handle(**p, r, std::chrono::system_clock::time_point(std::chrono::seconds(kIssued + 60)),
             store::Health{});
  ASSERT_EQ(reply.status, 302) << reply.why;
  EXPECT_EQ(reply.location, "https://example.com/x");
  ASSERT_TRUE(reply.event);
  EXPECT_EQ(reply.event->transmission_id, "123456789012345678");
  EXPECT_EQ(reply.event->rcpt_to, "alice.smith@example.net");
  EXPECT_EQ(reply.event->raw_rcpt_to, "Alice.Smith@Example.NET");
  EXPECT_EQ(reply.event->subaccount_id, 3);
  EXPECT_EQ(reply.event->rcpt_meta, "") << "metadata is joined by the store, never in the token";
}

}  // namespace
}  // namespace trackrelay::track
