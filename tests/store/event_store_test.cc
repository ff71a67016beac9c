// tests/store/event_store_test.cc — EventStore: schema and versions, group
// commit under concurrent writers, durability across reopen, queries and
// cursors, and a store that fails (disk full) completing its waiters.
#include "store/event_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>

#include "pg_fixture.h"
#include "store/event_json.h"
#include "store_test_util.h"

namespace trackrelay::store {
namespace {

namespace fs = std::filesystem;
using testing::sqlite;
using TempDir = testing::TempDir;

Event make(std::string type, std::int64_t ts, std::string campaign = "c1") {
  Event e;
  e.type = std::move(type);
  e.timestamp_ms = ts;
  e.tracking_domain = "click.example.com";
  e.target_link_url = "https://example.com/a?b=1&c=2";
  e.target_link_name = "cta";
  e.message_id = "m1@example.com";
  e.rcpt_to = "alice@example.net";
  e.campaign_id = std::move(campaign);
  e.sending_domain = "example.com";
  e.user_agent = "Mozilla/5.0";
  e.ip_address = "192.0.2.7";
  e.method = "GET";
  return e;
}

std::unique_ptr<EventStore> open_at(const std::string& path) {
  Options o;
  o.path = path;
  auto s = EventStore::open(std::move(o));
  EXPECT_TRUE(s.ok()) << (s ? "" : s.error());
  return s ? std::move(s).value() : nullptr;
}

TEST(EventStore, CreatesVersionedWalSchema) {
  TempDir dir;
  const std::string db = dir.file("e.db");
  auto s = open_at(db);
  ASSERT_TRUE(s);
  EXPECT_EQ(sqlite(db, "PRAGMA user_version"), std::to_string(kSchemaVersion));
  EXPECT_EQ(sqlite(db, "PRAGMA journal_mode"), "wal");
  EXPECT_TRUE(s->health().ok);
}

TEST(EventStore, RefusesNewerSchemaAndForeignFiles) {
  TempDir dir;
  const std::string newer = dir.file("newer.db");
  sqlite(newer, "PRAGMA user_version=99");
  Options o;
  o.path = newer;
  auto s = EventStore::open(o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().find("schema version 99"), std::string::npos) << s.error();

  const std::string foreign = dir.file("foreign.db");
  sqlite(foreign, "CREATE TABLE events(x)");
  o.path = foreign;
  auto f = EventStore::open(o);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().find("not a trackrelay store"), std::string::npos) << f.error();
}

TEST(EventStore, MissingFileIsAnErrorWhenNotCreating) {
  TempDir dir;
  Options o;
  o.path = dir.file("absent.db");
  o.create = false;
  auto s = EventStore::open(o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Errc::kNotFound) << s.error();  // app/events.cc: EX_NOINPUT
  EXPECT_NE(s.error().find("no event store"), std::string::npos) << s.error();
  EXPECT_FALSE(fs::exists(o.path));
}

// The tests below run on SQLite and on PostgreSQL.
class EventStoreBackends : public testing::BackendTest {};
INSTANTIATE_TEST_SUITE_P(Backends, EventStoreBackends, testing::kBackends, testing::backend_name);
using testing::read_sql;

TEST_P(EventStoreBackends, EventsSurviveReopenWithEveryField) {
  const std::string db = store();
  {
    auto s = open_at(db);
    ASSERT_TRUE(s);
    Event e = make("click", 1714564800123);
    e.method = "HEAD";
    ASSERT_TRUE(s->append_and_wait(e).ok());
  }
  auto s = open_at(db);
  ASSERT_TRUE(s);
  Query q;
  auto page = s->query(q);
  ASSERT_TRUE(page.ok()) << page.error();
  ASSERT_EQ(page->events.size(), 1u);
  const Event& e = page->events[0];
  EXPECT_EQ(e.type, "click");
  EXPECT_EQ(e.timestamp_ms, 1714564800123);
  EXPECT_EQ(e.target_link_url, "https://example.com/a?b=1&c=2");
  EXPECT_EQ(e.target_link_name, "cta");
  EXPECT_EQ(e.message_id, "m1@example.com");
  EXPECT_EQ(e.rcpt_to, "alice@example.net");
  EXPECT_EQ(e.campaign_id, "c1");
  EXPECT_EQ(e.sending_domain, "example.com");
  EXPECT_EQ(e.user_agent, "Mozilla/5.0");
  EXPECT_EQ(e.ip_address, "192.0.2.7");
  EXPECT_EQ(e.method, "HEAD");
  EXPECT_FALSE(e.event_id.empty());
  EXPECT_TRUE(page->next_cursor.empty());
}

TEST_P(EventStoreBackends, ConcurrentWritersShareCommits) {
  auto s = open_at(store());
  ASSERT_TRUE(s);
  constexpr int kThreads = 8;
  constexpr int kEach = 500;
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        s->append(make("open", t * 100000 + i), [&](const Result<bool>& r) {
          if (!r) ++failures;
          std::lock_guard lock(mu);
          if (++done == kThreads * kEach) cv.notify_one();
        });
      }
    });
  }
  for (auto& t : threads) t.join();
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(
        cv.wait_for(lock, std::chrono::seconds(60), [&] { return done == kThreads * kEach; }));
  }
  EXPECT_EQ(failures.load(), 0);
  auto n = s->count();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, kThreads * kEach);
  const Stats st = s->stats();
  EXPECT_EQ(st.appended, static_cast<std::uint64_t>(kThreads * kEach));
  // Group commit: far fewer transactions than events.
  EXPECT_LT(st.commits, static_cast<std::uint64_t>(kThreads * kEach) / 4) << st.commits;
}

TEST_P(EventStoreBackends, CompletionRunsOnlyAfterCommit) {
  const std::string db = store();
  auto s = open_at(db);
  ASSERT_TRUE(s);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(s->append_and_wait(make("click", i)).ok());
    // Another connection (another process) sees it at once.
    EXPECT_EQ(read_sql(db, "SELECT count(*) FROM events"), std::to_string(i + 1));
  }
}

TEST_P(EventStoreBackends, QueriesFilterAndPage) {
  auto s = open_at(store());
  ASSERT_TRUE(s);
  for (int i = 0; i < 30; ++i) {
    const char* type = i % 3 == 0 ? "click" : i % 3 == 1 ? "open" : "initial_open";
    ASSERT_TRUE(s->append_and_wait(make(type, 1000 + i, i < 15 ? "spring" : "summer")).ok());
  }
  Query q;
  q.types = {"click"};
  auto clicks = s->query(q);
  ASSERT_TRUE(clicks.ok());
  EXPECT_EQ(clicks->events.size(), 10u);
  for (const Event& e : clicks->events) EXPECT_EQ(e.type, "click");
  EXPECT_GT(clicks->events.front().seq, clicks->events.back().seq);  // newest first

  q = Query{};
  q.campaign_ids = {"summer"};
  q.from_ms = 1020;
  q.to_ms = 1025;
  auto window = s->query(q);
  ASSERT_TRUE(window.ok());
  ASSERT_EQ(window->events.size(), 5u);
  for (const Event& e : window->events) {
    EXPECT_GE(e.timestamp_ms, 1020);
    EXPECT_LT(e.timestamp_ms, 1025);
  }

  // Pages of 7, oldest first, cover every event exactly once.
  q = Query{};
  q.limit = 7;
  q.newest_first = false;
  std::vector<std::int64_t> seen;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = s->query(q);
    ASSERT_TRUE(page.ok());
    for (const Event& e : page->events) seen.push_back(e.timestamp_ms);
    if (page->next_cursor.empty()) break;
    q.cursor = page->next_cursor;
  }
  ASSERT_EQ(seen.size(), 30u);
  for (int i = 0; i < 30; ++i) EXPECT_EQ(seen[i], 1000 + i);

  q = Query{};
  q.cursor = "abc";
  EXPECT_FALSE(s->query(q).ok());
  q = Query{};
  q.limit = 0;
  EXPECT_FALSE(s->query(q).ok());
  q = Query{};
  q.types = {"bounce"};
  EXPECT_FALSE(s->query(q).ok());
}

TEST(EventStore, DiskFullCompletesWaitersAndReportsHealth) {
  TempDir dir;
  Options o;
  o.path = dir.file("e.db");
  o.max_page_count = 12;  // a few KiB: "disk full" after some events
  auto opened = EventStore::open(o);
  ASSERT_TRUE(opened.ok()) << opened.error();
  auto& s = *opened;
  Event big = make("click", 1);
  big.target_link_url = "https://example.com/" + std::string(3000, 'x');
  bool failed = false;
  for (int i = 0; i < 200 && !failed; ++i) {
    auto r = s->append_and_wait(big);  // returns: never blocks on a failing store
    failed = !r.ok();
    if (failed) {
      EXPECT_NE(r.error().find("full"), std::string::npos) << r.error();
    }
  }
  ASSERT_TRUE(failed);
  const Health h = s->health();
  EXPECT_FALSE(h.ok);
  EXPECT_NE(h.reason.find("full"), std::string::npos) << h.reason;
  EXPECT_GT(s->stats().failed, 0u);
  // Committed events are intact.
  auto n = s->count();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(static_cast<std::uint64_t>(*n), s->stats().appended);
}

TEST(EventJson, FieldsAndTimestamps) {
  Event e = make("open", 1714564800123);
  auto o = to_json(e);
  EXPECT_EQ(o.at("timestamp").as_string(), "2024-05-01T12:00:00.123Z");
  EXPECT_EQ(o.at("type").as_string(), "open");
  EXPECT_FALSE(o.contains("target_link_url"));  // clicks only
  EXPECT_EQ(to_json(make("click", 0)).at("target_link_url").as_string(),
            "https://example.com/a?b=1&c=2");

  EXPECT_EQ(parse_iso8601_ms("2024-05-01T12:00:00.123Z"), 1714564800123);
  EXPECT_EQ(parse_iso8601_ms("2024-05-01T14:00:00+02:00"), 1714564800000);
  EXPECT_EQ(parse_iso8601_ms("2024-05-01"), 1714521600000);
  EXPECT_EQ(parse_iso8601_ms("1714564800"), 1714564800000);
  EXPECT_FALSE(parse_iso8601_ms("2024-02-30"));
  EXPECT_FALSE(parse_iso8601_ms("yesterday"));
  EXPECT_FALSE(parse_iso8601_ms("2024-05-01T12:00:00Zjunk"));
}

}  // namespace
}  // namespace trackrelay::store
