// store/location.h — what the `store` setting names: an SQLite file (the
// embedded default for one machine) or a PostgreSQL database
// (postgresql:// or postgres:// URI, shared by many processes). For callers
// outside store/ that prepare or report the location; the store classes'
// open() pick the backend themselves. May call: base/, libpq (through
// store/pg.h).
#pragma once

#include <string>
#include <string_view>

namespace trackrelay::store {

// What a store object's open() does when a PostgreSQL server cannot be
// reached now (Errc::kUnavailable: refused, timed out, a name that does not
// resolve). kNow: the error (one-shot commands such as `keys` and `events`
// fail at once). kWhenReachable (`serve` only): it opens anyway, and its
// first statement after the server answers connects and brings or checks the
// schema; until then statements fail with kUnavailable, as during an outage
// of a running node. Wrong credentials, a missing database or a schema newer
// than this binary are errors either way. SQLite ignores it.
enum class Connect { kNow, kWhenReachable };

// Whether `store` names a PostgreSQL database rather than an SQLite file.
bool is_database_uri(std::string_view store);

// For an SQLite store: creates the directory of its file (a failure shows
// when the file is opened). Nothing for PostgreSQL.
void make_store_directory(const std::string& store);

// `store` fit for logs and messages: the file path, or the URI without its
// password.
std::string store_name(const std::string& store);

}  // namespace trackrelay::store
