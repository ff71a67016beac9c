// tests/conf/lookup_test.cc — Config lookups (case-insensitive, IDN-aware)
// and the tracking-domain choice rule.
#include <gtest/gtest.h>

#include "conf/config.h"
#include "tests/conf/conf_test_util.h"

namespace trackrelay::conf {
namespace {

using testing::contains;
using testing::Lines;
using testing::lines;
using testing::load;
using testing::minimal_yaml;

std::shared_ptr<const Config> must_load(const std::string& yaml) {
  const LoadResult r = load(yaml);
  EXPECT_TRUE(r.ok()) << ::testing::PrintToString(lines(r));
  return r.config;
}

const char kDomains[] =
    "  tracking_domains:\n"
    "    - {domain: click.example.com, secure: true, port: 8443}\n"
    "    - {domain: click.bücher.de, default: true}\n"
    "  sending_domains:\n"
    "    - {domain: example.com, tracking_domain: click.example.com}\n"
    "    - {domain: bücher.de, tracking_domain: click.bücher.de}\n"
    "    - {domain: mail.example.org, tracking_domain: click.bücher.de}\n";

TEST(Lookup, FindTrackingDomainIgnoresCaseAndForm) {
  auto c = must_load(minimal_yaml(kDomains));
  ASSERT_TRUE(c);
  const TrackingDomain* d = c->find_tracking_domain("CLICK.Example.Com");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->domain, "click.example.com");
  EXPECT_TRUE(d->secure);
  EXPECT_EQ(d->port, 8443);
  EXPECT_EQ(c->find_tracking_domain("click.example.com."), d);
  EXPECT_NE(c->find_tracking_domain("click.xn--bcher-kva.de"), nullptr);
  EXPECT_NE(c->find_tracking_domain("Click.Bücher.de"), nullptr);
  EXPECT_EQ(c->find_tracking_domain("example.com"), nullptr);
  EXPECT_EQ(c->find_tracking_domain(""), nullptr);
  EXPECT_EQ(c->find_tracking_domain("track.example.net"), nullptr);  // system: not a custom one
}

TEST(Lookup, FindSendingDomain) {
  auto c = must_load(minimal_yaml(kDomains));
  ASSERT_TRUE(c);
  const SendingDomain* s = c->find_sending_domain("EXAMPLE.COM");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->tracking_domain, "click.example.com");
  const SendingDomain* b = c->find_sending_domain("BÜCHER.de");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->domain, "xn--bcher-kva.de");
  EXPECT_EQ(b->tracking_domain, "click.xn--bcher-kva.de");
  EXPECT_EQ(c->find_sending_domain("sub.example.com"), nullptr);  // exact names only
}

TEST(Lookup, IsTrackingHostIncludesTheSystemDomain) {
  auto c = must_load(minimal_yaml(kDomains));
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->is_tracking_host("Track.Example.NET"));
  EXPECT_TRUE(c->is_tracking_host("click.example.com"));
  EXPECT_TRUE(c->is_tracking_host("CLICK.XN--BCHER-KVA.DE"));
  EXPECT_TRUE(c->is_tracking_host("click.bücher.de"));
  EXPECT_FALSE(c->is_tracking_host("example.com"));
  EXPECT_FALSE(c->is_tracking_host("evil.click.example.com"));
  EXPECT_FALSE(c->is_tracking_host(""));
  EXPECT_FALSE(c->is_tracking_host("\xff"));
}

TEST(DefaultTrackingDomain, DesignatedOrOnlyOne) {
  auto c = must_load(minimal_yaml(kDomains + std::string("  system_secure: true\n")));
  ASSERT_TRUE(c);
  ASSERT_NE(c->default_tracking_domain(), nullptr);
  EXPECT_EQ(c->default_tracking_domain()->domain, "click.xn--bcher-kva.de");

  auto system_only = must_load(minimal_yaml("  system_secure: true\n  system_port: 8080\n"));
  ASSERT_TRUE(system_only);
  EXPECT_EQ(system_only->default_tracking_domain(), nullptr);
}

TEST(DefaultTrackingDomain, ASingleTrackingDomainIsTheDefault) {
  auto c = must_load(minimal_yaml("  tracking_domains:\n    - {domain: click.example.com}\n"));
  ASSERT_TRUE(c);
  ASSERT_NE(c->default_tracking_domain(), nullptr);
  EXPECT_EQ(c->default_tracking_domain()->domain, "click.example.com");
}

TEST(DefaultTrackingDomain, TwoTrackingDomainsAndNoDefaultHaveNone) {
  auto c =
      must_load(minimal_yaml("  tracking_domains:\n"
                             "    - {domain: a.example.com}\n"
                             "    - {domain: b.example.com}\n"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->default_tracking_domain(), nullptr);
}

}  // namespace
}  // namespace trackrelay::conf
