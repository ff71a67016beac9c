// The seed's rule for choosing a tracking domain, one branch per test, and
// the From: address parsing it depends on.
#include "rewrite/domain_choice.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace trackrelay::rewrite {
namespace {

using testing::config_from;

constexpr char kBase[] = R"(
tracking:
  system_domain: track.example.net
  system_secure: true
  keys: [{id: k1, secret: "test-secret-0123456789abcdef0123456789"}]
)";

TEST(DomainChoice, SendingDomainsOwnTrackingDomainFirst) {
  auto c = config_from(std::string(kBase) + R"(
  tracking_domains:
    - {domain: click.example.com, default: true}
    - {domain: links.example.org, secure: true, port: 8443}
  sending_domains:
    - {domain: example.org, tracking_domain: links.example.org}
)");
  auto t = choose_tracking_domain(*c, "example.org");
  EXPECT_EQ(t.domain, "links.example.org");
  EXPECT_EQ(t.reason, TrackingChoice::Reason::kSendingDomain);
  EXPECT_EQ(tracking_origin(t), "https://links.example.org:8443");
}

TEST(DomainChoice, DesignatedDefaultNext) {
  auto c = config_from(std::string(kBase) + R"(
  tracking_domains:
    - {domain: links.example.org}
    - {domain: click.example.com, default: true}
  sending_domains:
    - {domain: example.org, tracking_domain: links.example.org}
)");
  auto t = choose_tracking_domain(*c, "unrelated.example");
  EXPECT_EQ(t.domain, "click.example.com");
  EXPECT_EQ(t.reason, TrackingChoice::Reason::kDefault);
  EXPECT_EQ(tracking_origin(t), "http://click.example.com");
  EXPECT_EQ(choose_tracking_domain(*c, "").domain, "click.example.com");
}

TEST(DomainChoice, SingleDomainWithoutDefaultIsTheDefault) {
  auto c = config_from(std::string(kBase) + R"(
  tracking_domains:
    - {domain: click.example.com, secure: true, port: 443}
)");
  auto t = choose_tracking_domain(*c, "example.com");
  EXPECT_EQ(t.domain, "click.example.com");
  EXPECT_EQ(t.reason, TrackingChoice::Reason::kOnlyDomain);
  EXPECT_EQ(tracking_origin(t), "https://click.example.com");
}

TEST(DomainChoice, SystemDefaultWhenSeveralAndNoDefault) {
  auto c = config_from(std::string(kBase) + R"(
  tracking_domains:
    - {domain: click.example.com}
    - {domain: links.example.org}
)");
  auto t = choose_tracking_domain(*c, "example.com");
  EXPECT_EQ(t.domain, "track.example.net");
  EXPECT_EQ(t.reason, TrackingChoice::Reason::kSystem);
  EXPECT_EQ(tracking_origin(t), "https://track.example.net");
}

TEST(DomainChoice, SystemDefaultWhenNoneConfigured) {
  auto c = config_from(kBase);
  EXPECT_EQ(choose_tracking_domain(*c, "example.com").reason, TrackingChoice::Reason::kSystem);
}

TEST(DomainChoice, SendingDomainComparedInALabelFormCaseInsensitively) {
  auto c = config_from(std::string(kBase) + R"(
  tracking_domains:
    - {domain: click.example.com}
    - {domain: links.example.org}
  sending_domains:
    - {domain: Bücher.Example, tracking_domain: LINKS.example.org}
)");
  EXPECT_EQ(choose_tracking_domain(*c, address_domain("info@BÜCHER.example")).domain,
            "links.example.org");
  EXPECT_EQ(choose_tracking_domain(*c, address_domain("info@xn--bcher-kva.example")).domain,
            "links.example.org");
}

TEST(FromAddress, Forms) {
  EXPECT_EQ(from_address("alice@example.com"), "alice@example.com");
  EXPECT_EQ(from_address("Alice <alice@example.com>"), "alice@example.com");
  EXPECT_EQ(from_address("\"Smith, Bob <boss@evil.test>\" <bob@example.com>"), "bob@example.com");
  EXPECT_EQ(from_address("bob@example.com (Bob <x@evil.test>)"), "bob@example.com");
  EXPECT_EQ(from_address("a@example.com, b@example.org"), "a@example.com");
  EXPECT_EQ(from_address("Team: a@example.com, b@example.org;"), "a@example.com");
  EXPECT_EQ(from_address("<@relay.example:c@example.com>"), "c@example.com");
  EXPECT_EQ(from_address("undisclosed"), "");
  EXPECT_EQ(from_address(""), "");
  EXPECT_EQ(address_domain("Alice@Example.COM"), "example.com");
  EXPECT_EQ(address_domain("a@[192.0.2.1]"), "");
  EXPECT_EQ(address_domain("no-at-sign"), "");
}

}  // namespace
}  // namespace trackrelay::rewrite
