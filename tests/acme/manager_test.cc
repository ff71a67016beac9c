// tests/acme/manager_test.cc — which names get ACME certificates (verified,
// secure, active account; system domain when system_secure; never names a
// file certificate covers), when a certificate is due, the back-off; and the
// store's issuance lease (one issuer per store).
#include "acme/manager.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace trackrelay::acme {
namespace {

store::TrackingDomainRow row(std::string domain, bool verified, bool secure, std::int64_t sub = 0) {
  store::TrackingDomainRow r;
  r.domain = std::move(domain);
  r.verified = verified;
  r.secure = secure;
  r.subaccount_id = sub;
  return r;
}

TEST(AcmeWanted, OnlyVerifiedSecureDomainsOfActiveAccounts) {
  conf::Config cfg;
  cfg.system_domain = "t.operator.test";
  store::DomainsSnapshot d;
  d.tracking = {row("a.example.com", true, true), row("b.example.com", false, true),
                row("c.example.com", true, false), row("d.example.com", true, true, 3),
                row("e.example.com", true, true, 4)};
  d.subaccounts = {{3, "three", "active", 0}, {4, "four", "suspended", 0}};
  EXPECT_EQ(wanted_names(cfg, d), (std::vector<std::string>{"a.example.com", "d.example.com"}));

  cfg.system_secure = true;
  conf::TrackingDomain file_domain;
  file_domain.domain = "f.example.net";
  file_domain.secure = true;
  cfg.tracking_domains.push_back(file_domain);
  cfg.track.certificates.push_back({{"*.example.com"}, "x.pem", "x.key"});
  EXPECT_EQ(wanted_names(cfg, d), (std::vector<std::string>{"f.example.net", "t.operator.test"}));
}

TEST(AcmeDue, RenewsAtAThirdOrTheConfiguredDays) {
  constexpr std::int64_t day = 86400000;
  store::CertificateRow r;
  EXPECT_TRUE(due(r, 0, 0));  // nothing issued yet
  r.chain_pem = "x";
  r.status = "active";
  r.not_before_ms = 0;
  r.not_after_ms = 90 * day;
  EXPECT_FALSE(due(r, 0, 59 * day));
  EXPECT_TRUE(due(r, 0, 60 * day));  // 30 of 90 days left
  EXPECT_FALSE(due(r, 10, 79 * day));
  EXPECT_TRUE(due(r, 10, 80 * day));
  r.status = "failed";
  EXPECT_TRUE(due(r, 0, day));
}

TEST(AcmeBackoff, DoublesToSixHours) {
  EXPECT_EQ(backoff_ms(1), 10000);
  EXPECT_EQ(backoff_ms(2), 20000);
  EXPECT_EQ(backoff_ms(3), 40000);
  EXPECT_EQ(backoff_ms(40), 6 * 3600000);
}

TEST(AcmeLease, OneHolderAtATime) {
  namespace fs = std::filesystem;
  std::string tmpl = (fs::temp_directory_path() / "trackrelay-lease-XXXXXX").string();
  const std::string dir = mkdtemp(tmpl.data());
  const std::string db = dir + "/store.db";
  auto a = store::CertStore::open(db);
  auto b = store::CertStore::open(db);
  ASSERT_TRUE(a.ok()) << a.error();
  ASSERT_TRUE(b.ok()) << b.error();
  EXPECT_TRUE(*(*a)->take_lease("one", 60000));
  EXPECT_FALSE(*(*b)->take_lease("two", 60000));
  EXPECT_TRUE(*(*a)->take_lease("one", 60000));  // renewed by its holder
  EXPECT_TRUE(*(*a)->release_lease("one"));
  EXPECT_TRUE(*(*b)->take_lease("two", -1));  // free again; this one lapses at once
  EXPECT_TRUE(*(*a)->take_lease("one", 60000));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace trackrelay::acme
