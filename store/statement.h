// store/statement.h — a column's bytes read from a raw SQLite statement (the
// event files still own their sqlite3 handles), and store/db.h's Query for
// code that included this header. Internal to store/. May call:
// store/db.h, store/schema.h, SQLite.
#pragma once

#include <sqlite3.h>

#include <cstddef>
#include <string>

#include "store/db.h"
#include "store/schema.h"

namespace trackrelay::store::internal {

// A column's bytes ("" for NULL); text and blobs alike.
inline std::string column_text(sqlite3_stmt* s, int c) {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(s, c));
  return p == nullptr ? std::string()
                      : std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s, c)));
}

}  // namespace trackrelay::store::internal
