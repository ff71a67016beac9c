// tests/store/event_backends.h — the event suites on both backends: a test
// fixture whose store() is a fresh SQLite file or a fresh PostgreSQL database
// (tests/store/pg_fixture.h), and an independent reader (another
// connection, as another process would use) to check what was committed.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "pg_fixture.h"
#include "store/event_sql.h"
#include "store_test_util.h"

namespace trackrelay::store::testing {

class EventBackends : public ::testing::TestWithParam<Backend> {
 protected:
  // The store value of this test (created on first use).
  const std::string& store() {
    if (store_.empty()) store_ = fresh_store(GetParam(), dir_, "e.db");
    return store_;
  }
  const TempDir& dir() const { return dir_; }

 private:
  TempDir dir_;
  std::string store_;
};

// The first column of the first row of `sql` through a new connection to
// `store` (the sqlite3 CLI for SQLite), as text; the error text on failure.
inline std::string independent(const std::string& store, const std::string& sql) {
  if (!internal::is_postgres_uri(store)) return sqlite(store, sql);
  auto reader = internal::EventReader::open(store);
  if (!reader) return reader.error();
  std::string out;
  auto r = (*reader)->each(sql, {}, [&out](const internal::Row& row) {
    if (out.empty()) out = row.text(0);
  });
  return r ? out : r.error();
}

}  // namespace trackrelay::store::testing
