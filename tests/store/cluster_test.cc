// tests/store/cluster_test.cc — store/cluster.h against a real PostgreSQL
// (tests/store/pg_fixture.h): the change listener wakes on NOTIFY and once
// after every reconnection; the node lock is held by one session at a time,
// passes on when its holder's session ends (closed or killed by the server)
// and is taken back by the next hold(). Other sessions are driven with psql.
#include "store/cluster.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>

#include "pg_fixture.h"
#include "store/cert_store.h"
#include "store/domain_store.h"

namespace trackrelay::store {
namespace {

using namespace std::chrono_literals;

// Runs `sql` in a session of its own (psql); its output, trimmed.
std::string psql(const std::string& uri, const std::string& sql) {
  const std::string cmd = "/usr/lib/postgresql/15/bin/psql -X -q -A -t -v ON_ERROR_STOP=1 -d '" +
                          uri + "' -c \"" + sql + "\" 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return "popen failed";
  char buf[256];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  EXPECT_EQ(pclose(p), 0) << cmd << ": " << out;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// Waits up to `limit` for `done`.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit = 5000ms) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// Ends trackrelay's sessions (application_name) on this test's database whose
// last statement is like `like`.
void kill_sessions(const std::string& uri, const std::string& like) {
  // This test's database only: other tests share the server.
  psql(uri,
       "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name "
       "= 'trackrelay' AND datname = current_database() AND query LIKE '" +
           like + "'");
}

TEST(Cluster, ListenerWakesOnNotifyAndAfterReconnecting) {
  const std::string uri = testing::pg_database();
  ASSERT_FALSE(uri.empty());
  std::atomic<int> calls{0};
  ChangeListener listener(uri, kDomainsChannel, [&calls] { ++calls; });
  ASSERT_TRUE(eventually([&] { return listener.connections() == 1 && calls == 1; }))
      << "the first session reloads once";
  psql(uri, std::string("NOTIFY ") + kDomainsChannel);
  EXPECT_TRUE(eventually([&] { return calls == 2; }, 1000ms)) << "woken within a second";
  psql(uri, "NOTIFY some_other_channel");
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(calls, 2) << "another channel does not wake it";
  kill_sessions(uri, "LISTEN%");
  ASSERT_TRUE(eventually([&] { return listener.connections() == 2; }))
      << "a lost session is replaced";
  EXPECT_TRUE(eventually([&] { return calls == 3; })) << "and reloads once";
  psql(uri, std::string("NOTIFY ") + kDomainsChannel);
  EXPECT_TRUE(eventually([&] { return calls == 4; }, 1000ms)) << "listening again";
}

TEST(Cluster, EveryCounterBumpNotifiesOnCommitOnly) {
  const std::string uri = testing::pg_database();
  ASSERT_FALSE(uri.empty());
  auto domains = DomainStore::open(uri);
  ASSERT_TRUE(domains) << domains.error();
  auto certs = CertStore::open(uri);
  ASSERT_TRUE(certs) << certs.error();
  std::atomic<int> calls{0};
  ChangeListener listener(uri, kDomainsChannel, [&calls] { ++calls; });
  ASSERT_TRUE(eventually([&] { return calls == 1; }));
  TrackingDomainRow row;
  row.domain = "click.example.com";
  ASSERT_EQ(*(*domains)->add_tracking_domain(row), Change::kDone);
  EXPECT_TRUE(eventually([&] { return calls == 2; }, 1000ms)) << "a domain write notifies";
  ASSERT_EQ(*(*domains)->add_tracking_domain(row), Change::kExists);
  std::vector<std::string> used_by;
  ASSERT_EQ(*(*domains)->delete_tracking_domain("nope.example.com", used_by), Change::kNotFound);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(calls, 2) << "refused writes change nothing and notify nobody";
  CertificateRow cert;
  cert.domain = "click.example.com";
  cert.status = "active";
  cert.chain_pem = "pem";
  ASSERT_TRUE((*certs)->put_certificate(cert));
  EXPECT_TRUE(eventually([&] { return calls == 3; }, 1000ms)) << "a certificate write notifies";
  auto v = (*domains)->version();
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, 2);
}

TEST(Cluster, NodeLockIsHeldByOneSessionAtATime) {
  const std::string uri = testing::pg_database();
  ASSERT_FALSE(uri.empty());
  auto a = std::make_unique<NodeLock>(uri, Work::kWebhooks);
  NodeLock b(uri, Work::kWebhooks);
  NodeLock other_work(uri, Work::kAcme);
  EXPECT_TRUE(a->hold());
  EXPECT_FALSE(b.hold());
  EXPECT_TRUE(a->hold()) << "still held (the session is checked)";
  EXPECT_TRUE(other_work.hold()) << "each kind of work has its own lock";
  a->release();
  EXPECT_TRUE(b.hold()) << "released: the other takes it";
  EXPECT_FALSE(a->hold());
  b.release();
  EXPECT_TRUE(a->hold());
  a.reset();  // the process ends: its session closes
  EXPECT_TRUE(eventually([&] { return b.hold(); })) << "a closed session's lock passes on";
}

TEST(Cluster, NodeLockLostWithItsSessionIsTakenBackByTheNextHold) {
  const std::string uri = testing::pg_database();
  ASSERT_FALSE(uri.empty());
  NodeLock a(uri, Work::kReverify);
  NodeLock b(uri, Work::kReverify);
  ASSERT_TRUE(a.hold());
  // The server ends a's session (a restart, a network cut, an operator).
  kill_sessions(uri, "SELECT pg_try_advisory_lock%");
  EXPECT_FALSE(a.hold()) << "the holder notices it lost the lock";
  EXPECT_TRUE(b.hold()) << "another node takes it";
  EXPECT_FALSE(a.hold());
  b.release();
  EXPECT_TRUE(a.hold()) << "the first reconnected and takes it back";
}

TEST(Cluster, AnUnreachableServerIsNotHeldAndNotFatal) {
  NodeLock lock("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2", Work::kAcme);
  EXPECT_FALSE(lock.hold());
  std::atomic<int> calls{0};
  {
    ChangeListener listener("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2",
                            kDomainsChannel, [&calls] { ++calls; });
    std::this_thread::sleep_for(200ms);
  }  // stops while retrying
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace trackrelay::store
