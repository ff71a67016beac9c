// store/statement.h — one prepared SQLite statement (bind, step, read
// columns) and a column's bytes, shared by the store classes (domain,
// webhook, certificate, event stores) so each writes only its SQL and its
// row mapping. Internal to store/. May call: store/schema.h, SQLite.
#pragma once

#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

#include "base/result.h"
#include "store/schema.h"

namespace trackrelay::store::internal {

// A column's bytes ("" for NULL); text and blobs alike.
inline std::string column_text(sqlite3_stmt* s, int c) {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(s, c));
  return p == nullptr ? std::string()
                      : std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s, c)));
}

using Value = std::variant<std::int64_t, std::string_view, std::nullptr_t>;

// One statement: bind, step, read columns. A failure to prepare, bind or
// step is kept in error(); step() is then false.
class Query {
 public:
  Query(sqlite3* db, std::string_view sql) : db_(db) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &s, nullptr) !=
        SQLITE_OK) {
      error_ = errmsg(db);
    }
    stmt_.reset(s);
  }
  Query(sqlite3* db, std::string_view sql, std::initializer_list<Value> values) : Query(db, sql) {
    bind(values);
  }
  Query& bind(std::initializer_list<Value> values) {
    int i = 1;
    for (const Value& v : values) {
      if (!stmt_) break;
      if (const auto* n = std::get_if<std::int64_t>(&v)) {
        sqlite3_bind_int64(stmt_.get(), i, *n);
      } else if (const auto* t = std::get_if<std::string_view>(&v)) {
        sqlite3_bind_text(stmt_.get(), i, t->data(), static_cast<int>(t->size()), SQLITE_TRANSIENT);
      } else {
        sqlite3_bind_null(stmt_.get(), i);
      }
      ++i;
    }
    return *this;
  }
  // True for a row; false when done or failed (see error()).
  bool step() {
    if (!stmt_) return false;
    const int rc = sqlite3_step(stmt_.get());
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) error_ = errmsg(db_);
    return false;
  }
  // Runs a statement without rows; the error, if any.
  Result<bool> run() {
    step();
    if (failed()) return Error{error_};
    return true;
  }
  const std::string& error() const { return error_; }
  bool failed() const { return !error_.empty(); }
  std::int64_t i64(int c) const { return sqlite3_column_int64(stmt_.get(), c); }
  bool null(int c) const { return sqlite3_column_type(stmt_.get(), c) == SQLITE_NULL; }
  std::string text(int c) const { return column_text(stmt_.get(), c); }

 private:
  sqlite3* db_;
  Stmt stmt_;
  std::string error_;
};

}  // namespace trackrelay::store::internal
