// store/location.cc — see location.h. May call: base/, store/db.h, store/pg.h.
#include "store/location.h"

#include <filesystem>
#include <system_error>

#include "store/db.h"
#include "store/pg.h"

namespace trackrelay::store {

bool is_database_uri(std::string_view store) {
  return internal::is_postgres_uri(store);
}

void make_store_directory(const std::string& store) {
  if (is_database_uri(store)) return;
  const std::filesystem::path db(store);
  if (!db.has_parent_path()) return;
  std::error_code ec;
  std::filesystem::create_directories(db.parent_path(), ec);
}

std::string store_name(const std::string& store) {
  return is_database_uri(store) ? internal::redacted_uri(store) : store;
}

}  // namespace trackrelay::store
