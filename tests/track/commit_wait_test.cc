// tests/track/commit_wait_test.cc — the tracker's hand-off to the event
// store (track/commit_wait.h, issue 12): the events of one io_context round
// reach the writer together (one transaction for all of them here), every
// waiter completes only after its commit, and a store that hangs (its write
// lock held elsewhere) releases the waiters after max_wait with false; the
// late commit completes nobody and loses nothing.
#include "track/commit_wait.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

namespace trackrelay::track {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;

struct TempDir {
  TempDir() {
    std::string t = (fs::temp_directory_path() / "trackrelay-commit-wait-XXXXXX").string();
    path = mkdtemp(t.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string path;
};

store::Event click(int i) {
  store::Event e;
  e.type = "click";
  e.timestamp_ms = 1714564800000 + i;
  e.tracking_domain = "click.example.com";
  e.target_link_url = "https://example.com/" + std::to_string(i);
  e.method = "GET";
  return e;
}

std::unique_ptr<store::EventStore> open_store(const std::string& path) {
  store::Options o;
  o.path = path;
  auto s = store::EventStore::open(std::move(o));
  EXPECT_TRUE(s.ok()) << (s ? "" : s.error());
  return s ? std::move(s).value() : nullptr;
}

TEST(CommitWait, OneRoundsEventsShareOneTransactionAndEveryWaiterSeesItsCommit) {
  TempDir dir;
  auto store = open_store(dir.path + "/e.db");
  ASSERT_TRUE(store);
  asio::io_context ioc;
  auto wait = std::make_shared<CommitWait>(ioc, *store, std::chrono::seconds(30));
  constexpr int kRequests = 200;
  int ok = 0;
  int done = 0;
  for (int i = 0; i < kRequests; ++i) {
    asio::co_spawn(
        ioc,
        [&, i]() -> asio::awaitable<void> {
          const bool committed = co_await wait->wait(click(i));
          // Durable before the waiter resumes: the store counts it committed.
          if (committed && store->stats().appended >= static_cast<std::uint64_t>(done + 1)) ++ok;
          ++done;
        },
        asio::detached);
  }
  ioc.run();
  EXPECT_EQ(done, kRequests);
  EXPECT_EQ(ok, kRequests);
  EXPECT_EQ(*store->count(), kRequests);
  // All 200 were produced in one round: one flush, one wake-up, one commit.
  EXPECT_EQ(store->stats().commits, 1u);
}

TEST(CommitWait, AHungStoreReleasesWaitersAfterMaxWaitAndLosesNothing) {
  TempDir dir;
  const std::string db = dir.path + "/e.db";
  auto store = open_store(db);
  ASSERT_TRUE(store);
  // Another process holds the write lock (the store's busy timeout is 5 s).
  const std::string marker = dir.path + "/locked";
  const std::string cmd = "sqlite3 '" + db + "' >/dev/null";
  FILE* holder = popen(cmd.c_str(), "w");
  ASSERT_NE(holder, nullptr);
  std::fprintf(holder, "BEGIN IMMEDIATE;\n.shell touch '%s'\n", marker.c_str());
  std::fflush(holder);
  for (int i = 0; i < 500 && !fs::exists(marker); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(fs::exists(marker));

  asio::io_context ioc;
  auto wait = std::make_shared<CommitWait>(ioc, *store, std::chrono::milliseconds(300));
  int results = 0;
  int committed = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) {
    asio::co_spawn(
        ioc,
        [&, i]() -> asio::awaitable<void> {
          committed += co_await wait->wait(click(i)) ? 1 : 0;
          ++results;
        },
        asio::detached);
  }
  ioc.run();
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(results, 3);
  EXPECT_EQ(committed, 0);
  EXPECT_GE(waited, std::chrono::milliseconds(290));
  EXPECT_LT(waited, std::chrono::seconds(3));
  // The lock goes; the store commits the events (the drain finds no waiter).
  std::fprintf(holder, "COMMIT;\n");
  pclose(holder);
  for (int i = 0; i < 500 && store->stats().appended < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(store->stats().appended, 3u);
  ioc.restart();
  ioc.run();  // the late drain: resumes nothing
  EXPECT_EQ(*store->count(), 3);
}

}  // namespace
}  // namespace trackrelay::track
