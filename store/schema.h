// store/schema.h — the one schema of the store file, and its migrations.
//
// Owns: every table of the SQLite file that EventStore and DomainStore share,
// versioned with PRAGMA user_version (store/event_store.h: kSchemaVersion).
// Version 1: events. Version 2: + tracking_domains, sending_domains,
// subaccounts, api_keys and meta (the domains change counter). Version 3:
// sending-domain DNS proof (verified, txt_status, txt_token, found, message,
// checked_ms) and events.subaccount_id (the owner). Version 4: the message
// fields of events (transmission_id, raw_rcpt_to, rcpt_meta, rcpt_tags,
// friendly_from, msg_from, msg_size) and their indexes. Version 6: events
// classification. Version 7: webhooks,
// webhook_batches and webhook_lease (store/webhook_store.h). Version 8:
// certificates, acme_accounts, acme_challenges, acme_lease (store/cert_store.h). Each migration
// runs in its own transaction, in order, so a file of any older version is
// brought up to date by whichever process opens it first; a newer version is
// refused. PostgreSQL has its own list reaching the same version
// (store/schema_pg.cc): a new version adds a step to both. May call: base/,
// store/db.h, store/pg.h, SQLite.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"

namespace trackrelay::store::internal {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;

struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

std::string errmsg(sqlite3* db);
Result<bool> exec(sqlite3* db, const char* sql);
Result<Stmt> prepare(sqlite3* db, std::string_view sql);
Result<std::int64_t> query_int(sqlite3* db, const char* sql);

// Opens `path` read-write (creating it when `create`), busy timeout set;
// with the SQLite VFS named `vfs` (null: the default).
Result<Db> open_db(const std::string& path, bool create, const char* vfs = nullptr);
// Creates the schema in a new file, migrates an older one, refuses a newer
// one or a foreign file. Puts the file in WAL mode.
Result<bool> ensure_schema(sqlite3* db, const std::string& path);

}  // namespace trackrelay::store::internal
