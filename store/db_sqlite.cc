// store/db_sqlite.cc — the SQLite implementation of store/db.h (one file in
// WAL mode), and open_connection() choosing the backend. May call: base/,
// store/schema.h, store/pg.h, SQLite.
#include <sqlite3.h>

#include <string>
#include <utility>

#include "store/db.h"
#include "store/pg.h"
#include "store/schema.h"

namespace trackrelay::store::internal {
namespace {

class SqliteStatement final : public Statement {
 public:
  SqliteStatement(sqlite3* db, std::string_view sql) : db_(db) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &s, nullptr) !=
        SQLITE_OK) {
      error_ = errmsg(db);
    }
    stmt_.reset(s);
  }
  void bind(std::initializer_list<Value> values) override {
    if (!stmt_) return;
    int i = 1;
    for (const Value& v : values) {
      if (const auto* n = std::get_if<std::int64_t>(&v)) {
        sqlite3_bind_int64(stmt_.get(), i, *n);
      } else if (const auto* t = std::get_if<std::string_view>(&v)) {
        sqlite3_bind_text(stmt_.get(), i, t->data(), static_cast<int>(t->size()), SQLITE_TRANSIENT);
      } else {
        sqlite3_bind_null(stmt_.get(), i);
      }
      ++i;
    }
  }
  bool step() override {
    if (!stmt_) return false;
    const int rc = sqlite3_step(stmt_.get());
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) {
      changes_ = sqlite3_changes(db_);
    } else {
      error_ = errmsg(db_);
    }
    return false;
  }
  std::int64_t i64(int c) const override { return sqlite3_column_int64(stmt_.get(), c); }
  bool null(int c) const override { return sqlite3_column_type(stmt_.get(), c) == SQLITE_NULL; }
  std::string text(int c) const override {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_.get(), c));
    return p == nullptr
               ? std::string()
               : std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_.get(), c)));
  }
  std::int64_t changes() const override { return changes_; }
  const std::string& error() const override { return error_; }
  Errc code() const override { return Errc::kFailed; }

 private:
  sqlite3* db_;
  Stmt stmt_;
  std::string error_;
  std::int64_t changes_ = 0;
};

class SqliteConnection final : public Connection {
 public:
  SqliteConnection(Db db, std::string path) : db_(std::move(db)), path_(std::move(path)) {}
  Backend backend() const override { return Backend::kSqlite; }
  const std::string& name() const override { return path_; }
  std::unique_ptr<Statement> statement(std::string_view sql) override {
    return std::make_unique<SqliteStatement>(db_.get(), sql);
  }
  Result<bool> exec(std::string_view sql) override {
    return internal::exec(db_.get(), std::string(sql).c_str());
  }
  Result<bool> begin_write() override { return internal::exec(db_.get(), "BEGIN IMMEDIATE"); }
  Result<bool> begin_read() override { return internal::exec(db_.get(), "BEGIN"); }
  Result<bool> commit() override { return internal::exec(db_.get(), "COMMIT"); }
  Result<bool> rollback() override { return internal::exec(db_.get(), "ROLLBACK"); }
  sqlite3* sqlite_handle() override { return db_.get(); }

 private:
  Db db_;
  std::string path_;
};

}  // namespace

bool is_postgres_uri(std::string_view store) {
  return store.starts_with("postgresql://") || store.starts_with("postgres://");
}

std::unique_ptr<Statement> sqlite_statement(sqlite3* db, std::string_view sql) {
  return std::make_unique<SqliteStatement>(db, sql);
}

namespace {

// PostgreSQL: connected and the schema checked now, or (kWhenReachable, the
// server unreachable) at the first statement after it answers (store/pg.h).
Result<std::unique_ptr<Connection>> open_pg(const std::string& store, Connect connect) {
  auto pg = connect == Connect::kNow ? PgConnection::connect(store)
                                     : PgConnection::open_when_reachable(store, kOpenTimeout);
  if (!pg) return pg.failure();
  if (connect == Connect::kNow) {
    if (auto r = ensure_pg_schema(**pg); !r) return r.failure();
  }
  return std::unique_ptr<Connection>(std::move(pg).value());
}

}  // namespace

Result<std::unique_ptr<Connection>> open_connection(const std::string& store, bool create,
                                                    Connect connect) {
  if (is_postgres_uri(store)) return open_pg(store, connect);
  auto db = open_db(store, create);
  if (!db) return db.failure();
  if (auto r = ensure_schema(db->get(), store); !r) return r.failure();
  if (auto r = internal::exec(db->get(), "PRAGMA synchronous=FULL"); !r)
    return Error{store + ": " + r.error()};
  return std::unique_ptr<Connection>(
      std::make_unique<SqliteConnection>(std::move(db).value(), store));
}

}  // namespace trackrelay::store::internal
