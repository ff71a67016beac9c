// X-MSYS-SUBACCOUNT (rewrite/account.h) and the engine's per-account rules:
// tracking.senders: declared passes foreign and undeclared mail through
// byte-identical (but for X-MSYS-SUBACCOUNT), the account picks the domain.
#include "rewrite/account.h"

#include <gtest/gtest.h>

#include "rewrite/engine.h"
#include "test_util.h"

namespace trackrelay::rewrite {
namespace {

using testing::config_from;
using testing::tracked_urls;

constexpr std::int64_t kNow = 1795000000;

constexpr char kDeclared[] = R"(
tracking:
  system_domain: track.example.net
  keys: [{id: k1, secret: "test-secret-0123456789abcdef0123456789"}]
  tracking_domains:
    - {domain: click.example.com, default: true}
  sending_domains:
    - {domain: example.com, tracking_domain: click.example.com}
)";

std::shared_ptr<const conf::Config> declared_with_subaccount() {
  auto c = std::make_shared<conf::Config>(*config_from(kDeclared));
  conf::TrackingDomain t;
  t.domain = "t7.seven.example";
  t.from_store = true;
  t.subaccount_id = 7;
  c->tracking_domains.push_back(t);
  conf::SendingDomain s;
  s.domain = "seven.example";
  s.tracking_domain = "t7.seven.example";
  s.from_store = true;
  s.subaccount_id = 7;
  c->sending_domains.push_back(s);
  return c;
}

std::string message(const std::string& from, const std::string& extra = "") {
  return "From: " + from + "\r\nTo: rcpt@example.net\r\nSubject: hi\r\n" + extra +
         "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
         "<html><body><a href=\"https://www.example.org/x\">x</a></body></html>\r\n";
}

Result<Outcome> run(const conf::Config& c, const std::string& msg, std::int64_t account) {
  auto scanner = make_scanner(c.rewrite);
  Envelope env{"bounce@example.com", {"rcpt@example.net"}, account};
  return rewrite_message(msg, env, c, *scanner, kNow);
}

TEST(SubaccountHeader, ReadsTheId) {
  auto none = subaccount_header(message("a@example.com"));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto seven = subaccount_header(message("a@example.com", "x-msys-subaccount:  7 \r\n"));
  ASSERT_TRUE(seven.ok());
  EXPECT_EQ(**seven, 7);
  auto folded = subaccount_header(message("a@example.com", "X-MSYS-SUBACCOUNT:\r\n 12\r\n"));
  ASSERT_TRUE(folded.ok());
  EXPECT_EQ(**folded, 12);
}

TEST(SubaccountHeader, BadValuesAreErrors) {
  for (const char* v : {"abc", "-3", "+3", "", "7 8", "99999999999999999999"}) {
    auto r = subaccount_header(
        message("a@example.com", "X-MSYS-SUBACCOUNT: " + std::string(v) + "\r\n"));
    ASSERT_FALSE(r.ok()) << v;
    EXPECT_NE(r.error().find("X-MSYS-SUBACCOUNT: expected a subaccount id"), std::string::npos)
        << r.error();
  }
  auto twice = subaccount_header(
      message("a@example.com", "X-MSYS-SUBACCOUNT: 1\r\nX-MSYS-SUBACCOUNT: 1\r\n"));
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.error().find("more than once"), std::string::npos);
}

TEST(SubaccountHeader, OnlyTheHeaderBlockCounts) {
  const std::string m = message("a@example.com") + "X-MSYS-SUBACCOUNT: 5\r\n";
  EXPECT_FALSE(subaccount_header(m)->has_value());
  EXPECT_EQ(without_subaccount_header(m), m);
}

TEST(SubaccountHeader, RemovalKeepsEveryOtherByte) {
  const std::string with = message("a@example.com", "X-MSYS-SUBACCOUNT: 7\r\n\t(folded)\r\n");
  EXPECT_EQ(without_subaccount_header(with), message("a@example.com"));
}

TEST(EngineAccount, DeclaredPassesInboundMailThroughByteIdentical) {
  auto c = config_from(kDeclared);
  // No Message-ID, an X-MSYS-API: nothing is added, read or removed.
  const std::string in = message("Customer <customer@gmail.com>", "X-MSYS-API: {bad json\r\n");
  auto r = run(*c, in, 0);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_FALSE(r->changed);
  EXPECT_EQ(r->message, in);
  EXPECT_EQ(r->tracking.reason, TrackingChoice::Reason::kNone);
  ASSERT_FALSE(r->log.empty());
  EXPECT_NE(r->log.back().find("gmail.com is not a verified sending domain"), std::string::npos)
      << r->log.back();
}

TEST(EngineAccount, DeclaredStillRemovesTheSubaccountHeader) {
  auto c = config_from(kDeclared);
  const std::string in = message("customer@gmail.com", "X-MSYS-SUBACCOUNT: 0\r\n");
  auto r = run(*c, in, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->message, message("customer@gmail.com"));
  EXPECT_TRUE(r->changed);
}

TEST(EngineAccount, SubaccountMailUsesItsOwnDomainAndNeverThePrimarys) {
  auto c = declared_with_subaccount();
  auto own = run(*c, message("news@seven.example", "X-MSYS-SUBACCOUNT: 7\r\n"), 7);
  ASSERT_TRUE(own.ok());
  EXPECT_TRUE(own->changed);
  EXPECT_EQ(own->tracking.domain, "t7.seven.example");
  EXPECT_EQ(own->message.find("X-MSYS-SUBACCOUNT"), std::string::npos);
  const auto urls = tracked_urls(own->message);
  ASSERT_FALSE(urls.empty());
  for (const auto& u : urls) EXPECT_EQ(u.rfind("http://t7.seven.example/", 0), 0u) << u;
  // Subaccount 7 sending From: the primary's domain: untouched.
  const std::string foreign = message("news@example.com");
  auto r = run(*c, foreign, 7);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->message, foreign);
  // The primary sending From: 7's domain: untouched too.
  auto p = run(*c, message("news@seven.example"), 0);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->changed);
}

}  // namespace
}  // namespace trackrelay::rewrite
