// tests/store/pg_fixture.h — the store suites' backends: a fresh store value
// for SQLite (a file in a TempDir) or PostgreSQL (a new database on the one
// server of this build, started by tests/support/pgserver.py on first use and
// reused by every test process; the ctest fixture store_pgserver_stop stops
// it and deletes its directory).
// PostgreSQL missing or failing to start fails the test, never skips it.
// Parameterise a suite with
//   INSTANTIATE_TEST_SUITE_P(Backends, Suite, kBackends, backend_name);
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <map>
#include <ostream>
#include <string>

#include "store/db.h"
#include "store/pg.h"
#include "store_test_util.h"

namespace trackrelay::store::testing {

using internal::Backend;

}  // namespace trackrelay::store::testing

namespace trackrelay::store::internal {
inline void PrintTo(Backend b, std::ostream* os) {
  *os << (b == Backend::kSqlite ? "sqlite" : "postgres");
}
}  // namespace trackrelay::store::internal

namespace trackrelay::store::testing {

inline const auto kBackends = ::testing::Values(Backend::kSqlite, Backend::kPostgres);

inline std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
}

// The server directory of this build tree (tests/CMakeLists.txt).
inline std::string pg_server_dir() {
  return TRACKRELAY_PG_DIR;
}

// Runs tests/support/pgserver.py ARGS; its stdout (trimmed), or "" after
// recording a test failure with its output.
inline std::string pgserver(const std::string& args) {
  std::string cmd = std::string("python3 '") + TRACKRELAY_SOURCE_DIR +
                    "/tests/support/pgserver.py' " + args + " 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) {
    ADD_FAILURE() << "cannot run " << cmd;
    return "";
  }
  char buf[512];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    ADD_FAILURE() << "PostgreSQL test server: " << cmd << " failed: " << out;
    return "";
  }
  return out;
}

// The server's URI (its `postgres` database), started on first use in this
// process (pgserver.py reuses a running server). "" after a failure.
inline const std::string& pg_server_uri() {
  static const std::string uri = pgserver("start '" + pg_server_dir() + "'");
  return uri;
}

// Runs one statement as the server's superuser; false after recording a
// test failure.
inline bool pg_admin(const std::string& sql) {
  if (pg_server_uri().empty()) return false;
  auto c = internal::PgConnection::connect(pg_server_uri());
  if (!c) {
    ADD_FAILURE() << c.error();
    return false;
  }
  (*c)->set_statement_deadline(std::chrono::milliseconds::zero());  // CREATE DATABASE may be slow
  auto r = (*c)->exec(sql);
  if (!r) ADD_FAILURE() << sql << ": " << r.error();
  return r.ok();
}

// The URI of a new, empty database named after the running test.
inline std::string pg_database() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = "t";
  if (info != nullptr) name += std::string("_") + info->test_suite_name() + "_" + info->name();
  for (char& c : name) {
    c = std::isalnum(static_cast<unsigned char>(c)) != 0
            ? static_cast<char>(std::tolower(static_cast<unsigned char>(c)))
            : '_';
  }
  static int counter = 0;
  name = name.substr(0, 40) + "_" + std::to_string(getpid()) + "_" + std::to_string(++counter);
  if (!pg_admin("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")) return "";
  if (!pg_admin("CREATE DATABASE " + name)) return "";
  const std::string& server = pg_server_uri();
  return server.substr(0, server.rfind('/') + 1) + name;
}

// Drops the database `uri` names (the end of a test that made it).
inline void drop_pg_database(const std::string& uri) {
  const std::string name = uri.substr(uri.rfind('/') + 1);
  (void)pg_admin("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
}

// A store value naming a fresh store of `backend` (`dir` holds SQLite's file).
inline std::string fresh_store(Backend backend, const TempDir& dir,
                               const std::string& file = "store.db") {
  return backend == Backend::kSqlite ? dir.file(file) : pg_database();
}

// Reads `sql` through the backend's own client, independent of store/: the
// sqlite3 CLI, or psql (unaligned, tuples only: columns joined by '|', as
// the CLI prints them). Output without trailing newlines.
inline std::string read_sql(const std::string& store, const std::string& sql) {
  if (!internal::is_postgres_uri(store)) return sqlite(store, sql);
  return command_output("/usr/lib/postgresql/15/bin/psql -X -q -A -t -d '" + store + "' -c \"" +
                        sql + "\" 2>&1");
}

// A suite run once per backend: store("name") is a fresh store value, the
// same one for the same name within a test.
class BackendTest : public ::testing::TestWithParam<Backend> {
 protected:
  ~BackendTest() override {
    for (const auto& [name, value] : stores_) {
      if (internal::is_postgres_uri(value)) drop_pg_database(value);
    }
  }
  const std::string& store(const std::string& name = "store.db") {
    auto it = stores_.find(name);
    if (it == stores_.end()) it = stores_.emplace(name, fresh_store(GetParam(), dir_, name)).first;
    return it->second;
  }
  bool postgres() const { return GetParam() == Backend::kPostgres; }
  TempDir dir_;

 private:
  std::map<std::string, std::string> stores_;
};

}  // namespace trackrelay::store::testing
