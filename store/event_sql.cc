// store/event_sql.cc — see event_sql.h. May call: store/db.h, store/pg.h,
// store/schema.h, base/, SQLite, libpq.
#include "store/event_sql.h"

#include <libpq-fe.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <variant>

#include "store/event_filter.h"
#include "store/pg.h"
#include "store/schema.h"

namespace trackrelay::store::internal {
namespace {

class SqliteRow final : public Row {
 public:
  explicit SqliteRow(sqlite3_stmt* s) : s_(s) {}
  std::int64_t i64(int c) const override { return sqlite3_column_int64(s_, c); }
  std::string text(int c) const override {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(s_, c));
    return p == nullptr ? std::string()
                        : std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, c)));
  }

 private:
  sqlite3_stmt* s_;
};

class PgRow final : public Row {
 public:
  PgRow(const PGresult* r, int row) : r_(r), row_(row) {}
  std::int64_t i64(int c) const override {
    return std::strtoll(PQgetvalue(r_, row_, c), nullptr, 10);
  }
  std::string text(int c) const override {
    return std::string(PQgetvalue(r_, row_, c), static_cast<std::size_t>(PQgetlength(r_, row_, c)));
  }

 private:
  const PGresult* r_;
  int row_;
};

// Whether a failure means the server is out of reach (try later).
bool unreachable(PGconn* conn, const PGresult* r) {
  if (PQstatus(conn) != CONNECTION_OK) return true;
  const char* state = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  if (state == nullptr) return r == nullptr;
  const std::string_view s(state);
  return s.starts_with("08") || s.starts_with("57P");
}

std::string trimmed(const char* msg) {
  std::string s = msg != nullptr ? msg : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

Result<std::unique_ptr<EventReader>> EventReader::open(const std::string& store) {
  auto conn = open_connection(store, false);
  if (!conn) return conn.failure();
  return std::make_unique<EventReader>(std::move(conn).value());
}

EventReader::EventReader(std::unique_ptr<Connection> conn) : conn_(std::move(conn)) {}

Result<bool> sqlite_each(sqlite3* db, const std::string& sql, const std::vector<Value>& params,
                         const std::function<void(const Row&)>& row) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
    return Error{"query failed: " + errmsg(db)};
  }
  Stmt st(raw);
  int i = 1;
  for (const Value& v : params) {
    if (const auto* n = std::get_if<std::int64_t>(&v)) {
      sqlite3_bind_int64(raw, i++, *n);
    } else if (const auto* t = std::get_if<std::string_view>(&v)) {
      sqlite3_bind_text(raw, i++, t->data(), static_cast<int>(t->size()), SQLITE_TRANSIENT);
    } else {
      sqlite3_bind_null(raw, i++);
    }
  }
  const SqliteRow r(raw);
  int rc;
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW) row(r);
  if (rc != SQLITE_DONE) return Error{"query failed: " + errmsg(db)};
  return true;
}

Event event_from(const Row& r) {
  Event e;
  e.seq = r.i64(0);
  e.event_id = r.text(1);
  e.type = r.text(2);
  e.timestamp_ms = r.i64(3);
  e.tracking_domain = r.text(4);
  e.target_link_url = r.text(5);
  e.target_link_name = r.text(6);
  e.message_id = r.text(7);
  e.rcpt_to = r.text(8);
  e.campaign_id = r.text(9);
  e.sending_domain = r.text(10);
  e.user_agent = r.text(11);
  e.ip_address = r.text(12);
  e.method = r.text(13);
  e.subaccount_id = r.i64(14);
  e.transmission_id = r.text(15);
  e.raw_rcpt_to = r.text(16);
  e.rcpt_meta = r.text(17);
  e.rcpt_tags = r.text(18);
  e.friendly_from = r.text(19);
  e.msg_from = r.text(20);
  e.msg_size = r.i64(21);
  e.classification = r.text(22);
  e.classification_reasons = split_reasons(r.text(23));
  return e;
}

std::string join_reasons(const std::vector<std::string>& reasons) {
  std::string out;
  for (const std::string& r : reasons) out += (out.empty() ? "" : ",") + r;
  return out;
}

std::vector<std::string> split_reasons(const std::string& joined) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < joined.size()) {
    const std::size_t comma = std::min(joined.find(',', start), joined.size());
    out.push_back(joined.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

Result<Page> query_page(const store::Query& q, const RunSql& run) {
  if (q.limit == 0 || q.limit > kMaxLimit) {
    return Error{"limit must be between 1 and " + std::to_string(kMaxLimit)};
  }
  for (const std::string& t : q.types) {
    if (!is_event_type(t)) return Error{"unknown event type '" + t + "'"};
  }
  std::optional<std::int64_t> after;
  if (!q.cursor.empty()) {
    if (q.cursor.size() > 18 || !std::all_of(q.cursor.begin(), q.cursor.end(),
                                             [](char c) { return c >= '0' && c <= '9'; })) {
      return Error{"invalid cursor"};
    }
    after = std::stoll(q.cursor);
  }
  auto where = Where::of(selection_of(q));
  if (!where) return where.failure();
  if (where->matches_nothing()) return Page{};
  std::string sql = std::string("SELECT ") + kEventColumns + " FROM events" + where->sql();
  std::vector<Value> params = where->values();
  if (after) {
    sql += q.newest_first ? " AND seq < ?" : " AND seq > ?";
    params.emplace_back(*after);
  }
  sql += q.newest_first ? " ORDER BY seq DESC LIMIT ?" : " ORDER BY seq ASC LIMIT ?";
  params.emplace_back(static_cast<std::int64_t>(q.limit) + 1);
  Page page;
  auto r = run(sql, params, [&](const Row& row) {
    if (page.events.size() == q.limit) {
      page.next_cursor = std::to_string(page.events.back().seq);
      return;
    }
    page.events.push_back(event_from(row));
  });
  if (!r) return r.failure();
  return page;
}

Result<bool> EventReader::each(const std::string& sql, const std::vector<Value>& params,
                               const std::function<void(const Row&)>& row) {
  if (conn_->backend() == Backend::kSqlite) {
    return sqlite_each(conn_->sqlite_handle(), sql, params, row);
  }
  auto& pg = static_cast<PgConnection&>(*conn_);
  if (auto up = pg.ensure_connected(); !up) return up;
  std::vector<std::string> text;
  for (const Value& v : params) {
    if (const auto* n = std::get_if<std::int64_t>(&v)) {
      text.push_back(std::to_string(*n));
    } else if (const auto* t = std::get_if<std::string_view>(&v)) {
      text.push_back(pg_text(*t));
    } else {
      return Error{"query failed: a NULL parameter"};  // the events queries bind none
    }
  }
  // The statement deadline (store/pg.h): a database that hangs fails the
  // query (the session closed) instead of holding the caller.
  if (pg.statement_deadline().count() > 0) {
    return pg_each_until(pg, number_placeholders(sql), text, row, pg.statement_deadline());
  }
  auto r = pg_each(pg.handle(), number_placeholders(sql), text, row);
  if (!r && r.code() == Errc::kUnavailable) return Error{pg.name() + ": " + r.error(), r.code()};
  return r;
}

Result<bool> pg_each(pg_conn* conn, const std::string& sql, const std::vector<std::string>& params,
                     const std::function<void(const Row&)>& row) {
  std::vector<const char*> values;
  std::vector<int> lengths;
  values.reserve(params.size());
  lengths.reserve(params.size());
  for (const std::string& p : params) {
    values.push_back(p.c_str());
    lengths.push_back(static_cast<int>(p.size()));
  }
  PGresult* raw = PQexecParams(conn, sql.c_str(), static_cast<int>(params.size()), nullptr,
                               values.data(), lengths.data(), nullptr, 0);
  std::unique_ptr<PGresult, decltype(&PQclear)> r(raw, &PQclear);
  const ExecStatusType status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    std::string msg = trimmed(r ? PQresultErrorMessage(r.get()) : PQerrorMessage(conn));
    if (msg.empty()) msg = "PostgreSQL statement failed";
    return Error{"query failed: " + msg,
                 unreachable(conn, r.get()) ? Errc::kUnavailable : Errc::kFailed};
  }
  const int n = PQntuples(r.get());
  for (int i = 0; i < n; ++i) row(PgRow(r.get(), i));
  return true;
}

Result<bool> pg_each_until(PgConnection& conn, const std::string& sql,
                           const std::vector<std::string>& params,
                           const std::function<void(const Row&)>& row,
                           std::chrono::milliseconds timeout) {
  auto r = conn.run_until(sql, params, timeout);
  if (!r) return Error{"query failed: " + r.error(), r.code()};
  const int n = PQntuples(r->get());
  for (int i = 0; i < n; ++i) row(PgRow(r->get(), i));
  return true;
}

std::string pg_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == 0) {
      ++i;
      continue;
    }
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    // A well-formed sequence (RFC 3629: no overlongs, no surrogates, <= U+10FFFF).
    std::size_t len = c >= 0xC2 && c <= 0xDF   ? 2
                      : c >= 0xE0 && c <= 0xEF ? 3
                      : c >= 0xF0 && c <= 0xF4 ? 4
                                               : 0;
    bool ok = len != 0 && i + len <= s.size();
    for (std::size_t k = 1; ok && k < len; ++k) {
      ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    }
    if (ok && len >= 3) {
      const auto c1 = static_cast<unsigned char>(s[i + 1]);
      ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 > 0x9F) && !(c == 0xF0 && c1 < 0x90) &&
           !(c == 0xF4 && c1 > 0x8F);
    }
    if (!ok) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
      continue;
    }
    out.append(s.substr(i, len));
    i += len;
  }
  return out;
}

}  // namespace trackrelay::store::internal
