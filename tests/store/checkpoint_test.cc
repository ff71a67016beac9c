// tests/store/checkpoint_test.cc — the event store's WAL checkpoints run on
// their own thread (store/event_store.cc, issue 12): the writer's connection
// no longer checkpoints inside a commit, yet committed pages still reach the
// database file and the WAL stays bounded; every event stays readable.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "store/event_store.h"
#include "store_test_util.h"

namespace trackrelay::store {
namespace {

namespace fs = std::filesystem;
using TempDir = testing::TempDir;

Event click(int i) {
  Event e;
  e.type = "click";
  e.timestamp_ms = 1714564800000 + i;
  e.tracking_domain = "click.example.com";
  e.target_link_url = "https://example.com/landing/" + std::to_string(i) + "?utm_source=news";
  e.message_id = "m" + std::to_string(i % 97) + "@example.com";
  e.rcpt_to = "r" + std::to_string(i % 89) + "@example.net";
  e.campaign_id = "c" + std::to_string(i % 7);
  e.user_agent = "Mozilla/5.0 (X11; Linux x86_64)";
  e.ip_address = "192.0.2.7";
  e.method = "GET";
  return e;
}

TEST(EventStoreCheckpoint, PagesReachTheDatabaseFileOffTheCommitPath) {
  TempDir dir;
  const std::string db = dir.file("e.db");
  Options o;
  o.path = db;
  auto opened = EventStore::open(o);
  ASSERT_TRUE(opened.ok()) << opened.error();
  std::unique_ptr<EventStore> s = std::move(opened).value();
  const auto initial = fs::file_size(db);
  // Small batches, many commits: over the 1000 WAL frames that start a
  // checkpoint (each commit writes ~27 pages: the table's and six indexes'),
  // and under the 8000 at which the writer would checkpoint itself — so
  // only the checkpointer can make the file grow here.
  constexpr int kBatches = 100;
  constexpr int kPerBatch = 40;
  for (int b = 0; b < kBatches; ++b) {
    std::vector<Event> batch;
    for (int i = 0; i < kPerBatch; ++i) batch.push_back(click(b * kPerBatch + i));
    ASSERT_TRUE(s->append_all_and_wait(std::move(batch)).ok());
  }
  // The checkpointer copies asynchronously: wait for the file to grow (no
  // connection of this process checkpoints otherwise before it closes).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (fs::file_size(db) <= initial && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_GT(fs::file_size(db), initial) << "no checkpoint copied pages into " << db;
  // Bounded: the writer restarts the WAL once the checkpointer has caught up,
  // and checkpoints itself past 8000 frames.
  EXPECT_LT(fs::file_size(db + "-wal"), std::uintmax_t{9000} * (4096 + 24));
  auto n = s->count();
  ASSERT_TRUE(n.ok()) << n.error();
  EXPECT_EQ(*n, kBatches * kPerBatch);
  EXPECT_EQ(s->stats().commits, static_cast<std::uint64_t>(kBatches));
  s.reset();  // the checkpointer stops with the store
  EXPECT_EQ(testing::sqlite(db, "SELECT count(*) FROM events"),
            std::to_string(kBatches * kPerBatch));
}

}  // namespace
}  // namespace trackrelay::store
