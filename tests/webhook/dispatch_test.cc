// tests/webhook/dispatch_test.cc — the pieces of webhook delivery without a
// network: the signature (against a value computed independently with
// OpenSSL's one-shot HMAC), the retry schedule, the batch shape, and the
// store's queue rules (cut_batch compare-and-set, attempts, the lease) on
// SQLite and PostgreSQL.
#include <gtest/gtest.h>
#include <openssl/hmac.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "../store/pg_fixture.h"
#include "base/encoding.h"
#include "store/db.h"
#include "store/event_store.h"
#include "store/webhook_store.h"
#include "webhook/dispatcher.h"
#include "webhook/payload.h"
#include "webhook/signature.h"

namespace trackrelay::webhook {
namespace {

TEST(Signature, IsHmacSha256OfTimeDotBody) {
  const std::string secret = "s3cret", body = R"([{"msys":{}}])";
  unsigned char mac[32];
  unsigned int len = 0;
  const std::string text = "1700000000." + body;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), mac, &len);
  EXPECT_EQ(signature(secret, 1700000000, body), "t=1700000000,v1=" + hex_encode(mac, len));
}

TEST(Signature, VerifyRejectsChangesAndReplays) {
  const std::string h = signature("k", 1000, "body");
  EXPECT_TRUE(verify_signature("k", h, "body", 1000, 300));
  EXPECT_FALSE(verify_signature("k", h, "body!", 1000, 300));
  EXPECT_FALSE(verify_signature("other", h, "body", 1000, 300));
  EXPECT_FALSE(verify_signature("k", h, "body", 1000 + 301, 300)) << "a replay";
  EXPECT_FALSE(verify_signature("k", "t=x,v1=00", "body", 1000, 300));
  EXPECT_EQ(new_secret().size(), 64u);
  EXPECT_NE(new_secret(), new_secret());
}

TEST(Retry, DoublesFromTheBaseAndFailsAfterRetryFor) {
  conf::WebhooksConfig cfg;
  cfg.retry_base_ms = 1000;
  cfg.retry_for = 60;
  store::BatchRow b;
  b.created_ms = 0;
  PostResult timeout{false, 0, {}, {}, "timed out after 10000 ms"};
  std::int64_t now = 0;
  std::vector<std::int64_t> waits;
  store::Attempt a;
  for (int i = 0; i < 10; ++i) {
    a = next_state(b, timeout, now, cfg);
    if (a.state != "pending") break;
    waits.push_back(a.next_attempt_ms - now);
    now = a.next_attempt_ms;
    ++b.attempts;
  }
  EXPECT_EQ(a.state, "failed");
  EXPECT_EQ(a.error, "timed out after 10000 ms");
  ASSERT_GE(waits.size(), 5u);
  EXPECT_EQ(waits[0], 1000);
  EXPECT_EQ(waits[1], 2000);
  EXPECT_EQ(waits[2], 4000);
  EXPECT_EQ(now, 60000) << "the last retry is at the deadline, not after it";
  PostResult ok{true, 204, {}, {}, {}};
  EXPECT_EQ(next_state(b, ok, now, cfg).state, "delivered");
  PostResult redirect{true, 302, {}, {}, {}};
  b.attempts = 0;
  const store::Attempt r = next_state(b, redirect, 10, cfg);
  EXPECT_EQ(r.state, "pending") << "redirects are not followed and not success";
  EXPECT_EQ(r.response_code, 302);
  EXPECT_EQ(r.error, "HTTP 302");
}

TEST(Retry, WaitsAtMostOneHour) {
  conf::WebhooksConfig cfg;  // 30 s base, 8 h
  store::BatchRow b;
  b.attempts = 20;
  const store::Attempt a = next_state(b, PostResult{true, 500, {}, {}, {}}, 1000, cfg);
  EXPECT_EQ(a.next_attempt_ms - 1000, 3600000);
}

TEST(Payload, SparkPostBatchShape) {
  store::Event click, inj;
  click.type = "click";
  click.event_id = "1";
  click.target_link_url = "https://example.com/";
  inj.type = "injection";
  inj.event_id = "2";
  auto v = boost::json::parse(batch_body({click, inj}));
  ASSERT_EQ(v.as_array().size(), 2u);
  EXPECT_EQ(v.at(0).at("msys").at("track_event").at("target_link_url"), "https://example.com/");
  EXPECT_EQ(v.at(1).at("msys").at("message_event").at("event_id"), "2");
  EXPECT_TRUE(is_webhook_event_type("injection"));
  EXPECT_FALSE(is_webhook_event_type("bounce"));
  EXPECT_EQ(boost::json::parse(test_body(0)).at(0).at("msys").at("track_event").at("event_id"),
            "test");
}

TEST(Target, ParsesAndRefuses) {
  auto t = parse_target("https://Hooks.Example.org:8443/a/b?x=1");
  ASSERT_TRUE(t.ok()) << t.error();
  EXPECT_TRUE(t->https);
  EXPECT_EQ(t->port, 8443);
  EXPECT_EQ(t->path, "/a/b?x=1");
  EXPECT_EQ(parse_target("http://[::1]/")->host, "::1");
  EXPECT_FALSE(parse_target("ftp://x/").ok());
  EXPECT_FALSE(parse_target("http:///x").ok());
  EXPECT_FALSE(egress_addresses(*parse_target("http://127.0.0.1/"), nullptr, false).ok());
  EXPECT_TRUE(egress_addresses(*parse_target("http://127.0.0.1/"), nullptr, true).ok());
  EXPECT_FALSE(egress_addresses(*parse_target("http://[::ffff:10.0.0.1]/"), nullptr, false).ok());
  const PostResult r = post(PostRequest{"http://10.0.0.1/", "{}", {}, 100, false}, nullptr);
  EXPECT_FALSE(r.answered);
  EXPECT_NE(r.error.find("refused"), std::string::npos) << r.error;
}

// The queue rules on both store backends. Events come from EventStore on
// SQLite and are inserted directly on PostgreSQL (its EventStore is not
// this suite's subject).
class Queue : public ::testing::TestWithParam<store::internal::Backend> {
 protected:
  void SetUp() override {
    store_ = store::testing::fresh_store(GetParam(), dir_, "s.db");
    ASSERT_FALSE(store_.empty());
    if (GetParam() == store::internal::Backend::kSqlite) {
      store::Options o;
      o.path = store_;
      auto e = store::EventStore::open(o);
      ASSERT_TRUE(e.ok()) << e.error();
      events_ = std::move(e).value();
    } else {
      auto c = store::internal::open_connection(store_, true);
      ASSERT_TRUE(c.ok()) << c.error();
      sql_ = std::move(c).value();
    }
    auto w = store::WebhookStore::open(store_);
    ASSERT_TRUE(w.ok()) << w.error();
    hooks_ = std::move(w).value();
  }
  void click() {
    if (sql_) {
      store::internal::Query q(*sql_,
                               "INSERT INTO events (event_id, type, ts_ms, tracking_domain, "
                               "target_link_url, target_link_name, message_id, rcpt_to, "
                               "campaign_id, sending_domain, user_agent, ip_address, method) "
                               "VALUES ('e' || (SELECT count(*) FROM events), 'click', 1, '', '', "
                               "'', '', '', '', '', '', '', '')");  // event_id is unique
      ASSERT_TRUE(q.run().ok()) << q.error();
      return;
    }
    store::Event e;
    e.type = "click";
    e.timestamp_ms = 1;
    ASSERT_TRUE(events_->append_and_wait(e).ok());
  }
  store::testing::TempDir dir_;
  std::string store_;
  std::unique_ptr<store::internal::Connection> sql_;
  std::unique_ptr<store::EventStore> events_;
  std::unique_ptr<store::WebhookStore> hooks_;
};

TEST_P(Queue, ANewWebhookStartsAfterTheNewestEvent) {
  click();
  click();
  store::WebhookRow h;
  h.id = "w1";
  h.signing_secret = "s";
  auto added = hooks_->add(h);
  ASSERT_TRUE(added.ok()) << added.error();
  EXPECT_EQ(added->cursor_seq, 2);
  EXPECT_EQ(*hooks_->max_event_seq(), 2);
}

TEST_P(Queue, CutBatchMovesTheCursorOnceAndRecordsAttempts) {
  store::WebhookRow h;
  h.id = "w1";
  ASSERT_TRUE(hooks_->add(h).ok());
  store::BatchRow b;
  b.webhook_id = "w1";
  b.batch_id = "b1";
  b.first_seq = 1;
  b.last_seq = 3;
  b.event_count = 3;
  b.payload = "[]";
  EXPECT_TRUE(*hooks_->cut_batch(b, 0, 3));
  EXPECT_FALSE(*hooks_->cut_batch(b, 0, 3)) << "the cursor moved: nothing is written twice";
  auto due = hooks_->due("w1", 0, 10);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*hooks_->get("w1"))->cursor_seq, 3);
  ASSERT_TRUE(hooks_->record_attempt((*due)[0].id, {"pending", 5, 100, 500, "HTTP 500"}).ok());
  EXPECT_TRUE(hooks_->due("w1", 99, 10)->empty());
  EXPECT_EQ(**hooks_->next_due("w1"), 100);
  ASSERT_TRUE(hooks_->record_attempt((*due)[0].id, {"delivered", 101, 101, 200, ""}).ok());
  auto attempts = hooks_->attempts("w1", 10);
  ASSERT_EQ(attempts->size(), 2u);
  EXPECT_EQ((*attempts)[0].state, "delivered");
  EXPECT_EQ((*attempts)[0].attempt, 2);
  EXPECT_EQ((*attempts)[1].response_code, 500);
  EXPECT_TRUE(hooks_->batches("w1", 10)->at(0).payload.empty());
  EXPECT_EQ(hooks_->stats()->pending_batches, 0);
  EXPECT_TRUE(*hooks_->remove("w1"));
  EXPECT_TRUE(hooks_->attempts("w1", 10)->empty());
}

bool always_stale(const std::string&) {
  return true;
}

TEST_P(Queue, OneLeaseHolderAtATime) {
  EXPECT_TRUE(*hooks_->lease("d", "a", 1000, 10000));
  EXPECT_FALSE(*hooks_->lease("d", "b", 2000, 10000));
  EXPECT_TRUE(*hooks_->lease("d", "a", 3000, 10000)) << "renewal";
  EXPECT_TRUE(*hooks_->lease("d", "b", 13001, 10000)) << "expired";
  EXPECT_TRUE(*hooks_->lease("d", "c", 13002, 10000, always_stale)) << "holder gone";
  ASSERT_TRUE(hooks_->release("d", "c").ok());
  EXPECT_TRUE(*hooks_->lease("d", "a", 13003, 10000));
}

TEST_P(Queue, ProcessesRacingForAnExpiredLeaseGetOneHolder) {
  ASSERT_TRUE(*hooks_->lease("d", "old", 1000, 10));  // expired for everyone below
  constexpr int kRacers = 6;
  std::vector<std::unique_ptr<store::WebhookStore>> stores;
  for (int i = 0; i < kRacers; ++i) {
    auto w = store::WebhookStore::open(store_);
    ASSERT_TRUE(w.ok()) << w.error();
    stores.push_back(std::move(w).value());
  }
  std::atomic<int> held{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kRacers; ++i) {
    threads.emplace_back([&, i] {
      auto r = stores[i]->lease("d", "racer" + std::to_string(i), 5000, 60000);
      if (!r) ++failed;
      if (r && *r) ++held;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(held.load(), 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, Queue, store::testing::kBackends, store::testing::backend_name);

// PostgreSQL: trackers insert concurrently, so seq order is not commit order.
// The cursor's horizon must wait for an insert in progress with a lower seq;
// a plain max(seq) would return 2 while 1 is uncommitted, and the cursor
// would skip event 1 for good once it committed.
TEST(QueueOnPostgres, TheHorizonWaitsForALowerSeqStillBeingWritten) {
  using store::internal::Backend;
  store::testing::TempDir dir;
  const std::string uri = store::testing::fresh_store(Backend::kPostgres, dir, "s.db");
  ASSERT_FALSE(uri.empty());
  auto slow = store::internal::open_connection(uri, true);
  auto fast = store::internal::open_connection(uri, true);
  auto hooks = store::WebhookStore::open(uri);
  ASSERT_TRUE(slow.ok() && fast.ok() && hooks.ok());
  auto insert = [](store::internal::Connection& c, const char* id) {
    store::internal::Query q(c,
                             "INSERT INTO events (event_id, type, ts_ms, tracking_domain, "
                             "target_link_url, target_link_name, message_id, rcpt_to, campaign_id, "
                             "sending_domain, user_agent, ip_address, method) VALUES (?, 'click', "
                             "1, '', '', '', '', '', '', '', '', '', '') RETURNING seq",
                             {std::string_view(id)});
    EXPECT_TRUE(q.step()) << q.error();
    return q.i64(0);
  };
  ASSERT_TRUE((*slow)->begin_write().ok());
  EXPECT_EQ(insert(**slow, "first"), 1);   // drawn, not committed
  EXPECT_EQ(insert(**fast, "second"), 2);  // committed
  std::atomic<bool> returned{false};
  std::int64_t horizon = -1;
  std::thread reader([&] {
    auto m = (*hooks)->max_event_seq();
    horizon = m.ok() ? *m : -2;
    returned = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_FALSE(returned) << "the horizon did not wait for seq 1 (returned " << horizon << ")";
  ASSERT_TRUE((*slow)->commit().ok());
  reader.join();
  EXPECT_EQ(horizon, 2);
}

}  // namespace
}  // namespace trackrelay::webhook
