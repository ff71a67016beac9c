// tests/track/store_view_test.cc — the tracker's in-memory challenges and
// certificate reads (track/store_view.h), on both backends: a challenge put
// by another process's CertStore is answered from memory within
// store::kChallengeVisible (SQLite: the poll; PostgreSQL: NOTIFY, with the
// fallback poll set to a minute so only the notification can deliver it), a
// delete takes it away, refresh_challenges() reads at once, and every
// certificate read is handed over (at start, then on refresh_certificates()).
#include "track/store_view.h"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "../store/pg_fixture.h"

namespace trackrelay::track {
namespace {

using namespace std::chrono_literals;
using StoreViewOn = store::testing::BackendTest;

// Polls `done` every 10 ms for at most `limit`; whether it came true.
template <class F>
bool within(std::chrono::milliseconds limit, F done) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

TEST(Challenges, FindsByTokenOnly) {
  const Challenges c({{"tok-1", "tok-1.thumb", "a.example.com"},
                      {"tls-alpn-01:b.example.com", "alpn-ka", "b.example.com"}});
  EXPECT_EQ(c.size(), 2u);
  EXPECT_EQ(c.find("tok-1"), "tok-1.thumb");
  EXPECT_EQ(c.find("tls-alpn-01:b.example.com"), "alpn-ka");
  EXPECT_EQ(c.find("tok-2"), std::nullopt);
  EXPECT_EQ(c.find("a.example.com"), std::nullopt);  // a domain is not a token
  EXPECT_EQ(Challenges().find("tok-1"), std::nullopt);
}

TEST_P(StoreViewOn, ChallengesPutElsewhereAreAnsweredFromMemory) {
  const std::string db = store("s.db");
  auto writer = store::CertStore::open(db);  // another process's manager
  auto reader = store::CertStore::open(db);
  ASSERT_TRUE(writer.ok() && reader.ok());
  StoreViewOptions o;
  o.store = db;
  o.pg_poll = 60s;  // PostgreSQL: only NOTIFY can deliver within the bound
  StoreView view(std::move(reader).value(), o);
  ASSERT_TRUE(within(5s, [&] { return view.challenge_reads() > 0; }));
  if (postgres()) {  // listening, and the read after its connection done: then only NOTIFY
    ASSERT_TRUE(within(5s, [&] { return view.listener_connections() > 0; }));
    std::this_thread::sleep_for(300ms);
  }
  EXPECT_EQ(view.challenge("tok-1"), std::nullopt);

  ASSERT_TRUE((*writer)->put_challenge("tok-1", "tok-1.thumb", "a.example.com").ok());
  ASSERT_TRUE(
      (*writer)->put_challenge("tls-alpn-01:b.example.com", "alpn-ka", "b.example.com").ok());
  EXPECT_TRUE(within(store::kChallengeVisible, [&] { return view.challenge("tok-1"); }));
  EXPECT_TRUE(within(store::kChallengeVisible,
                     [&] { return view.challenge("tls-alpn-01:b.example.com") == "alpn-ka"; }));
  EXPECT_EQ(view.challenges()->size(), 2u);

  ASSERT_TRUE((*writer)->delete_challenge("tok-1").ok());
  EXPECT_TRUE(within(store::kChallengeVisible, [&] { return !view.challenge("tok-1"); }));
  EXPECT_EQ(view.challenge("tls-alpn-01:b.example.com"), "alpn-ka");
}

TEST_P(StoreViewOn, RefreshReadsAtOnce) {
  const std::string db = store("s.db");
  auto writer = store::CertStore::open(db);
  auto reader = store::CertStore::open(db);
  ASSERT_TRUE(writer.ok() && reader.ok());
  StoreViewOptions o;
  o.store.clear();  // no listener on either backend: only the refresh
  o.poll = 60s;
  StoreView view(std::move(reader).value(), o);
  ASSERT_TRUE(within(5s, [&] { return view.challenge_reads() > 0; }));
  ASSERT_TRUE((*writer)->put_challenge("tok-9", "tok-9.thumb", "c.example.com").ok());
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(view.challenge("tok-9"), std::nullopt);  // not polled for a minute
  view.refresh_challenges();
  EXPECT_TRUE(within(2s, [&] { return view.challenge("tok-9") == "tok-9.thumb"; }));
}

TEST_P(StoreViewOn, EveryCertificateReadIsHandedOver) {
  const std::string db = store("s.db");
  auto writer = store::CertStore::open(db);
  auto reader = store::CertStore::open(db);
  ASSERT_TRUE(writer.ok() && reader.ok());
  std::mutex mu;
  std::vector<std::vector<store::CertificateRow>> reads;
  StoreViewOptions o;
  o.store = db;
  o.on_certificates = [&](std::vector<store::CertificateRow> rows) {
    std::lock_guard lock(mu);
    reads.push_back(std::move(rows));
  };
  auto count = [&] {
    std::lock_guard lock(mu);
    return reads.size();
  };
  StoreView view(std::move(reader).value(), o);
  ASSERT_TRUE(view.wait_first_certificates(5s));
  ASSERT_EQ(count(), 1u);
  {
    std::lock_guard lock(mu);
    EXPECT_TRUE(reads[0].empty());
  }
  store::CertificateRow row;
  row.domain = "click.example.com";
  row.status = "active";
  row.chain_pem = "CHAIN";
  ASSERT_TRUE((*writer)->put_certificate(row).ok());
  view.refresh_certificates();
  ASSERT_TRUE(within(2s, [&] { return count() == 2; }));
  std::lock_guard lock(mu);
  ASSERT_EQ(reads[1].size(), 1u);
  EXPECT_EQ(reads[1][0].domain, "click.example.com");
  EXPECT_EQ(reads[1][0].chain_pem, "CHAIN");
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreViewOn, store::testing::kBackends,
                         store::testing::backend_name);

}  // namespace
}  // namespace trackrelay::track
