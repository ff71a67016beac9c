// tests/store/batch_test.cc — the SQLite writer's group commit
// (store/event_store.cc, issue 12): one batch of any size and mix is stored
// row for row — every field, seq in append order, distinct event ids, and
// the join at write of a click with an injection written earlier in the
// same batch (and not with one written later).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/event_store.h"
#include "store_test_util.h"

namespace trackrelay::store {
namespace {

using TempDir = testing::TempDir;

Event injection(const std::string& tx) {
  Event e;
  e.type = "injection";
  e.timestamp_ms = 1795000000000;
  e.transmission_id = tx;
  e.message_id = "msg-" + tx + "@example.com";
  e.rcpt_to = "a@example.net";
  e.raw_rcpt_to = "A@example.net";
  e.campaign_id = "camp-" + tx;
  e.rcpt_meta = R"({"user":")" + tx + R"("})";
  e.rcpt_tags = R"(["t"])";
  e.friendly_from = "news@example.com";
  e.msg_from = "bounce@example.com";
  e.msg_size = 777;
  return e;
}

Event click(int i, const std::string& tx) {
  Event e;
  e.type = i % 3 == 0 ? "open" : "click";
  e.timestamp_ms = 1795000001000 + i;
  e.tracking_domain = "click.example.com";
  e.target_link_url = "https://example.com/" + std::to_string(i);
  e.target_link_name = "link " + std::to_string(i);
  e.message_id = "msg-" + tx + "@example.com";
  e.rcpt_to = "a@example.net";
  e.sending_domain = "example.com";
  e.user_agent = "UA " + std::to_string(i);
  e.ip_address = "192.0.2." + std::to_string(i % 250);
  e.method = i % 2 ? "GET" : "HEAD";
  e.subaccount_id = i % 4;
  e.transmission_id = tx;
  e.classification = "human";
  if (i % 5 == 0) e.classification_reasons = {"quick_click", "burst"};
  if (i % 5 == 1) e.classification_reasons = {"default"};
  return e;
}

// A fresh SQLite event store in `dir` (nullptr, with a test failure, if not).
std::unique_ptr<EventStore> open_in(TempDir& dir) {
  Options o;
  o.path = dir.file("e.db");
  auto opened = EventStore::open(o);
  EXPECT_TRUE(opened.ok()) << (opened ? "" : opened.error());
  return opened ? std::move(opened).value() : nullptr;
}

// Batches of several sizes, each with its message's injection inside it.
TEST(EventStoreBatch, StoresEveryRowInOrderAndJoinsWithinTheBatch) {
  TempDir dir;
  std::unique_ptr<EventStore> s = open_in(dir);
  ASSERT_TRUE(s);
  std::vector<Event> expected;
  int n = 0;
  for (int size : {1, 15, 16, 17, 31, 32, 33, 50, 64}) {
    std::vector<Event> batch;
    const std::string tx = std::to_string(1000 + size);
    const int inject_at = size / 3;
    for (int i = 0; i < size; ++i) {
      batch.push_back(i == inject_at ? injection(tx) : click(n + i, tx));
    }
    n += size;
    for (const Event& e : batch) expected.push_back(e);
    ASSERT_TRUE(s->append_all_and_wait(std::move(batch)).ok());
  }
  EXPECT_EQ(s->stats().commits, 9u);
  Query q;
  q.limit = kMaxLimit;
  q.newest_first = false;
  auto page = s->query(q);
  ASSERT_TRUE(page.ok()) << page.error();
  ASSERT_EQ(page->events.size(), expected.size());
  std::int64_t seq = 0;
  std::string injected;  // the transmission whose injection is stored already
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const Event& want = expected[i];
    const Event& got = page->events[i];
    SCOPED_TRACE("row " + std::to_string(i));
    EXPECT_GT(got.seq, seq);
    seq = got.seq;
    EXPECT_EQ(got.type, want.type);
    EXPECT_EQ(got.timestamp_ms, want.timestamp_ms);
    EXPECT_EQ(got.target_link_url, want.target_link_url);
    EXPECT_EQ(got.target_link_name, want.target_link_name);
    EXPECT_EQ(got.user_agent, want.user_agent);
    EXPECT_EQ(got.ip_address, want.ip_address);
    EXPECT_EQ(got.method, want.method);
    EXPECT_EQ(got.subaccount_id, want.subaccount_id);
    EXPECT_EQ(got.msg_size, want.msg_size);
    EXPECT_EQ(got.classification, want.classification);
    EXPECT_EQ(got.classification_reasons, want.classification_reasons);
    EXPECT_FALSE(got.event_id.empty());
    if (want.type == "injection") {
      injected = want.transmission_id;
      EXPECT_EQ(got.rcpt_meta, want.rcpt_meta);
      continue;
    }
    // Joined exactly when the injection came earlier (this batch or before).
    const bool joined = injected == want.transmission_id;
    EXPECT_EQ(got.rcpt_meta, joined ? R"({"user":")" + want.transmission_id + R"("})" : "");
    EXPECT_EQ(got.campaign_id, joined ? "camp-" + want.transmission_id : "");
    EXPECT_EQ(got.raw_rcpt_to, joined ? "A@example.net" : "");
  }
  EXPECT_EQ(testing::sqlite(s->path(), "SELECT count(DISTINCT event_id) FROM events"),
            std::to_string(expected.size()));
}

// One transaction of several MiB of WAL frames (store/wal_vfs.h: buffered up
// to 1 MiB, written in 64 KiB pieces), then small ones: every row reaches
// the file intact, as another process (the sqlite3 CLI) reads it after
// each commit, and the file passes SQLite's integrity check.
TEST(EventStoreBatch, LargeAndSmallCommitsReachTheFileWhole) {
  TempDir dir;
  std::unique_ptr<EventStore> s = open_in(dir);
  ASSERT_TRUE(s);
  std::vector<Event> big;
  for (int i = 0; i < 3000; ++i) {
    Event e = click(i, "77");
    e.user_agent = std::string(1500, static_cast<char>('a' + i % 26));
    big.push_back(std::move(e));
  }
  ASSERT_TRUE(s->append_all_and_wait(std::move(big)).ok());
  EXPECT_EQ(testing::sqlite(s->path(), "SELECT count(*), sum(length(user_agent)) FROM events"),
            "3000|4500000");
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(s->append_and_wait(click(5000 + i, "78")).ok());
    EXPECT_EQ(testing::sqlite(s->path(), "SELECT count(*) FROM events"), std::to_string(3001 + i));
  }
  EXPECT_EQ(testing::sqlite(s->path(), "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(testing::sqlite(s->path(), "SELECT count(*) FROM events WHERE user_agent = '" +
                                           std::string(1500, 'c') + "'"),
            "116");  // i % 26 == 2 for i < 3000
}

}  // namespace
}  // namespace trackrelay::store
