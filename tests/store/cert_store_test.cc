// tests/store/cert_store_test.cc — CertStore: certificates round-trip, a
// write that changes what is served bumps the domains change counter (so
// every process rebuilds) and one that does not, does not; live
// certificates (active, unexpired) reach DomainStore::load()'s tls_live;
// the ACME account and HTTP-01 challenges round-trip; one issuer holds the
// lease. On both backends.
#include "store/cert_store.h"

#include <gtest/gtest.h>

#include <chrono>

#include "pg_fixture.h"
#include "store/domain_store.h"
#include "store_test_util.h"

namespace trackrelay::store {
namespace {

using CertStoreOn = testing::BackendTest;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST_P(CertStoreOn, CertificatesBumpTheCounterAndReachTlsLive) {
  const std::string db = store("s.db");
  auto certs = CertStore::open(db);
  auto domains = DomainStore::open(db);
  ASSERT_TRUE(certs.ok()) << certs.error();
  ASSERT_TRUE(domains.ok()) << domains.error();
  const std::int64_t v0 = *(*domains)->version();

  CertificateRow live;
  live.domain = "click.example.com";
  live.status = "active";
  live.chain_pem = "CHAIN";
  live.key_pem = "KEY";
  live.not_after_ms = now_ms() + 3600000;
  live.serial = "01AB";
  ASSERT_TRUE((*certs)->put_certificate(live).ok());
  EXPECT_EQ(*(*domains)->version(), v0 + 1);
  live.message = "only the message changed";
  ASSERT_TRUE((*certs)->put_certificate(live).ok());
  EXPECT_EQ(*(*domains)->version(), v0 + 1);

  CertificateRow expired = live;
  expired.domain = "old.example.com";
  expired.not_after_ms = now_ms() - 1000;
  CertificateRow pending;
  pending.domain = "new.example.com";
  ASSERT_TRUE((*certs)->put_certificate(expired).ok());
  ASSERT_TRUE((*certs)->put_certificate(pending).ok());

  auto got = (*certs)->certificate("click.example.com");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->chain_pem, "CHAIN");
  EXPECT_EQ((*got)->key_pem, "KEY");
  EXPECT_EQ((*got)->serial, "01AB");
  EXPECT_EQ((*got)->message, "only the message changed");
  EXPECT_EQ((*got)->source, "acme");
  EXPECT_EQ((*certs)->certificates()->size(), 3u);

  auto snap = (*domains)->load();
  ASSERT_TRUE(snap.ok()) << snap.error();
  EXPECT_EQ(snap->tls_live, std::set<std::string>{"click.example.com"});

  const std::int64_t v1 = *(*domains)->version();
  EXPECT_TRUE(*(*certs)->delete_certificate("click.example.com"));
  EXPECT_EQ(*(*domains)->version(), v1 + 1);
  EXPECT_FALSE(*(*certs)->delete_certificate("click.example.com"));
  EXPECT_EQ(*(*domains)->version(), v1 + 1);
  EXPECT_TRUE((*domains)->load()->tls_live.empty());
}

TEST_P(CertStoreOn, AccountsAndChallenges) {
  auto certs = CertStore::open(store("s.db"));
  ASSERT_TRUE(certs.ok());
  EXPECT_FALSE((*certs)->account("https://ca.test/dir")->has_value());
  ASSERT_TRUE((*certs)->put_account({"https://ca.test/dir", "PEM", "https://ca.test/acct/1"}).ok());
  auto a = (*certs)->account("https://ca.test/dir");
  ASSERT_TRUE(a.ok() && a->has_value());
  EXPECT_EQ((*a)->kid, "https://ca.test/acct/1");

  ASSERT_TRUE((*certs)->put_challenge("tok", "tok.thumb", "click.example.com").ok());
  EXPECT_EQ(**(*certs)->challenge("tok"), "tok.thumb");
  EXPECT_FALSE((*certs)->challenge("other")->has_value());
  ASSERT_TRUE((*certs)->delete_challenge("tok").ok());
  EXPECT_FALSE((*certs)->challenge("tok")->has_value());
  // Replacing an account or a challenge keeps one row.
  ASSERT_TRUE(
      (*certs)->put_account({"https://ca.test/dir", "PEM2", "https://ca.test/acct/2"}).ok());
  EXPECT_EQ((*(*certs)->account("https://ca.test/dir"))->key_pem, "PEM2");
  ASSERT_TRUE((*certs)->put_challenge("t2", "a", "x.example.com").ok());
  ASSERT_TRUE((*certs)->put_challenge("t2", "b", "x.example.com").ok());
  EXPECT_EQ(**(*certs)->challenge("t2"), "b");
}

TEST_P(CertStoreOn, OneIssuerHoldsTheLeaseUntilItExpiresOrIsReleased) {
  const std::string db = store("s.db");
  auto a = CertStore::open(db);
  auto b = CertStore::open(db);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(*(*a)->take_lease("node-a", 60000));
  EXPECT_FALSE(*(*b)->take_lease("node-b", 60000)) << "held by node-a";
  EXPECT_TRUE(*(*a)->take_lease("node-a", 60000)) << "the holder renews";
  ASSERT_TRUE((*a)->release_lease("node-a").ok());
  EXPECT_TRUE(*(*b)->take_lease("node-b", -1)) << "free after release";
  EXPECT_TRUE(*(*a)->take_lease("node-a", 60000)) << "node-b's lease expired at once";
  EXPECT_EQ(testing::read_sql(db, "SELECT holder FROM acme_lease"), "node-a");
}

INSTANTIATE_TEST_SUITE_P(Backends, CertStoreOn, testing::kBackends, testing::backend_name);

}  // namespace
}  // namespace trackrelay::store
