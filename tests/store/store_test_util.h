// tests/store/store_test_util.h — shared by the store suites: a temporary
// directory removed at the end, and the sqlite3 CLI as an independent reader.
#pragma once

#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>

#include "store/event_store.h"  // kSchemaVersion

namespace trackrelay::store::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "trackrelay-store-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const {
    return (std::filesystem::path(path_) / name).string();
  }

 private:
  std::string path_;
};

// Runs the shell command `cmd`; returns its output without trailing newlines.
inline std::string command_output(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[512];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// Runs the sqlite3 CLI on `db`; returns its output without trailing newlines.
inline std::string sqlite(const std::string& db, const std::string& sql) {
  return command_output("sqlite3 '" + db + "' \"" + sql + "\" 2>&1");
}

// SQL that winds a fresh store file back to schema version `to` (>= 3) by
// undoing the later migrations, newest first, for tests of a migration from
// an older file. A new migration adds its undo here (the static_assert says when).
inline std::string wind_back_sql(int to) {
  static_assert(kSchemaVersion == 8, "add the new migration's undo to wind_back_sql");
  static constexpr const char* kUndo[] = {
      "",
      "",
      "",
      "",  // 0-3: tests that need them write their own
      // 4: API key grants
      "ALTER TABLE api_keys DROP COLUMN grants;",
      // 5: the events' message fields and their indexes
      "DROP INDEX events_transmission; DROP INDEX events_campaign; DROP INDEX events_rcpt; "
      "DROP INDEX events_type; ALTER TABLE events DROP COLUMN transmission_id; "
      "ALTER TABLE events DROP COLUMN raw_rcpt_to; ALTER TABLE events DROP COLUMN rcpt_meta; "
      "ALTER TABLE events DROP COLUMN rcpt_tags; ALTER TABLE events DROP COLUMN friendly_from; "
      "ALTER TABLE events DROP COLUMN msg_from; ALTER TABLE events DROP COLUMN msg_size;",
      // 6: who clicked
      "ALTER TABLE events DROP COLUMN classification; "
      "ALTER TABLE events DROP COLUMN classification_reasons;",
      // 7: webhooks
      "DROP TABLE webhook_attempts; DROP TABLE webhook_batches; DROP TABLE webhook_lease; "
      "DROP TABLE webhooks;",
      // 8: certificates and ACME
      "DROP TABLE certificates; DROP TABLE acme_accounts; DROP TABLE acme_challenges; "
      "DROP TABLE acme_lease;",
  };
  std::string sql;
  for (int v = kSchemaVersion; v > to && v >= 4; --v) sql += std::string(kUndo[v]) + " ";
  return sql + "PRAGMA user_version = " + std::to_string(to) + ";";
}

}  // namespace trackrelay::store::testing
