// tests/api/effective_test.cc — build_effective() and tenancy (issue 10): a
// sending domain from the store applies to mail only once DNS-verified (file
// domains always: the operator's), and the domains of a subaccount that is
// suspended, terminated or unknown are left out, each with a note saying why.
#include "api/effective.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "rewrite/domain_choice.h"

namespace trackrelay::api {
namespace {

std::shared_ptr<const conf::Config> file() {
  auto r = conf::load_string(
      "tracking:\n"
      "  system_domain: track.example.net\n"
      "  keys: [{id: k1, secret: \"effective-test-secret-0123456789abcdef\"}]\n"
      "  tracking_domains: [{domain: click.operator.example.com}]\n"
      "  sending_domains: [{domain: operator.example.com,"
      " tracking_domain: click.operator.example.com}]\n",
      "test.yaml");
  EXPECT_TRUE(r.ok()) << (r.diagnostics.empty() ? "" : r.diagnostics[0].str());
  return r.config;
}

store::TrackingDomainRow tracking(std::string domain, std::int64_t sub) {
  store::TrackingDomainRow t;
  t.domain = std::move(domain);
  t.subaccount_id = sub;
  t.verified = true;
  t.cname_status = "valid";
  return t;
}

store::SendingDomainRow sending(std::string domain, std::int64_t sub, std::string link,
                                bool verified) {
  store::SendingDomainRow s(std::move(domain), sub, std::move(link), 1);
  s.verified = verified;
  s.txt_status = verified ? "valid" : "unverified";
  return s;
}

bool has_sending(const conf::Config& c, std::string_view d) {
  return std::any_of(c.sending_domains.begin(), c.sending_domains.end(),
                     [&](const conf::SendingDomain& s) { return s.domain == d; });
}
bool has_tracking(const conf::Config& c, std::string_view d) {
  return std::any_of(c.tracking_domains.begin(), c.tracking_domains.end(),
                     [&](const conf::TrackingDomain& t) { return t.domain == d; });
}
bool noted(const Effective& e, std::string_view what) {
  return std::any_of(e.notes.begin(), e.notes.end(),
                     [&](const std::string& n) { return n.find(what) != std::string::npos; });
}

TEST(Effective, OnlyVerifiedSendingDomainsOfActiveAccountsApply) {
  auto f = file();
  ASSERT_TRUE(f);
  store::DomainsSnapshot snap;
  snap.subaccounts = {
      {1, "alpha", "active", 1}, {2, "beta", "suspended", 1}, {3, "gamma", "terminated", 1}};
  snap.tracking = {tracking("click.alpha.example.com", 1), tracking("click.beta.example.com", 2),
                   tracking("click.gamma.example.com", 3), tracking("click.ghost.example.com", 9)};
  snap.sending = {sending("alpha.example.com", 1, "click.alpha.example.com", true),
                  sending("unproven.example.com", 1, "click.alpha.example.com", false),
                  sending("beta.example.com", 2, "click.beta.example.com", true),
                  sending("gamma.example.com", 3, "click.gamma.example.com", true),
                  sending("ghost.example.com", 9, "click.ghost.example.com", true),
                  sending("operator.example.com", 1, "click.alpha.example.com", true)};
  const Effective e = build_effective(*f, snap);
  const conf::Config& c = *e.config;
  EXPECT_TRUE(has_sending(c, "alpha.example.com"));
  EXPECT_TRUE(has_tracking(c, "click.alpha.example.com"));
  EXPECT_TRUE(has_sending(c, "operator.example.com")) << "the file's, verified by declaration";
  EXPECT_TRUE(has_tracking(c, "click.operator.example.com"));
  for (const char* gone :
       {"unproven.example.com", "beta.example.com", "gamma.example.com", "ghost.example.com"}) {
    EXPECT_FALSE(has_sending(c, gone)) << gone;
  }
  for (const char* gone :
       {"click.beta.example.com", "click.gamma.example.com", "click.ghost.example.com"}) {
    EXPECT_FALSE(has_tracking(c, gone)) << gone;
  }
  const auto op = std::count_if(c.sending_domains.begin(), c.sending_domains.end(),
                                [](const auto& s) { return s.domain == "operator.example.com"; });
  EXPECT_EQ(op, 1) << "a store row never shadows the file's domain";
  EXPECT_TRUE(noted(e, "sending domain unproven.example.com is not verified"));
  EXPECT_TRUE(noted(e, "sending domain beta.example.com: subaccount 2 is suspended"));
  EXPECT_TRUE(noted(e, "tracking domain click.gamma.example.com: subaccount 3 is terminated"));
  EXPECT_TRUE(noted(e, "subaccount 9 is deleted"));
}

// A verified sending domain that links no tracking domain is still its
// account's: under tracking.senders: declared its mail is tracked through the
// account's default (rewrite/domain_choice.h), so it must be in the
// effective configuration.
TEST(Effective, VerifiedSendingDomainWithoutALinkUsesTheAccountDefault) {
  auto f = file();
  ASSERT_TRUE(f);
  store::DomainsSnapshot snap;
  snap.subaccounts = {{1, "alpha", "active", 1}};
  snap.tracking = {tracking("click.alpha.example.com", 1)};
  snap.sending = {sending("alpha.example.com", 1, "", true),
                  sending("unlinked-unproven.example.com", 1, "", false)};
  const Effective e = build_effective(*f, snap);
  ASSERT_TRUE(has_sending(*e.config, "alpha.example.com"));
  EXPECT_FALSE(has_sending(*e.config, "unlinked-unproven.example.com"));
  const auto choice = rewrite::choose_tracking_domain(*e.config, "alpha.example.com", 1);
  EXPECT_EQ(choice.domain, "click.alpha.example.com");
  EXPECT_EQ(choice.reason, rewrite::TrackingChoice::Reason::kOnlyDomain);
  const auto other = rewrite::choose_tracking_domain(*e.config, "alpha.example.com", 0);
  EXPECT_EQ(other.reason, rewrite::TrackingChoice::Reason::kNone)
      << "another account's domain is not tracked under declared";
}

// Issue 14: a secure configuration-file domain (and the system domain) gets
// https:// links only once a live certificate covers it — a file certificate
// or a live store one — exactly like an API domain; until then http:// and a
// note. Without a TLS listener (TLS ends in front) the file is taken at its word.
std::shared_ptr<const conf::Config> secure_file(bool tls_listener) {
  auto r = conf::load_string(
      std::string("tracking:\n"
                  "  system_domain: track.example.net\n"
                  "  system_secure: true\n"
                  "  keys: [{id: k1, secret: \"effective-test-secret-0123456789abcdef\"}]\n"
                  "  tracking_domains: [{domain: a.files.example.com, secure: true},"
                  " {domain: acme.example.com, secure: true}, {domain: plain.example.com}]\n"
                  "acme: {directory: 'https://acme.invalid/dir'}\n"
                  "track:\n") +
          (tls_listener ? "  tls_listen: ['127.0.0.1:0']\n" : "  listen: ['127.0.0.1:0']\n"),
      "test.yaml");
  EXPECT_TRUE(r.ok()) << (r.diagnostics.empty() ? "" : r.diagnostics[0].str());
  if (!r.config) return nullptr;
  // A file certificate (the loader would read the files; build_effective does not).
  auto cfg = std::make_shared<conf::Config>(*r.config);
  cfg->track.certificates.push_back({{"*.files.example.com"}, "c.pem", "k.pem"});
  return cfg;
}

const conf::TrackingDomain* find(const conf::Config& c, std::string_view d) {
  for (const conf::TrackingDomain& t : c.tracking_domains) {
    if (t.domain == d) return &t;
  }
  return nullptr;
}

TEST(Effective, SecureFileDomainsUseHttpsOnlyOnceACertificateIsLive) {
  auto f = secure_file(true);
  ASSERT_TRUE(f);
  store::DomainsSnapshot snap;
  Effective e = build_effective(*f, snap);
  const conf::Config* c = e.config.get();
  EXPECT_TRUE(find(*c, "a.files.example.com")->secure) << "a file certificate covers it";
  EXPECT_FALSE(find(*c, "acme.example.com")->secure);
  EXPECT_TRUE(find(*c, "acme.example.com")->https_pending) << "ACME must still request it";
  EXPECT_FALSE(find(*c, "plain.example.com")->secure);
  EXPECT_FALSE(find(*c, "plain.example.com")->https_pending);
  EXPECT_FALSE(c->system_secure);
  EXPECT_TRUE(c->system_https_pending);
  EXPECT_TRUE(noted(e, "tracking domain acme.example.com (configuration file): no live"));
  EXPECT_TRUE(noted(e, "tracking.system_domain track.example.net: no live certificate"));

  snap.tls_live = {"acme.example.com", "track.example.net"};  // the store holds live ones
  e = build_effective(*f, snap);
  c = e.config.get();
  EXPECT_TRUE(find(*c, "acme.example.com")->secure);
  EXPECT_FALSE(find(*c, "acme.example.com")->https_pending);
  EXPECT_TRUE(c->system_secure);
  EXPECT_FALSE(noted(e, "no live certificate"));

  auto behind_proxy = secure_file(false);
  ASSERT_TRUE(behind_proxy);
  e = build_effective(*behind_proxy, {});
  EXPECT_TRUE(find(*e.config, "acme.example.com")->secure);
  EXPECT_TRUE(e.config->system_secure);
}

}  // namespace
}  // namespace trackrelay::api
