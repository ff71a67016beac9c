// tests/store/event_store_pg_test.cc — EventStore on PostgreSQL only: while
// the database is away (its connections refused and cut) appends complete
// once fsynced in the local spool and health() says so; when it is back the
// spool is shipped and every event is in the database exactly once; a spool
// left by a writer that died after its events committed ships no duplicates;
// text PostgreSQL would refuse (invalid UTF-8, NUL) is stored, not lost; a
// database that hangs rather than refuses (a server of its own, SIGSTOPped)
// costs an append one round trip's deadline, then the batch is spooled.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "pg_fixture.h"
#include "store/event_spool.h"
#include "store/event_store.h"
#include "store/pg.h"

namespace trackrelay::store {
namespace {

namespace fs = std::filesystem;
using testing::read_sql;
using testing::TempDir;

Event click(int i) {
  Event e;
  e.type = "click";
  e.timestamp_ms = 1795000000000 + i;
  e.tracking_domain = "click.example.com";
  e.target_link_url = "https://example.com/" + std::to_string(i);
  e.method = "GET";
  return e;
}

std::size_t spool_files(const std::string& dir) {
  std::size_t n = 0;
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(dir, ec)) n += f.path().extension() == ".spool";
  return n;
}

// The database of `uri` refusing connections (and its open ones cut), or
// accepting them again: PostgreSQL "away" for this test only (the server is
// shared with the other tests).
class Outage {
 public:
  explicit Outage(const std::string& uri) : db_(uri.substr(uri.rfind('/') + 1)) {
    auto admin = internal::PgConnection::connect(uri.substr(0, uri.rfind('/') + 1) + "postgres");
    EXPECT_TRUE(admin.ok()) << (admin ? "" : admin.error());
    if (admin) admin_ = std::move(admin).value();
  }
  void begin() {
    run("ALTER DATABASE \"" + db_ + "\" ALLOW_CONNECTIONS false");
    run("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + db_ + "'");
  }
  void end() { run("ALTER DATABASE \"" + db_ + "\" ALLOW_CONNECTIONS true"); }

 private:
  void run(const std::string& sql) {
    ASSERT_TRUE(admin_);
    auto r = admin_->exec(sql);
    ASSERT_TRUE(r.ok()) << sql << ": " << r.error();
  }
  std::string db_;
  std::unique_ptr<internal::PgConnection> admin_;
};

std::unique_ptr<EventStore> open_pg(const std::string& uri, const std::string& spool) {
  Options o;
  o.path = uri;
  o.spool_dir = spool;
  o.retry_ms = 100;
  auto s = EventStore::open(std::move(o));
  EXPECT_TRUE(s.ok()) << (s ? "" : s.error());
  return s ? std::move(s).value() : nullptr;
}

// Waits until `done()` (at most 30 s).
template <class F>
bool eventually(F done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

TEST(EventStorePg, SpoolsWhileTheDatabaseIsAwayThenShipsEachEventOnce) {
  TempDir dir;
  const std::string uri = testing::pg_database();
  const std::string spool = dir.file("spool");
  auto s = open_pg(uri, spool);
  ASSERT_TRUE(s);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(s->append_and_wait(click(i)).ok());
  EXPECT_EQ(spool_files(spool), 0u);

  Outage outage(uri);
  outage.begin();
  for (int i = 5; i < 12; ++i) {
    auto r = s->append_and_wait(click(i));
    ASSERT_TRUE(r.ok()) << "acknowledged once on local disk: " << r.error();
  }
  const Health h = s->health();
  EXPECT_FALSE(h.ok);
  EXPECT_TRUE(h.spooling);
  EXPECT_NE(h.reason.find(spool), std::string::npos) << h.reason;
  EXPECT_GT(h.failing_since_ms, 0);
  EXPECT_EQ(spool_files(spool), 1u);
  EXPECT_EQ(s->stats().appended, 12u);

  outage.end();
  ASSERT_TRUE(eventually([&] { return s->health().ok; })) << s->health().reason;
  ASSERT_TRUE(s->append_and_wait(click(12)).ok());
  EXPECT_EQ(read_sql(uri, "SELECT count(*) FROM events"), "13");
  EXPECT_EQ(read_sql(uri, "SELECT count(DISTINCT event_id) FROM events"), "13");
  EXPECT_EQ(read_sql(uri, "SELECT count(DISTINCT ts_ms) FROM events"), "13");
  EXPECT_EQ(spool_files(spool), 0u);
  // In order: the spooled events were committed before the one after the outage.
  EXPECT_EQ(read_sql(uri, "SELECT ts_ms FROM events ORDER BY seq DESC LIMIT 1"),
            std::to_string(click(12).timestamp_ms));
}

// `serve` started while the database is away (Connect::kWhenReachable): the
// store opens, spools from the first event, and once the database answers
// creates the schema and ships the spool.
TEST(EventStorePg, OpenedWhileTheDatabaseIsAwaySpoolsThenShips) {
  TempDir dir;
  const std::string uri = testing::pg_database();  // empty: no schema yet
  const std::string spool = dir.file("spool");
  Outage outage(uri);
  outage.begin();
  Options o;
  o.path = uri;
  o.retry_ms = 100;
  EXPECT_FALSE(EventStore::open(o).ok()) << "kNow: the error";
  o.spool_dir = spool;
  o.connect = Connect::kWhenReachable;
  auto opened = EventStore::open(std::move(o));
  ASSERT_TRUE(opened.ok()) << opened.error();
  auto& s = *opened;
  EXPECT_FALSE(s->health().ok);
  EXPECT_TRUE(s->health().spooling) << s->health().reason;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(s->append_and_wait(click(i)).ok());
  EXPECT_EQ(spool_files(spool), 1u);
  outage.end();
  ASSERT_TRUE(eventually([&] { return s->health().ok; })) << s->health().reason;
  EXPECT_EQ(read_sql(uri, "SELECT count(DISTINCT event_id) FROM events"), "3");
  EXPECT_EQ(read_sql(uri, "SELECT version FROM trackrelay_schema"), std::to_string(kSchemaVersion));
  EXPECT_EQ(spool_files(spool), 0u);
}

TEST(EventStorePg, WithoutASpoolAnUnreachableDatabaseFailsTheAppend) {
  const std::string uri = testing::pg_database();
  auto s = open_pg(uri, "");
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->append_and_wait(click(0)).ok());
  Outage outage(uri);
  outage.begin();
  EXPECT_FALSE(s->append_and_wait(click(1)).ok());
  EXPECT_FALSE(s->health().ok);
  EXPECT_FALSE(s->health().spooling);
  outage.end();
  ASSERT_TRUE(eventually([&] { return s->append_and_wait(click(2)).ok(); }));
  EXPECT_TRUE(s->health().ok);
  EXPECT_EQ(read_sql(uri, "SELECT count(*) FROM events"), "2");
}

TEST(EventStorePg, SpoolOfADeadWriterIsShippedAtStartWithoutDuplicates) {
  TempDir dir;
  const std::string uri = testing::pg_database();
  const std::string spool = dir.file("spool");
  std::vector<Event> events;
  for (int i = 0; i < 4; ++i) {
    events.push_back(click(i));
    events.back().event_id = std::to_string(7000 + i);
  }
  {
    auto s = open_pg(uri, "");
    ASSERT_TRUE(s);
    // Three of them committed before the writer died ...
    ASSERT_TRUE(s->append_all_and_wait({events[0], events[1], events[2]}).ok());
  }
  {
    // ... and all four were still in its spool file.
    auto dead = EventSpool::open(spool);
    ASSERT_TRUE(dead.ok());
    ASSERT_TRUE((*dead)->append(events).ok());
  }
  ASSERT_EQ(spool_files(spool), 1u);
  auto s = open_pg(uri, spool);
  ASSERT_TRUE(s);
  ASSERT_TRUE(eventually([&] { return spool_files(spool) == 0; }));
  EXPECT_EQ(read_sql(uri, "SELECT count(*) FROM events"), "4");
  EXPECT_EQ(read_sql(uri, "SELECT min(event_id) || ' ' || max(event_id) FROM events"), "7000 7003");
}

// A PostgreSQL server of this test's own (tests/support/pgserver.py), so it
// can hang (SIGSTOP) without stopping the tests that share the build's
// server; resumed and deleted in every path.
class OwnServer {
 public:
  OwnServer() {
    // As root the server runs as `postgres`: its directory must be reachable.
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "trackrelay-pg-hang-XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr && chmod(tmpl.c_str(), 0755) == 0) dir_ = tmpl;
    EXPECT_FALSE(dir_.empty()) << "cannot create " << tmpl;
  }
  ~OwnServer() {
    if (!dir_.empty()) testing::pgserver("destroy '" + dir_ + "'");  // resumes first
  }
  OwnServer(const OwnServer&) = delete;
  OwnServer& operator=(const OwnServer&) = delete;
  std::string database(const std::string& name) {
    return testing::pgserver("createdb '" + dir_ + "' " + name);
  }
  void hang() { testing::pgserver("hang '" + dir_ + "'"); }
  void resume() { testing::pgserver("resume '" + dir_ + "'"); }

 private:
  std::string dir_;
};

TEST(EventStorePg, AHangingDatabaseCostsOneDeadlineThenTheBatchIsSpooledAndShipped) {
  OwnServer server;
  const std::string uri = server.database("events");
  ASSERT_FALSE(uri.empty());
  TempDir dir;
  const std::string spool = dir.file("spool");
  Options o;
  o.path = uri;
  o.spool_dir = spool;
  o.retry_ms = 100;
  o.round_trip_ms = 200;
  auto opened = EventStore::open(std::move(o));
  ASSERT_TRUE(opened.ok()) << opened.error();
  auto& s = *opened;
  ASSERT_TRUE(s->append_and_wait(click(0)).ok());

  server.hang();
  // The first append finds the session hung (its INSERT gets no answer), the
  // later ones find the spool holding events or a connect that gets none:
  // each waits a deadline or two, never for the server.
  for (int i = 1; i < 8; ++i) {
    const auto started = std::chrono::steady_clock::now();
    auto r = s->append_and_wait(click(i));
    const auto took = std::chrono::steady_clock::now() - started;
    ASSERT_TRUE(r.ok()) << "acknowledged once on local disk: " << r.error();
    EXPECT_LT(took, std::chrono::milliseconds(1500)) << "append " << i << " waited for the server";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let reconnects happen
  }
  const Health h = s->health();
  EXPECT_FALSE(h.ok);
  EXPECT_TRUE(h.spooling);
  EXPECT_NE(h.reason.find("no answer within 200 ms"), std::string::npos) << h.reason;
  EXPECT_EQ(spool_files(spool), 1u);

  server.resume();
  ASSERT_TRUE(eventually([&] { return s->health().ok && spool_files(spool) == 0; }))
      << s->health().reason;
  ASSERT_TRUE(s->append_and_wait(click(8)).ok());
  EXPECT_EQ(read_sql(uri, "SELECT count(*) FROM events"), "9");
  EXPECT_EQ(read_sql(uri, "SELECT count(DISTINCT event_id) FROM events"), "9");
  EXPECT_EQ(read_sql(uri, "SELECT count(DISTINCT ts_ms) FROM events"), "9");
}

// A database that answers but not in time (here: the events table locked by
// another session, so the INSERT waits): the batch's wait budget cuts the
// round trip long before its own deadline; the INSERT left on the dropped
// session runs once the lock goes, and shipping the spool adds no duplicate.
TEST(EventStorePg, TheWaitBudgetCutsARoundTripThatWouldEndTooLate) {
  TempDir dir;
  const std::string uri = testing::pg_database();
  const std::string spool = dir.file("spool");
  Options o;
  o.path = uri;
  o.spool_dir = spool;
  o.retry_ms = 2000;
  o.round_trip_ms = 10000;
  o.wait_budget_ms = 300;
  auto opened = EventStore::open(std::move(o));
  ASSERT_TRUE(opened.ok()) << opened.error();
  auto& s = *opened;
  ASSERT_TRUE(s->append_and_wait(click(0)).ok());

  auto locker = internal::PgConnection::connect(uri);
  ASSERT_TRUE(locker.ok()) << locker.error();
  ASSERT_TRUE((*locker)->exec("BEGIN").ok());
  ASSERT_TRUE((*locker)->exec("LOCK TABLE events IN EXCLUSIVE MODE").ok());
  const auto started = std::chrono::steady_clock::now();
  auto r = s->append_and_wait(click(1));
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_LT(took, std::chrono::milliseconds(3000)) << "the append waited for the lock";
  EXPECT_TRUE(s->health().spooling);
  EXPECT_EQ(spool_files(spool), 1u);
  ASSERT_TRUE(s->append_and_wait(click(2)).ok());  // behind it in the spool

  ASSERT_TRUE((*locker)->exec("COMMIT").ok());
  ASSERT_TRUE(eventually([&] { return s->health().ok && spool_files(spool) == 0; }))
      << s->health().reason;
  EXPECT_EQ(read_sql(uri, "SELECT count(*) FROM events"), "3");
  EXPECT_EQ(read_sql(uri, "SELECT count(DISTINCT event_id) FROM events"), "3");
}

// After a long outage the spool is shipped a slice at a time: an append
// made meanwhile is written (or spooled behind) between two slices, it does
// not wait for the whole spool.
TEST(EventStorePg, ALargeSpoolIsShippedInSlicesBetweenAppends) {
  TempDir dir;
  const std::string uri = testing::pg_database();
  const std::string spool = dir.file("spool");
  constexpr int kSpooled = 30000;
  {
    auto dead = EventSpool::open(spool);  // a writer that died with these spooled
    ASSERT_TRUE(dead.ok());
    std::vector<Event> events;
    for (int i = 0; i < kSpooled; ++i) events.push_back(click(i));
    for (int i = 0; i < kSpooled; ++i)
      events[static_cast<std::size_t>(i)].event_id = std::to_string(100000 + i);
    ASSERT_TRUE((*dead)->append(events).ok());
  }
  Options o;
  o.path = uri;
  o.spool_dir = spool;
  o.round_trip_ms = 250;  // slices of 250 ms: several of them on any machine
  auto opened = EventStore::open(std::move(o));
  ASSERT_TRUE(opened.ok()) << opened.error();
  auto& s = *opened;
  ASSERT_TRUE(eventually([&] { return read_sql(uri, "SELECT count(*) FROM events") != "0"; }));
  ASSERT_TRUE(s->append_and_wait(click(kSpooled)).ok());
  EXPECT_EQ(spool_files(spool), 1u) << "the append waited for the whole spool";
  ASSERT_TRUE(eventually([&] { return spool_files(spool) == 0 && s->health().ok; }));
  EXPECT_EQ(read_sql(uri, "SELECT count(*) FROM events"), std::to_string(kSpooled + 1));
  EXPECT_EQ(read_sql(uri, "SELECT count(DISTINCT event_id) FROM events"),
            std::to_string(kSpooled + 1));
}

TEST(EventStorePg, TextPostgresqlWouldRefuseIsStoredNotLost) {
  const std::string uri = testing::pg_database();
  auto s = open_pg(uri, "");
  ASSERT_TRUE(s);
  Event e = click(0);
  e.user_agent = std::string("ok\xff\xc3(\0z", 7);  // invalid UTF-8 and a NUL byte
  e.target_link_name = "caf\xc3\xa9";               // valid UTF-8 stays as it is
  ASSERT_TRUE(s->append_and_wait(e).ok());
  auto page = s->query(Query{});
  ASSERT_TRUE(page.ok()) << page.error();
  ASSERT_EQ(page->events.size(), 1u);
  EXPECT_EQ(page->events[0].user_agent, "ok\xef\xbf\xbd\xef\xbf\xbd(z");
  EXPECT_EQ(page->events[0].target_link_name, "caf\xc3\xa9");
}

}  // namespace
}  // namespace trackrelay::store
