// store/db.h — the one SQL connection interface of the store classes, with
// two implementations: SQLite (store/db_sqlite.cc, the embedded default for
// one machine) and PostgreSQL (store/pg.h, libpq, shared by many processes).
// The `store` setting picks one: a file path is SQLite, a postgresql:// or
// postgres:// URI is PostgreSQL (open_connection()). The store classes write
// portable SQL with `?` placeholders and read columns with i64()/text()/
// null(); where one statement cannot be portable they branch on backend() in
// one place. Internal to store/. May call: base/, store/schema.h, SQLite.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "base/result.h"
#include "store/location.h"  // Connect

struct sqlite3;

namespace trackrelay::store::internal {

enum class Backend { kSqlite, kPostgres };

// A bound parameter: an integer, bytes (text or blob) or NULL. Bytes are
// copied when bound, so a temporary may be bound.
using Value = std::variant<std::int64_t, std::string_view, std::nullptr_t>;

// One statement of a connection: bind, step through its rows, read columns.
// A failure to prepare, bind or run is kept in error(); step() is then false.
class Statement {
 public:
  virtual ~Statement() = default;
  // Binds `values` to the placeholders in order (replacing earlier values).
  virtual void bind(std::initializer_list<Value> values) = 0;
  // True for a row; false when done or failed. The first call runs it.
  virtual bool step() = 0;
  virtual std::int64_t i64(int c) const = 0;
  virtual bool null(int c) const = 0;
  // The column's bytes ("" for NULL); text and blobs alike.
  virtual std::string text(int c) const = 0;
  // Rows inserted, updated or deleted by the statement, once stepped.
  virtual std::int64_t changes() const = 0;
  virtual const std::string& error() const = 0;
  // kUnavailable when the database could not be reached, else kFailed.
  virtual Errc code() const = 0;
};

// One connection (not thread-safe: each store guards its own with a mutex).
class Connection {
 public:
  virtual ~Connection() = default;
  virtual Backend backend() const = 0;
  // For messages: the file path, or the URI without its password.
  virtual const std::string& name() const = 0;
  virtual std::unique_ptr<Statement> statement(std::string_view sql) = 0;
  // Runs one or more statements without parameters or rows (DDL, BEGIN).
  virtual Result<bool> exec(std::string_view sql) = 0;
  // A write transaction: SQLite BEGIN IMMEDIATE (takes the write lock now,
  // so a read-then-write cannot deadlock), PostgreSQL BEGIN.
  virtual Result<bool> begin_write() = 0;
  // A read transaction that sees one snapshot: SQLite BEGIN (deferred),
  // PostgreSQL BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY.
  virtual Result<bool> begin_read() = 0;
  virtual Result<bool> commit() = 0;
  virtual Result<bool> rollback() = 0;
  // The SQLite handle (nullptr on PostgreSQL), for SQLite-only code paths.
  virtual sqlite3* sqlite_handle() { return nullptr; }
};

// Whether `store` names a PostgreSQL database (postgresql:// or postgres://).
bool is_postgres_uri(std::string_view store);

// Opens the store named by `store` (a file path or a PostgreSQL URI) and
// brings its schema to this version (store/schema.h). `create`: SQLite may
// create a missing file (PostgreSQL always creates the schema in its
// database). SQLite connections are in WAL mode with synchronous=FULL.
// `connect`: what an unreachable PostgreSQL server means (store/location.h).
Result<std::unique_ptr<Connection>> open_connection(const std::string& store, bool create,
                                                    Connect connect = Connect::kNow);

// An SQLite statement on a raw handle (code that still owns a sqlite3*).
std::unique_ptr<Statement> sqlite_statement(sqlite3* db, std::string_view sql);

// One statement, either backend:
//   Query q(conn, "SELECT a FROM t WHERE b = ?", {b});
//   while (q.step()) use(q.i64(0));
//   if (q.failed()) ...;     or, without rows:   auto r = q.run();
class Query {
 public:
  Query(Connection& conn, std::string_view sql) : st_(conn.statement(sql)) {}
  Query(Connection& conn, std::string_view sql, std::initializer_list<Value> values)
      : Query(conn, sql) {
    bind(values);
  }
  Query(sqlite3* db, std::string_view sql) : st_(sqlite_statement(db, sql)) {}
  Query(sqlite3* db, std::string_view sql, std::initializer_list<Value> values) : Query(db, sql) {
    bind(values);
  }
  Query& bind(std::initializer_list<Value> values) {
    st_->bind(values);
    return *this;
  }
  bool step() { return st_->step(); }
  // Runs a statement without rows; the error, if any.
  Result<bool> run() {
    step();
    if (failed()) return Error{error(), st_->code()};
    return true;
  }
  const std::string& error() const { return st_->error(); }
  bool failed() const { return !st_->error().empty(); }
  Errc code() const { return st_->code(); }
  std::int64_t i64(int c) const { return st_->i64(c); }
  bool null(int c) const { return st_->null(c); }
  std::string text(int c) const { return st_->text(c); }
  std::int64_t changes() const { return st_->changes(); }

 private:
  std::unique_ptr<Statement> st_;
};

}  // namespace trackrelay::store::internal
