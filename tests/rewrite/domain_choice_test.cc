// The rule for choosing a tracking domain, one branch per test (the seed's
// rule with tracking.senders: any; per account and with `declared` below),
// and the From: address parsing it depends on.
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
  senders: any
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

// --- per account (domains from the store carry their subaccount id) ---

constexpr char kDeclared[] = R"(
tracking:
  system_domain: track.example.net
  keys: [{id: k1, secret: "test-secret-0123456789abcdef0123456789"}]
  tracking_domains:
    - {domain: click.example.com, default: true}
  sending_domains:
    - {domain: example.com, tracking_domain: click.example.com}
)";

// The file's domains (primary) plus subaccount 7's and subaccount 9's, as
// the effective configuration builds them from the store.
std::shared_ptr<const conf::Config> with_subaccounts(const std::string& yaml) {
  auto c = std::make_shared<conf::Config>(*config_from(yaml));
  auto td = [](std::string d, std::int64_t sub, bool def) {
    conf::TrackingDomain t;
    t.domain = std::move(d);
    t.is_default = def;
    t.from_store = true;
    t.subaccount_id = sub;
    return t;
  };
  auto sd = [](std::string d, std::string t, std::int64_t sub) {
    conf::SendingDomain s;
    s.domain = std::move(d);
    s.tracking_domain = std::move(t);
    s.from_store = true;
    s.subaccount_id = sub;
    return s;
  };
  c->tracking_domains.push_back(td("t7.seven.example", 7, false));
  c->tracking_domains.push_back(td("d7.seven.example", 7, true));
  c->tracking_domains.push_back(td("t9.nine.example", 9, false));
  c->sending_domains.push_back(sd("seven.example", "t7.seven.example", 7));
  c->sending_domains.push_back(sd("nine.example", "t9.nine.example", 9));
  // A subaccount 9 sending domain linked to subaccount 7's tracking domain.
  c->sending_domains.push_back(sd("crossed.example", "t7.seven.example", 9));
  return c;
}

TEST(DomainChoicePerAccount, OwnSendingDomainUsesOwnTrackingDomain) {
  auto c = with_subaccounts(kDeclared);
  auto t = choose_tracking_domain(*c, "seven.example", 7);
  EXPECT_EQ(t.domain, "t7.seven.example");
  EXPECT_EQ(t.reason, TrackingChoice::Reason::kSendingDomain);
  EXPECT_EQ(choose_tracking_domain(*c, "nine.example", 9).domain, "t9.nine.example");
  EXPECT_EQ(choose_tracking_domain(*c, "example.com", 0).domain, "click.example.com");
}

TEST(DomainChoicePerAccount, DeclaredRefusesForeignAndUndeclaredDomains) {
  auto c = with_subaccounts(kDeclared);
  // Subaccount 9 sending From: subaccount 7's domain, or the primary's.
  auto foreign = choose_tracking_domain(*c, "seven.example", 9);
  EXPECT_EQ(foreign.reason, TrackingChoice::Reason::kNone);
  EXPECT_EQ(foreign.domain, "");
  EXPECT_NE(foreign.why.find("belongs to another account"), std::string::npos) << foreign.why;
  EXPECT_EQ(choose_tracking_domain(*c, "example.com", 7).reason, TrackingChoice::Reason::kNone);
  // The primary account sending From: a subaccount's domain.
  EXPECT_EQ(choose_tracking_domain(*c, "seven.example", 0).reason, TrackingChoice::Reason::kNone);
  // Inbound mail (From: gmail.com) and mail without a sending domain.
  auto inbound = choose_tracking_domain(*c, "gmail.com", 0);
  EXPECT_EQ(inbound.reason, TrackingChoice::Reason::kNone);
  EXPECT_NE(inbound.why.find("gmail.com is not a verified sending domain of the primary account"),
            std::string::npos)
      << inbound.why;
  EXPECT_EQ(choose_tracking_domain(*c, "", 0).reason, TrackingChoice::Reason::kNone);
}

TEST(DomainChoicePerAccount, ForeignTrackingDomainLinkFallsBackToOwnDefault) {
  auto c = with_subaccounts(kDeclared);
  // crossed.example is 9's, but links to 7's tracking domain: 9 has one
  // tracking domain of its own, its default by the only-domain rule.
  auto t = choose_tracking_domain(*c, "crossed.example", 9);
  EXPECT_EQ(t.domain, "t9.nine.example");
  EXPECT_EQ(t.reason, TrackingChoice::Reason::kOnlyDomain);
}

TEST(DomainChoicePerAccount, AnyUsesTheAccountsDefaultNeverThePrimarys) {
  auto c = with_subaccounts(std::string(kDeclared) + "  senders: any\n");
  // Subaccount 7: its designated default, not the primary's click.example.com.
  auto seven = choose_tracking_domain(*c, "gmail.com", 7);
  EXPECT_EQ(seven.domain, "d7.seven.example");
  EXPECT_EQ(seven.reason, TrackingChoice::Reason::kDefault);
  // 7's mail From: 9's domain does not use 9's tracking domain.
  EXPECT_EQ(choose_tracking_domain(*c, "nine.example", 7).domain, "d7.seven.example");
  // Subaccount 9: its only domain; subaccount 12 (none): the system domain.
  EXPECT_EQ(choose_tracking_domain(*c, "gmail.com", 9).domain, "t9.nine.example");
  auto twelve = choose_tracking_domain(*c, "gmail.com", 12);
  EXPECT_EQ(twelve.domain, "track.example.net");
  EXPECT_EQ(twelve.reason, TrackingChoice::Reason::kSystem);
  // The primary account: its file default, whatever the subaccounts have.
  EXPECT_EQ(choose_tracking_domain(*c, "gmail.com", 0).domain, "click.example.com");
}

TEST(DomainChoicePerAccount, DeclaredUnlinkedSendingDomainUsesTheAccountsOwnDefault) {
  auto base = with_subaccounts(kDeclared);
  auto c = std::make_shared<conf::Config>(*base);
  // Verified sending domains without a link: subaccount 7's, 12's (no
  // tracking domain of its own) and the primary's.
  for (auto [domain, sub] : {std::pair<const char*, std::int64_t>{"plain.seven.example", 7},
                             {"plain.twelve.example", 12},
                             {"plain.example.com", 0}}) {
    conf::SendingDomain sd;
    sd.domain = domain;
    sd.from_store = true;
    sd.subaccount_id = sub;
    c->sending_domains.push_back(sd);
  }
  auto seven = choose_tracking_domain(*c, "plain.seven.example", 7);
  EXPECT_EQ(seven.domain, "d7.seven.example");
  EXPECT_EQ(seven.reason, TrackingChoice::Reason::kDefault);
  auto twelve = choose_tracking_domain(*c, "plain.twelve.example", 12);
  EXPECT_EQ(twelve.domain, "track.example.net") << "never the primary's click.example.com";
  EXPECT_EQ(twelve.reason, TrackingChoice::Reason::kSystem);
  auto primary = choose_tracking_domain(*c, "plain.example.com", 0);
  EXPECT_EQ(primary.domain, "click.example.com");
  EXPECT_EQ(primary.reason, TrackingChoice::Reason::kDefault);
}

TEST(DomainChoicePerAccount, SubaccountDomainsNeverCountForThePrimaryDefault) {
  // No file tracking domain: the primary has no default although subaccount
  // 7 has a designated one and 9 has exactly one.
  auto c = with_subaccounts(R"(
tracking:
  system_domain: track.example.net
  senders: any
  keys: [{id: k1, secret: "test-secret-0123456789abcdef0123456789"}]
)");
  auto t = choose_tracking_domain(*c, "gmail.com", 0);
  EXPECT_EQ(t.domain, "track.example.net");
  EXPECT_EQ(t.reason, TrackingChoice::Reason::kSystem);
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
