// tests/conf/domain_test.cc — domain rules: A-label normalisation (IDNA2008),
// the Public Suffix List rule for tracking domains, and how a configuration's
// tracking, sending and system domains are checked.
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

std::string alabel_or_error(std::string_view in) {
  Result<std::string> r = to_alabel(in);
  return r.ok() ? *r : "error: " + r.error();
}

TEST(ToAlabel, NormalisesCaseDotsAndUnicode) {
  EXPECT_EQ(alabel_or_error("CLICK.Example.COM"), "click.example.com");
  EXPECT_EQ(alabel_or_error("click.example.com."), "click.example.com");
  EXPECT_EQ(alabel_or_error("Bücher.Example"), "xn--bcher-kva.example");
  EXPECT_EQ(alabel_or_error("xn--bcher-kva.example"), "xn--bcher-kva.example");
  EXPECT_EQ(alabel_or_error("XN--BCHER-KVA.example"), "xn--bcher-kva.example");
  EXPECT_EQ(alabel_or_error("faß.de"), "xn--fa-hia.de");  // IDNA2008: ß is kept
  EXPECT_EQ(alabel_or_error("a-b.c9.example"), "a-b.c9.example");
}

TEST(ToAlabel, ErrorsSayWhatIsWrong) {
  EXPECT_EQ(alabel_or_error(""), "error: empty domain name");
  EXPECT_EQ(alabel_or_error("."), "error: empty domain name");
  EXPECT_TRUE(contains(alabel_or_error("foo..com"), "empty label"));
  EXPECT_TRUE(contains(alabel_or_error(".com"), "empty label"));
  EXPECT_TRUE(contains(alabel_or_error("foo_bar.example.com"), "invalid character '_'"));
  EXPECT_TRUE(contains(alabel_or_error("ex ample.com"), "invalid character ' '"));
  EXPECT_TRUE(contains(alabel_or_error("-foo.com"), "hyphen"));
  EXPECT_TRUE(contains(alabel_or_error("foo-.com"), "hyphen"));
  EXPECT_TRUE(contains(alabel_or_error("xn--zz.com"), "not a valid domain name"));
  EXPECT_TRUE(contains(alabel_or_error(std::string(64, 'a') + ".com"), "longer than 63"));
  EXPECT_TRUE(contains(alabel_or_error("127.0.0.1"), "numeric"));
  EXPECT_TRUE(contains(alabel_or_error("foo\xff.com"), "'foo\xff.com' is not a valid domain name"));
  EXPECT_TRUE(contains(alabel_or_error(std::string("a\0b.com", 7)), "not a valid domain name"));
  std::string long_name;
  for (int i = 0; i < 51; ++i) long_name += "abcd.";
  long_name += "com";
  EXPECT_TRUE(contains(alabel_or_error(long_name), "longer than"));
  for (std::string_view bad : {"", "foo..com", "-foo.com", "xn--zz.com", "127.0.0.1"}) {
    EXPECT_EQ(to_alabel(bad).code(), Errc::kInvalid) << bad;  // rejected input, every way
  }
}

TEST(CheckTrackingDomain, PublicSuffixList) {
  EXPECT_EQ(check_tracking_domain("click.example.com"), TrackingDomainCheck::kOk);
  EXPECT_EQ(check_tracking_domain("a.b.click.example.com"), TrackingDomainCheck::kOk);
  EXPECT_EQ(check_tracking_domain("click.example.co.uk"), TrackingDomainCheck::kOk);
  EXPECT_EQ(check_tracking_domain("click.xn--bcher-kva.de"), TrackingDomainCheck::kOk);
  EXPECT_EQ(check_tracking_domain("example.com"), TrackingDomainCheck::kRegistrableRoot);
  EXPECT_EQ(check_tracking_domain("example.co.uk"), TrackingDomainCheck::kRegistrableRoot);
  EXPECT_EQ(check_tracking_domain("xn--bcher-kva.de"), TrackingDomainCheck::kRegistrableRoot);
  EXPECT_EQ(check_tracking_domain("com"), TrackingDomainCheck::kPublicSuffix);
  EXPECT_EQ(check_tracking_domain("co.uk"), TrackingDomainCheck::kPublicSuffix);
  EXPECT_EQ(check_tracking_domain("xn--p1ai"), TrackingDomainCheck::kPublicSuffix);   // .рф
  EXPECT_EQ(check_tracking_domain("github.io"), TrackingDomainCheck::kPublicSuffix);  // private
  EXPECT_EQ(check_tracking_domain("foo.github.io"), TrackingDomainCheck::kRegistrableRoot);
  EXPECT_EQ(check_tracking_domain("localhost"), TrackingDomainCheck::kPublicSuffix);
  EXPECT_EQ(check_tracking_domain("track.localhost"), TrackingDomainCheck::kRegistrableRoot);
}

TEST(CheckTrackingDomain, WantsANormalisedName) {
  EXPECT_EQ(check_tracking_domain(""), TrackingDomainCheck::kInvalid);
  EXPECT_EQ(check_tracking_domain("Click.Example.com"), TrackingDomainCheck::kInvalid);
  EXPECT_EQ(check_tracking_domain("click.bücher.de"), TrackingDomainCheck::kInvalid);
  EXPECT_EQ(check_tracking_domain("click..example.com"), TrackingDomainCheck::kInvalid);
  EXPECT_TRUE(contains(describe(TrackingDomainCheck::kPublicSuffix), "public suffix"));
  EXPECT_TRUE(contains(describe(TrackingDomainCheck::kRegistrableRoot), "root domain"));
}

std::string tracking(const std::string& items) {
  return "  tracking_domains:\n" + items;
}

TEST(TrackingDomains, RootIsRejectedWithASuggestion) {
  const LoadResult r = load(minimal_yaml(tracking("    - {domain: example.com}\n")));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(lines(r), (Lines{"t.yaml:7:16: error: tracking.tracking_domains[0].domain: "
                             "'example.com' is a root domain; use a subdomain such as "
                             "click.example.com"}));
}

TEST(TrackingDomains, PublicSuffixIsRejected) {
  const LoadResult r = load(minimal_yaml(tracking("    - domain: co.uk\n")));
  EXPECT_FALSE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_TRUE(contains(r.diagnostics[0].str(),
                       "t.yaml:7:15: error: tracking.tracking_domains[0].domain: 'co.uk' is a "
                       "public suffix"));
}

TEST(TrackingDomains, InvalidSyntaxIsRejected) {
  const LoadResult r = load(minimal_yaml(tracking("    - {domain: click_here.example.com}\n")));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(lines(r), (Lines{"t.yaml:7:16: error: tracking.tracking_domains[0].domain: "
                             "'click_here.example.com' is not a valid domain name: invalid "
                             "character '_' in label 'click_here'"}));
}

TEST(TrackingDomains, SubdomainsUnderMultiLabelSuffixesAndIdnAreAccepted) {
  const LoadResult r =
      load(minimal_yaml(tracking("    - {domain: click.example.co.uk}\n"
                                 "    - {domain: Click.Bücher.DE.}\n")));
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(lines(r));
  EXPECT_TRUE((r.diagnostics).empty());
  ASSERT_EQ(r.config->tracking_domains.size(), 2u);
  EXPECT_EQ(r.config->tracking_domains[0].domain, "click.example.co.uk");
  EXPECT_EQ(r.config->tracking_domains[1].domain, "click.xn--bcher-kva.de");
}

TEST(TrackingDomains, DuplicatesCompareCaseInsensitivelyAsAlabels) {
  const LoadResult r =
      load(minimal_yaml(tracking("    - {domain: click.bücher.example}\n"
                                 "    - {domain: CLICK.xn--bcher-kva.example}\n"
                                 "    - {domain: a.example.com}\n"
                                 "    - {domain: A.Example.Com}\n")));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(lines(r), (Lines{"t.yaml:8:16: error: tracking.tracking_domains[1].domain: duplicate "
                             "tracking domain 'click.xn--bcher-kva.example' (first at 7:16)",
                             "t.yaml:10:16: error: tracking.tracking_domains[3].domain: duplicate "
                             "tracking domain 'a.example.com' (first at 9:16)"}));
}

TEST(TrackingDomains, AtMostOneDefault) {
  const LoadResult r =
      load(minimal_yaml(tracking("    - {domain: a.example.com, default: true}\n"
                                 "    - {domain: b.example.com, default: false}\n"
                                 "    - {domain: c.example.com, default: true}\n")));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(lines(r), (Lines{"t.yaml:9:40: error: tracking.tracking_domains[2].default: more "
                             "than one default tracking domain (the first is at 7:40)"}));
}

TEST(TrackingDomains, ItemNeedsADomain) {
  const LoadResult r = load(minimal_yaml(tracking("    - {secure: true}\n")));
  EXPECT_EQ(lines(r), (Lines{"t.yaml:7:7: error: missing required key "
                             "'tracking.tracking_domains[0].domain'"}));
}

TEST(TrackingDomains, SameAsSystemDomainIsAWarning) {
  const LoadResult r = load(minimal_yaml(tracking("    - {domain: Track.Example.Net}\n")));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(lines(r), (Lines{"t.yaml:7:16: warning: tracking.tracking_domains[0].domain: "
                             "'track.example.net' is also tracking.system_domain"}));
}

std::string sending(const std::string& items) {
  return tracking("    - {domain: click.example.com}\n") + "  sending_domains:\n" + items;
}

TEST(SendingDomains, NormalisedAndLinked) {
  const LoadResult r = load(minimal_yaml(
      sending("    - {domain: Bücher.Example, tracking_domain: CLICK.example.com.}\n")));
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(lines(r));
  ASSERT_EQ(r.config->sending_domains.size(), 1u);
  EXPECT_EQ(r.config->sending_domains[0].domain, "xn--bcher-kva.example");
  EXPECT_EQ(r.config->sending_domains[0].tracking_domain, "click.example.com");
}

TEST(SendingDomains, RootAndSubdomainsAreBothFine) {
  const LoadResult r =
      load(minimal_yaml(sending("    - {domain: example.com, tracking_domain: click.example.com}\n"
                                "    - {domain: mail.example.com, tracking_domain: "
                                "click.example.com}\n")));
  EXPECT_TRUE(r.ok()) << ::testing::PrintToString(lines(r));
}

TEST(SendingDomains, UnknownTrackingDomain) {
  const LoadResult r = load(
      minimal_yaml(sending("    - {domain: example.com, tracking_domain: links.example.com}\n")));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(lines(r), (Lines{"t.yaml:9:46: error: tracking.sending_domains[0]."
                             "tracking_domain: unknown tracking domain 'links.example.com'; "
                             "declare it in tracking.tracking_domains"}));
}

TEST(SendingDomains, DuplicatesCompareAsAlabels) {
  const LoadResult r = load(
      minimal_yaml(sending("    - {domain: bücher.example, tracking_domain: click.example.com}\n"
                           "    - {domain: XN--BCHER-KVA.example, tracking_domain: "
                           "click.example.com}\n")));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(lines(r), (Lines{"t.yaml:10:16: error: tracking.sending_domains[1].domain: "
                             "duplicate sending domain 'xn--bcher-kva.example' (first at "
                             "9:16)"}));
}

TEST(SendingDomains, InvalidNamesAndMissingFields) {
  const LoadResult r =
      load(minimal_yaml(sending("    - {domain: 'a..b', tracking_domain: x_y.com}\n"
                                "    - {domain: example.org}\n")));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(lines(r),
            (Lines{"t.yaml:9:16: error: tracking.sending_domains[0].domain: 'a..b' is not a valid "
                   "domain name: empty label",
                   "t.yaml:9:41: error: tracking.sending_domains[0].tracking_domain: 'x_y.com' is "
                   "not a valid domain name: invalid character '_' in label 'x_y'",
                   "t.yaml:10:7: error: missing required key "
                   "'tracking.sending_domains[1].tracking_domain'"}));
}

TEST(SystemDomain, MayBeARegistrableRootButNotASuffix) {
  LoadResult r = load(
      "tracking:\n  system_domain: SPGO.io\n  keys: [{id: k, secret: "
      "0123456789abcdef0123456789abcdef}]\n");
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(lines(r));
  EXPECT_EQ(r.config->system_domain, "spgo.io");

  r = load(
      "tracking:\n  system_domain: co.uk\n  keys: [{id: k, secret: "
      "0123456789abcdef0123456789abcdef}]\n");
  EXPECT_EQ(lines(r), (Lines{"t.yaml:2:18: error: tracking.system_domain: 'co.uk' is a "
                             "public suffix; the system domain must be a domain you "
                             "control"}));

  r = load(
      "tracking:\n  system_domain: not a domain\n  keys: [{id: k, secret: "
      "0123456789abcdef0123456789abcdef}]\n");
  EXPECT_EQ(lines(r), (Lines{"t.yaml:2:18: error: tracking.system_domain: 'not a domain' "
                             "is not a valid domain name: invalid character ' ' in label "
                             "'not a domain'"}));

  r = load(
      "tracking:\n  system_domain: Track.Bücher.de\n  keys: [{id: k, secret: "
      "0123456789abcdef0123456789abcdef}]\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config->system_domain, "track.xn--bcher-kva.de");
}

}  // namespace
}  // namespace trackrelay::conf
