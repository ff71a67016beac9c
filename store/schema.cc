// store/schema.cc — see schema.h. May call: base/, store/db.h, store/pg.h (a
// URI named in a refusal), SQLite.
#include "store/schema.h"

#include <chrono>
#include <filesystem>
#include <thread>

#include "store/db.h"
#include "store/event_store.h"
#include "store/pg.h"

namespace trackrelay::store::internal {
namespace {

constexpr int kBusyTimeoutMs = 5000;

constexpr const char* kSchemaV1 =
    "CREATE TABLE events ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  event_id TEXT NOT NULL,"
    "  type TEXT NOT NULL,"
    "  ts_ms INTEGER NOT NULL,"
    "  tracking_domain TEXT NOT NULL,"
    "  target_link_url TEXT NOT NULL,"
    "  target_link_name TEXT NOT NULL,"
    "  message_id TEXT NOT NULL,"
    "  rcpt_to TEXT NOT NULL,"
    "  campaign_id TEXT NOT NULL,"
    "  sending_domain TEXT NOT NULL,"
    "  user_agent TEXT NOT NULL,"
    "  ip_address TEXT NOT NULL,"
    "  method TEXT NOT NULL);"
    "CREATE INDEX events_ts ON events(ts_ms);"
    "PRAGMA user_version = 1;";

// Domains are unique across accounts: the tracker serves a host, the engine
// maps a From: domain, so one name can belong to one (sub)account only.
constexpr const char* kSchemaV2 =
    "CREATE TABLE subaccounts ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  name TEXT NOT NULL,"
    "  status TEXT NOT NULL DEFAULT 'active',"
    "  created_ms INTEGER NOT NULL);"
    "CREATE TABLE tracking_domains ("
    "  domain TEXT PRIMARY KEY,"
    "  subaccount_id INTEGER NOT NULL DEFAULT 0,"
    "  port INTEGER,"
    "  secure INTEGER NOT NULL DEFAULT 0,"
    "  is_default INTEGER NOT NULL DEFAULT 0,"
    "  default_on_verify INTEGER NOT NULL DEFAULT 0,"
    "  verified INTEGER NOT NULL DEFAULT 0,"
    "  cname_status TEXT NOT NULL DEFAULT 'unverified',"
    "  compliance_status TEXT NOT NULL DEFAULT 'valid',"
    "  found TEXT NOT NULL DEFAULT '',"
    "  message TEXT NOT NULL DEFAULT '',"
    "  checked_ms INTEGER NOT NULL DEFAULT 0,"
    "  failures INTEGER NOT NULL DEFAULT 0,"
    "  http_token TEXT NOT NULL DEFAULT '',"
    "  created_ms INTEGER NOT NULL);"
    "CREATE TABLE sending_domains ("
    "  domain TEXT PRIMARY KEY,"
    "  subaccount_id INTEGER NOT NULL DEFAULT 0,"
    "  tracking_domain TEXT NOT NULL DEFAULT '',"
    "  created_ms INTEGER NOT NULL);"
    "CREATE TABLE api_keys ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  prefix TEXT NOT NULL,"
    "  hash BLOB NOT NULL,"
    "  label TEXT NOT NULL,"
    "  subaccount_id INTEGER NOT NULL DEFAULT 0,"
    "  created_ms INTEGER NOT NULL,"
    "  last_used_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX api_keys_prefix ON api_keys(prefix);"
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "INSERT INTO meta VALUES ('domains_version', 0);"
    "PRAGMA user_version = 2;";

// Tenancy (issue 10): a sending domain counts for mail only once proven in
// DNS (a TXT record with its token; rows from version 2 get a token and start
// unverified), and every event carries the (sub)account that sent its mail,
// so visibility never depends on a domain name that may change hands.
constexpr const char* kSchemaV3 =
    "ALTER TABLE sending_domains ADD COLUMN verified INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE sending_domains ADD COLUMN txt_status TEXT NOT NULL DEFAULT 'unverified';"
    "ALTER TABLE sending_domains ADD COLUMN txt_token TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE sending_domains ADD COLUMN found TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE sending_domains ADD COLUMN message TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE sending_domains ADD COLUMN checked_ms INTEGER NOT NULL DEFAULT 0;"
    "UPDATE sending_domains SET txt_token = lower(hex(randomblob(16)));"
    "ALTER TABLE events ADD COLUMN subaccount_id INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX events_subaccount ON events(subaccount_id, ts_ms);"
    "PRAGMA user_version = 3;";

// Subaccounts (issue 11, subaccounts part): an API key's grants (SparkPost's
// key_grants; "" = everything, so every existing key keeps what it could do).
constexpr const char* kSchemaV4 =
    "ALTER TABLE api_keys ADD COLUMN grants TEXT NOT NULL DEFAULT '';"
    "PRAGMA user_version = 4;";

// --- Migration 5 (issue 11, engagement events; the events branch): the
// message fields of SparkPost's events, injection events, and indexes for
// the events API's common filters and the click/open → injection join. ---
constexpr const char* kSchemaV5 =
    "ALTER TABLE events ADD COLUMN transmission_id TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE events ADD COLUMN raw_rcpt_to TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE events ADD COLUMN rcpt_meta TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE events ADD COLUMN rcpt_tags TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE events ADD COLUMN friendly_from TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE events ADD COLUMN msg_from TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE events ADD COLUMN msg_size INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX events_transmission ON events(transmission_id, type);"
    "CREATE INDEX events_campaign ON events(campaign_id, ts_ms);"
    "CREATE INDEX events_rcpt ON events(rcpt_to, ts_ms);"
    "CREATE INDEX events_type ON events(type, ts_ms);"
    "PRAGMA user_version = 5;";

// --- Migration 6 --- Who clicked (issue 13): each click and open carries its classification
// (track/classify.h) and the rules that matched (comma-separated names).
// Rows from earlier versions stay unclassified ('').
constexpr const char* kSchemaV6 =
    "ALTER TABLE events ADD COLUMN classification TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE events ADD COLUMN classification_reasons TEXT NOT NULL DEFAULT '';"
    "PRAGMA user_version = 6;";

// --- Migration 7 --- Webhooks (issue 13, webhook/): each webhook keeps a cursor over the events
// table (the durable, ordered log: seq); the dispatcher cuts the events
// after it into a batch row and advances the cursor in one transaction, so a
// batch is either wholly queued or not cut at all (at-least-once across
// SIGKILL). webhook_attempts: every delivery attempt (batch-status).
// webhook_lease: the one dispatcher per store file. IF NOT EXISTS: a test
// that winds a fresh file back to an older version keeps these tables.
constexpr const char* kSchemaV7 =
    "CREATE TABLE IF NOT EXISTS webhooks ("
    "  id TEXT PRIMARY KEY,"
    "  subaccount_id INTEGER NOT NULL DEFAULT 0,"
    "  all_accounts INTEGER NOT NULL DEFAULT 0,"
    "  name TEXT NOT NULL,"
    "  target TEXT NOT NULL,"
    "  events TEXT NOT NULL,"
    "  auth_type TEXT NOT NULL DEFAULT 'none',"
    "  auth_username TEXT NOT NULL DEFAULT '',"
    "  auth_password TEXT NOT NULL DEFAULT '',"
    "  signing_secret TEXT NOT NULL,"
    "  active INTEGER NOT NULL DEFAULT 1,"
    "  cursor_seq INTEGER NOT NULL DEFAULT 0,"
    "  last_successful_ms INTEGER NOT NULL DEFAULT 0,"
    "  last_failure_ms INTEGER NOT NULL DEFAULT 0,"
    "  created_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS webhook_batches ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  webhook_id TEXT NOT NULL,"
    "  batch_id TEXT NOT NULL,"
    "  first_seq INTEGER NOT NULL,"
    "  last_seq INTEGER NOT NULL,"
    "  event_count INTEGER NOT NULL,"
    "  payload TEXT NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'pending',"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  created_ms INTEGER NOT NULL,"
    "  next_attempt_ms INTEGER NOT NULL,"
    "  last_attempt_ms INTEGER NOT NULL DEFAULT 0,"
    "  response_code INTEGER NOT NULL DEFAULT 0,"
    "  last_error TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX IF NOT EXISTS webhook_batches_due ON webhook_batches(webhook_id, state, "
    "next_attempt_ms);"
    "CREATE TABLE IF NOT EXISTS webhook_attempts ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  webhook_id TEXT NOT NULL,"
    "  batch_row INTEGER NOT NULL,"
    "  batch_id TEXT NOT NULL,"
    "  attempt INTEGER NOT NULL,"
    "  ts_ms INTEGER NOT NULL,"
    "  response_code INTEGER NOT NULL,"
    "  state TEXT NOT NULL,"
    "  error TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS webhook_attempts_hook ON webhook_attempts(webhook_id, id);"
    "CREATE TABLE IF NOT EXISTS webhook_lease ("
    "  name TEXT PRIMARY KEY,"
    "  owner TEXT NOT NULL,"
    "  expires_ms INTEGER NOT NULL);"
    "PRAGMA user_version = 7;";

// Certificates (issue 14, acme/): one row per served name, from ACME or
// uploaded (source), with its state for the API; the ACME account key per
// directory; HTTP-01 key authorizations any process sharing the store
// answers; and the issuance lease (one issuer per store).
constexpr const char* kSchemaV8 =
    "CREATE TABLE certificates ("
    "  domain TEXT PRIMARY KEY,"
    "  source TEXT NOT NULL DEFAULT 'acme',"
    "  status TEXT NOT NULL DEFAULT 'pending',"
    "  message TEXT NOT NULL DEFAULT '',"
    "  chain_pem TEXT NOT NULL DEFAULT '',"
    "  key_pem TEXT NOT NULL DEFAULT '',"
    "  not_before_ms INTEGER NOT NULL DEFAULT 0,"
    "  not_after_ms INTEGER NOT NULL DEFAULT 0,"
    "  serial TEXT NOT NULL DEFAULT '',"
    "  failures INTEGER NOT NULL DEFAULT 0,"
    "  next_try_ms INTEGER NOT NULL DEFAULT 0,"
    "  updated_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE acme_accounts ("
    "  directory TEXT PRIMARY KEY,"
    "  key_pem TEXT NOT NULL,"
    "  kid TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE acme_challenges ("
    "  token TEXT PRIMARY KEY,"
    "  key_authorization TEXT NOT NULL,"
    "  domain TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL);"
    "CREATE TABLE acme_lease ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  holder TEXT NOT NULL,"
    "  expires_ms INTEGER NOT NULL);"
    "PRAGMA user_version = 8;";

static_assert(kSchemaVersion == 8, "add the migration for the new version here");

Result<std::int64_t> user_version(sqlite3* db);

// Runs one step unless another process did it first: the version is re-read
// inside the write transaction (BEGIN IMMEDIATE serialises writers).
Result<bool> migrate(sqlite3* db, const std::string& path, const char* sql, int to) {
  if (auto begin = exec(db, "BEGIN IMMEDIATE"); !begin) return Error{path + ": " + begin.error()};
  auto now = user_version(db);
  if (now && *now >= to) return exec(db, "COMMIT");
  auto done = now ? exec(db, sql) : Result<bool>(Error{now.error()});
  if (done) done = exec(db, "COMMIT");
  if (!done) {
    (void)exec(db, "ROLLBACK");
    return Error{"cannot migrate " + path + " to schema version " + std::to_string(to) + ": " +
                 done.error()};
  }
  return true;
}

}  // namespace

std::string errmsg(sqlite3* db) {
  return db != nullptr ? sqlite3_errmsg(db) : "out of memory";
}

Result<bool> exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err != nullptr ? err : errmsg(db);
    sqlite3_free(err);
    return Error{msg};
  }
  return true;
}

Result<Stmt> prepare(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &s, nullptr) != SQLITE_OK) {
    return Error{errmsg(db)};
  }
  return Stmt(s);
}

Result<std::int64_t> query_int(sqlite3* db, const char* sql) {
  auto st = prepare(db, sql);
  if (!st) return Error{st.error()};
  int rc = sqlite3_step(st->get());
  if (rc != SQLITE_ROW) return Error{errmsg(db)};
  return static_cast<std::int64_t>(sqlite3_column_int64(st->get(), 0));
}

Result<Db> open_db(const std::string& path, bool create, const char* vfs) {
  // The SQLite-only code paths (the event files) never open a file named
  // like a URI.
  if (is_postgres_uri(path)) {
    return Error{"the events of " + redacted_uri(path) +
                     " need the PostgreSQL event store, which this build does not have yet",
                 Errc::kInvalid};
  }
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (create) flags |= SQLITE_OPEN_CREATE;
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, vfs);
  Db db(raw);
  if (rc != SQLITE_OK) {
    if (!create && !std::filesystem::exists(path))
      return Error{"no event store at " + path, Errc::kNotFound};
    return Error{"cannot open event store " + path + ": " + errmsg(raw)};
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, kBusyTimeoutMs);
  return db;
}

namespace {

// Switching a new file to WAL needs a moment alone with it, which the busy
// timeout does not wait for: processes creating one store together retry.
Result<bool> use_wal(sqlite3* db) {
  constexpr int kTries = 50;
  auto wal = exec(db, "PRAGMA journal_mode=WAL");
  for (int i = 1; i < kTries && !wal && (sqlite3_errcode(db) & 0xff) == SQLITE_BUSY; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20 * i));
    wal = exec(db, "PRAGMA journal_mode=WAL");
  }
  return wal;
}

}  // namespace

Result<bool> ensure_schema(sqlite3* db, const std::string& path) {
  auto wal = use_wal(db);
  if (!wal) return Error{"cannot use WAL mode on " + path + ": " + wal.error()};
  auto version = query_int(db, "PRAGMA user_version");
  if (!version) return Error{path + ": " + version.error()};
  if (*version > kSchemaVersion) {
    return Error{path + " has schema version " + std::to_string(*version) +
                 ", newer than this trackrelay understands (" + std::to_string(kSchemaVersion) +
                 "); upgrade trackrelay"};
  }
  if (*version == 0) {
    auto tables = query_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'events'");
    if (!tables) return Error{path + ": " + tables.error()};
    if (*tables != 0) {
      return Error{path +
                   " has an events table but no schema version; it is not a trackrelay store"};
    }
  }
  const char* steps[] = {kSchemaV1, kSchemaV2, kSchemaV3, kSchemaV4,
                         kSchemaV5, kSchemaV6, kSchemaV7, kSchemaV8};
  for (int to = static_cast<int>(*version) + 1; to <= kSchemaVersion; ++to) {
    if (auto r = migrate(db, path, steps[to - 1], to); !r) return r;
  }
  return true;
}

namespace {
Result<std::int64_t> user_version(sqlite3* db) {
  return query_int(db, "PRAGMA user_version");
}
}  // namespace

}  // namespace trackrelay::store::internal
