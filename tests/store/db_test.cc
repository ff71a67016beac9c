// tests/store/db_test.cc — store/db.h on both backends against real
// databases: open creates and migrates the schema (twice is a no-op, two at
// once do not race), values round-trip (bytes with NUL, NULL, the int64
// range), changes(), RETURNING, ON CONFLICT, rollback; PostgreSQL's
// placeholder numbering, errors that never show the password, an unreachable
// server as Errc::kUnavailable, a newer schema refused, and the statement
// deadline; connections opened while the server is unreachable
// (store::Connect::kWhenReachable) that check the schema at first use, and
// refusals that are not outages.
#include "store/db.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <thread>

#include "pg_fixture.h"
#include "store/event_store.h"  // kSchemaVersion
#include "store/pg.h"

namespace trackrelay::store {
namespace {

using internal::Backend;
using internal::Connection;
using internal::Query;
using testing::fresh_store;
using testing::TempDir;

class Db : public ::testing::TestWithParam<Backend> {
 protected:
  std::unique_ptr<Connection> open() {
    if (store_.empty()) store_ = fresh_store(GetParam(), dir_);
    auto c = internal::open_connection(store_, true);
    EXPECT_TRUE(c.ok()) << (c ? "" : c.error());
    return c ? std::move(c).value() : nullptr;
  }
  TempDir dir_;
  std::string store_;
};

TEST_P(Db, OpensAndMigratesToTheCurrentVersionOnce) {
  auto c = open();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->backend(), GetParam());
  const char* sql = GetParam() == Backend::kSqlite ? "PRAGMA user_version"
                                                   : "SELECT version FROM trackrelay_schema";
  Query v(*c, sql);
  ASSERT_TRUE(v.step()) << v.error();
  EXPECT_EQ(v.i64(0), kSchemaVersion);
  // Every table of the end state is there (one column of each).
  for (const char* t :
       {"events.seq", "subaccounts.id", "tracking_domains.domain", "sending_domains.txt_token",
        "api_keys.grants", "meta.value", "webhooks.cursor_seq", "webhook_batches.payload",
        "webhook_attempts.error", "webhook_lease.owner", "certificates.serial", "acme_accounts.kid",
        "acme_challenges.token", "acme_lease.holder"}) {
    const std::string s(t);
    const auto dot = s.find('.');
    Query q(*c, "SELECT count(" + s.substr(dot + 1) + ") FROM " + s.substr(0, dot));
    EXPECT_TRUE(q.step()) << t << ": " << q.error();
  }
  auto again = open();  // a second open finds it current
  ASSERT_TRUE(again);
  Query d(*again, "SELECT value FROM meta WHERE key = 'domains_version'");
  ASSERT_TRUE(d.step()) << d.error();
  EXPECT_EQ(d.i64(0), 0);
  EXPECT_FALSE(d.step());
}

TEST_P(Db, TwoProcessesOpeningAFreshStoreTogetherDoNotRace) {
  store_ = fresh_store(GetParam(), dir_);
  std::string errors[4];
  std::thread threads[4];
  for (int i = 0; i < 4; ++i) {
    threads[i] = std::thread([&, i] {
      auto c = internal::open_connection(store_, true);
      if (!c) errors[i] = c.error();
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& e : errors) EXPECT_EQ(e, "");
}

TEST_P(Db, ValuesRoundTrip) {
  auto c = open();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->exec("CREATE TABLE t (id BIGINT PRIMARY KEY, s TEXT, n BIGINT)").ok());
  const std::int64_t big = std::numeric_limits<std::int64_t>::max();
  const std::int64_t small = std::numeric_limits<std::int64_t>::min();
  const std::string text = "h\xc3\xa9llo 'quoted' ? \"q\"";
  {
    Query q(*c, "INSERT INTO t (id, s, n) VALUES (?, ?, ?), (?, ?, ?)",
            {std::int64_t{1}, std::string_view(text), big, std::int64_t{2}, nullptr, small});
    ASSERT_TRUE(q.run().ok()) << q.error();
    EXPECT_EQ(q.changes(), 2);
  }
  Query q(*c,
          "SELECT id, s, n, s IS NULL FROM t WHERE id >= ? AND s IS NOT NULL OR id = 2 "
          "ORDER BY id",
          {std::int64_t{1}});
  ASSERT_TRUE(q.step()) << q.error();
  EXPECT_EQ(q.text(1), text);
  EXPECT_EQ(q.i64(2), big);
  EXPECT_FALSE(q.null(1));
  ASSERT_TRUE(q.step());
  EXPECT_TRUE(q.null(1));
  EXPECT_EQ(q.text(1), "");
  EXPECT_EQ(q.i64(2), small);
  EXPECT_EQ(q.i64(3), 1);
  EXPECT_FALSE(q.step());
  EXPECT_FALSE(q.failed());
}

TEST_P(Db, BytesWithNulRoundTripThroughABlobColumn) {
  auto c = open();
  ASSERT_TRUE(c);
  const std::string hash("\x00\x01\xff\x7f'\\x", 7);
  Query ins(*c,
            "INSERT INTO api_keys (prefix, hash, label, created_ms) VALUES (?, ?, ?, ?) "
            "RETURNING id",
            {"abcd", std::string_view(hash), "label", std::int64_t{5}});
  ASSERT_TRUE(ins.step()) << ins.error();
  const std::int64_t id = ins.i64(0);
  EXPECT_GT(id, 0);
  Query q(*c, "SELECT hash FROM api_keys WHERE id = ? AND hash = ?", {id, std::string_view(hash)});
  ASSERT_TRUE(q.step()) << q.error();
  EXPECT_EQ(q.text(0), hash);
}

TEST_P(Db, OnConflictAndChangesAndRollback) {
  auto c = open();
  ASSERT_TRUE(c);
  const char* upsert =
      "INSERT INTO webhook_lease (name, owner, expires_ms) VALUES (?, ?, ?) ON CONFLICT (name) "
      "DO UPDATE SET owner = excluded.owner, expires_ms = excluded.expires_ms "
      "WHERE webhook_lease.expires_ms < ?";
  Query a(*c, upsert, {"d", "a", std::int64_t{100}, std::int64_t{50}});
  ASSERT_TRUE(a.run().ok()) << a.error();
  EXPECT_EQ(a.changes(), 1);
  Query b(*c, upsert, {"d", "b", std::int64_t{200}, std::int64_t{50}});  // still held
  ASSERT_TRUE(b.run().ok()) << b.error();
  EXPECT_EQ(b.changes(), 0);
  ASSERT_TRUE(c->begin_write().ok());
  Query d(*c, "DELETE FROM webhook_lease");
  ASSERT_TRUE(d.run().ok());
  EXPECT_EQ(d.changes(), 1);
  ASSERT_TRUE(c->rollback().ok());
  Query s(*c, "SELECT owner FROM webhook_lease");
  ASSERT_TRUE(s.step()) << s.error();
  EXPECT_EQ(s.text(0), "a");
}

TEST_P(Db, AFailedStatementReportsItsError) {
  auto c = open();
  ASSERT_TRUE(c);
  Query q(*c, "SELECT nope FROM no_such_table");
  EXPECT_FALSE(q.step());
  EXPECT_TRUE(q.failed());
  EXPECT_NE(q.error().find("no_such_table"), std::string::npos) << q.error();
  EXPECT_FALSE(c->exec("NOT SQL").ok());
}

INSTANTIATE_TEST_SUITE_P(Backends, Db, testing::kBackends, testing::backend_name);

TEST(Postgres, NumbersPlaceholdersOutsideQuotes) {
  EXPECT_EQ(internal::number_placeholders("SELECT ?, '?', \"a?\", ? WHERE x = 'it''s ?' AND ?"),
            "SELECT $1, '?', \"a?\", $2 WHERE x = 'it''s ?' AND $3");
}

TEST(Postgres, ErrorsNameTheServerButNeverThePassword) {
  // A port nothing listens on (the test server's, plus one, is unlikely to be used).
  auto c = internal::open_connection("postgresql://alice:s3cret@127.0.0.1:1/db1", true);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.code(), Errc::kUnavailable);
  EXPECT_NE(c.error().find("postgresql://alice@127.0.0.1:1/db1"), std::string::npos) << c.error();
  EXPECT_EQ(c.error().find("s3cret"), std::string::npos) << c.error();
  auto bad = internal::open_connection("postgresql://x:pw@[::1/db?nonsense=1", true);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.code(), Errc::kInvalid);
  EXPECT_NE(bad.error().find("invalid PostgreSQL URI postgresql://x@[::1"), std::string::npos)
      << bad.error();
  EXPECT_EQ(bad.error().find("pw@"), std::string::npos) << bad.error();
}

TEST(Postgres, RefusesANewerSchema) {
  TempDir dir;
  const std::string uri = fresh_store(Backend::kPostgres, dir);
  ASSERT_FALSE(uri.empty());
  {
    auto c = internal::open_connection(uri, true);
    ASSERT_TRUE(c.ok()) << c.error();
    ASSERT_TRUE((*c)->exec("UPDATE trackrelay_schema SET version = 99").ok());
  }
  auto again = internal::open_connection(uri, true);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().find("newer than this trackrelay understands"), std::string::npos)
      << again.error();
}

// store::Connect::kWhenReachable (`serve`): only an unreachable server is
// opened anyway; a server that answers and refuses is the error either way.
TEST(Postgres, OpensLaterOnlyWhenTheServerIsUnreachable) {
  const std::string away = "postgresql://alice:s3cret@127.0.0.1:1/db1";
  auto now = internal::open_connection(away, true);
  ASSERT_FALSE(now.ok());
  EXPECT_EQ(now.code(), Errc::kUnavailable);
  auto later = internal::open_connection(away, true, Connect::kWhenReachable);
  ASSERT_TRUE(later.ok()) << later.error();
  Query q(**later, "SELECT 1");
  EXPECT_FALSE(q.step());
  EXPECT_EQ(q.code(), Errc::kUnavailable) << q.error();
  EXPECT_EQ(q.error().find("s3cret"), std::string::npos) << q.error();

  const std::string& server = testing::pg_server_uri();
  ASSERT_FALSE(server.empty());
  const std::string base = server.substr(0, server.rfind('/') + 1);  // …@127.0.0.1:port/
  for (const std::string& refused :
       {base + "no_such_database_here",
        "postgresql://nobody_here@" + base.substr(base.find('@') + 1) + "postgres"}) {
    auto c = internal::open_connection(refused, true, Connect::kWhenReachable);
    ASSERT_FALSE(c.ok()) << refused;
    EXPECT_EQ(c.code(), Errc::kFailed) << c.error();
    EXPECT_NE(c.error().find("does not exist"), std::string::npos) << c.error();
  }
}

// A connection opened later brings the schema at its first statement, and
// a schema it must refuse fails every statement (never kUnavailable).
TEST(Postgres, AConnectionOpenedLaterChecksTheSchemaAtFirstUse) {
  TempDir dir;
  const std::string uri = fresh_store(Backend::kPostgres, dir);
  ASSERT_FALSE(uri.empty());
  auto c = internal::PgConnection::later(uri);
  ASSERT_TRUE(c.ok()) << c.error();
  Query v(**c, "SELECT version FROM trackrelay_schema");
  ASSERT_TRUE(v.step()) << v.error();
  EXPECT_EQ(v.i64(0), kSchemaVersion);
  ASSERT_TRUE((*c)->exec("UPDATE trackrelay_schema SET version = 99").ok());

  auto newer = internal::PgConnection::later(uri);
  ASSERT_TRUE(newer.ok()) << newer.error();
  for (int i = 0; i < 2; ++i) {
    Query q(**newer, "SELECT 1");
    EXPECT_FALSE(q.step());
    EXPECT_EQ(q.code(), Errc::kFailed) << q.error();
    EXPECT_NE(q.error().find("newer than this trackrelay understands"), std::string::npos)
        << q.error();
  }
  EXPECT_FALSE((*newer)->ensure_connected(std::chrono::milliseconds(2000)).ok());
}

TEST(Postgres, RefusesAForeignDatabase) {
  TempDir dir;
  const std::string uri = fresh_store(Backend::kPostgres, dir);
  ASSERT_FALSE(uri.empty());
  {
    auto c = internal::PgConnection::connect(uri);
    ASSERT_TRUE(c.ok()) << c.error();
    ASSERT_TRUE((*c)->exec("CREATE TABLE events (x INT)").ok());
  }
  auto again = internal::open_connection(uri, true);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().find("not a trackrelay store"), std::string::npos) << again.error();
}

// Ends every other session on `uri`'s database, as a server restart would.
void kill_sessions(const std::string& uri) {
  const std::string db = uri.substr(uri.rfind('/') + 1);
  ASSERT_TRUE(
      testing::pg_admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                        "datname = '" +
                        db + "' AND pid <> pg_backend_pid()"));
}

TEST(Postgres, ALostConnectionIsResetAndATransactionBeginsOnTheNewOne) {
  TempDir dir;
  const std::string uri = fresh_store(Backend::kPostgres, dir);
  auto c = internal::open_connection(uri, true);
  ASSERT_TRUE(c.ok()) << c.error();
  Connection& conn = **c;
  kill_sessions(uri);
  ASSERT_TRUE(conn.begin_write().ok()) << "BEGIN is sent again on a fresh connection";
  Query ins(conn, "INSERT INTO meta (key, value) VALUES ('k', 1)");
  ASSERT_TRUE(ins.run().ok()) << ins.error();
  ASSERT_TRUE(conn.commit().ok());
  kill_sessions(uri);
  Query lost(conn, "SELECT value FROM meta WHERE key = 'k'");
  EXPECT_FALSE(lost.step()) << "a statement on a dead connection fails once";
  EXPECT_EQ(lost.code(), Errc::kUnavailable) << lost.error();
  Query again(conn, "SELECT value FROM meta WHERE key = 'k'");
  ASSERT_TRUE(again.step()) << again.error();
  EXPECT_EQ(again.i64(0), 1);
}

TEST(Postgres, ALostConnectionInsideATransactionFailsUntilRollback) {
  TempDir dir;
  const std::string uri = fresh_store(Backend::kPostgres, dir);
  auto c = internal::open_connection(uri, true);
  ASSERT_TRUE(c.ok()) << c.error();
  Connection& conn = **c;
  ASSERT_TRUE(conn.begin_write().ok());
  Query one(conn, "INSERT INTO meta (key, value) VALUES ('a', 1)");
  ASSERT_TRUE(one.run().ok()) << one.error();
  kill_sessions(uri);
  Query two(conn, "INSERT INTO meta (key, value) VALUES ('b', 2)");
  EXPECT_FALSE(two.run().ok());
  Query three(conn, "INSERT INTO meta (key, value) VALUES ('c', 3)");
  EXPECT_FALSE(three.run().ok()) << "never half a transaction on a new connection";
  EXPECT_FALSE(conn.commit().ok());
  ASSERT_TRUE(conn.rollback().ok());
  EXPECT_EQ(testing::read_sql(uri, "SELECT count(*) FROM meta WHERE key IN ('a', 'b', 'c')"), "0");
  Query after(conn, "SELECT count(*) FROM meta");
  ASSERT_TRUE(after.step()) << after.error();
}

// A statement the server does not answer within the statement deadline
// (here: it waits for a lock another session holds, as on a server that
// hangs) fails with kUnavailable once the deadline passes and closes the
// session; inside a transaction the transaction is lost (its later
// statements and COMMIT fail, nothing of it is kept); outside one the next
// statement runs on a new session.
TEST(Postgres, AStatementPastItsDeadlineClosesTheSession) {
  using std::chrono::milliseconds;
  TempDir dir;
  const std::string uri = fresh_store(Backend::kPostgres, dir);
  auto c = internal::open_connection(uri, true);
  auto holder = internal::PgConnection::connect(uri);
  ASSERT_TRUE(c.ok() && holder.ok());
  auto& conn = static_cast<internal::PgConnection&>(**c);
  EXPECT_EQ(conn.statement_deadline(), internal::kStatementDeadline);
  conn.set_statement_deadline(milliseconds(300));
  ASSERT_TRUE((*holder)->exec("BEGIN; LOCK TABLE meta IN ACCESS EXCLUSIVE MODE").ok());

  ASSERT_TRUE(conn.begin_write().ok());
  const auto started = std::chrono::steady_clock::now();
  Query ins(conn, "INSERT INTO meta (key, value) VALUES ('d', 4)");
  EXPECT_FALSE(ins.run().ok());
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(ins.code(), Errc::kUnavailable);
  EXPECT_NE(ins.error().find("no answer within 300 ms"), std::string::npos) << ins.error();
  EXPECT_GE(took, milliseconds(300));
  EXPECT_LT(took, milliseconds(2000));
  Query next(conn, "SELECT 1");
  EXPECT_FALSE(next.step()) << "never half a transaction on a new session";
  EXPECT_FALSE(conn.commit().ok());
  ASSERT_TRUE(conn.rollback().ok());

  Query blocked(conn, "SELECT count(*) FROM meta");  // outside a transaction
  EXPECT_FALSE(blocked.step());
  EXPECT_EQ(blocked.code(), Errc::kUnavailable) << blocked.error();
  ASSERT_TRUE((*holder)->exec("COMMIT").ok());
  Query after(conn, "SELECT count(*) FROM meta WHERE key = 'd'");
  ASSERT_TRUE(after.step()) << after.error();
  EXPECT_EQ(after.i64(0), 0);
  EXPECT_EQ(testing::read_sql(uri, "SELECT count(*) FROM meta WHERE key = 'd'"), "0");
}

TEST(Postgres, DeliversNotifications) {
  TempDir dir;
  const std::string uri = fresh_store(Backend::kPostgres, dir);
  auto listener = internal::PgConnection::connect(uri);
  auto sender = internal::PgConnection::connect(uri);
  ASSERT_TRUE(listener.ok() && sender.ok());
  ASSERT_TRUE((*listener)->exec("LISTEN domains").ok());
  EXPECT_GE((*listener)->socket(), 0);
  ASSERT_TRUE((*sender)->exec("NOTIFY domains, 'v2'").ok());
  std::vector<internal::Notification> got;
  for (int i = 0; i < 100 && got.empty(); ++i) {
    auto n = (*listener)->notifies();
    ASSERT_TRUE(n.ok()) << n.error();
    got = *n;
    if (got.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].channel, "domains");
  EXPECT_EQ(got[0].payload, "v2");
}

}  // namespace
}  // namespace trackrelay::store
