// store/pg.h — the PostgreSQL implementation of store/db.h: a thin layer over
// libpq (not libpqxx: errors are values here, Result<T>, and the store needs
// libpq's own features directly — multi-row inserts with parameters,
// LISTEN/NOTIFY on a socket we poll, advisory locks, pipelining).
//
// Statements are sent with PQexecParams: `?` placeholders become $1…$n
// (outside quotes), integers go as text, bytes in binary format (so a BYTEA
// such as api_keys.hash takes any bytes and a TEXT column is the bytes as
// given); results are text, a BYTEA column read back as its bytes. A
// connection that was lost is reset before the next statement. Errors name
// the server and database (name()), never the password; an unreachable
// server is Errc::kUnavailable.
//
// Round trips with a deadline (the event writer, store/event_store_pg.h): a
// database that hangs rather than refuses (a network partition, a stopped
// server: packets go nowhere, no RST) must not hold a caller longer than it
// can wait. ensure_connected(timeout) connects without blocking
// (PQconnectStartParams/PQconnectPoll) and run_until() sends and reads without
// blocking (PQsendQueryParams, PQflush, PQconsumeInput/PQisBusy, poll() on
// PQsocket); past the timeout the session is dropped (PQfinish: whether a
// statement in flight ran is unknown, so what is written that way must be
// idempotent) and the error is Errc::kUnavailable.
//
// Why a connection failed: kUnavailable when the server or the network
// cannot be had now (refused, timed out, no route, a name that does not
// resolve, the server starting or shutting down, too many clients); kFailed
// when the server answered and refused this configuration (wrong password or
// user, no pg_hba.conf entry, a missing database, no permission): that needs
// an operator, not a retry. libpq reports these as text only; connect_code()
// reads it (English; an unknown message counts as unavailable).
//
// Connecting later (`serve` started while the database is unreachable,
// store::Connect::kWhenReachable): later() makes a connection that is not up
// yet; its first statement (or ensure_connected()) after the server answers
// connects and brings or checks the schema (ensure_pg_schema; once, unless it
// fails), so nothing runs on a database of another version. Until then every
// statement fails as on a lost connection. A refusal found then (wrong
// password, a newer schema) is logged once per message, loudly, and every
// statement keeps failing with it: the node keeps serving as if the database
// were down (the tracker's /healthz answers 503, the log says why); fixing
// the database heals it without a restart.
//
// Every other statement (statement(), exec(), begin_*(), commit(): the
// sessions of the API, key checks, the domain, certificate and webhook
// stores) is sent the same way with one deadline, statement_deadline()
// (kStatementDeadline unless set; zero: none, as for a schema migration):
// past it the session is closed and the call fails with
// Errc::kUnavailable ("no answer within N ms"); a transaction it was in is
// lost (its next statements fail until commit() or rollback()). May call:
// base/, store/db.h, libpq.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "store/db.h"

struct pg_conn;
struct pg_result;

namespace trackrelay::store::internal {

// The URI without its password: postgresql://user@host:port/dbname.
std::string redacted_uri(std::string_view uri);

// Whether libpq accepts `uri` (Errc::kInvalid, the reason, no password).
Result<bool> check_uri(std::string_view uri);

// `sql` with each `?` outside '…' and "…" replaced by $1, $2, ….
std::string number_placeholders(std::string_view sql);

// How long statement(), exec(), begin_*() and commit() wait for the server.
inline constexpr std::chrono::milliseconds kStatementDeadline{10000};

// One LISTEN/NOTIFY notification.
struct Notification {
  std::string channel;
  std::string payload;
};

// A result of PgConnection::run_until(), freed with PQclear.
struct PgResultClear {
  void operator()(pg_result* r) const;
};
using PgResultPtr = std::unique_ptr<pg_result, PgResultClear>;

class PgConnection final : public Connection {
 public:
  // Connects to `uri` (libpq connection URI; a password may also come from
  // PGPASSFILE or ~/.pgpass). Does not touch the schema (ensure_pg_schema).
  static Result<std::unique_ptr<PgConnection>> connect(const std::string& uri);
  // A connection to `uri` that connects (and checks the schema) at its first
  // use: see "Connecting later" above. Only an invalid URI is an error.
  static Result<std::unique_ptr<PgConnection>> later(const std::string& uri);
  // store::Connect::kWhenReachable at open: connects within `timeout` (a
  // server that does not answer at all costs a start this much per store,
  // not libpq's connect_timeout) and brings the schema; a server that cannot
  // be reached gives a later() connection, a refusal is the error. Whether
  // it is up: handle() != nullptr.
  static Result<std::unique_ptr<PgConnection>> open_when_reachable(
      const std::string& uri, std::chrono::milliseconds timeout);
  struct Closer {
    void operator()(pg_conn* c) const;
  };
  class Key {  // only connect() constructs
    Key() = default;
    friend class PgConnection;
  };
  PgConnection(Key key, std::unique_ptr<pg_conn, Closer> conn, std::string uri, std::string name);
  ~PgConnection() override;
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  Backend backend() const override { return Backend::kPostgres; }
  const std::string& name() const override { return name_; }
  std::unique_ptr<Statement> statement(std::string_view sql) override;
  Result<bool> exec(std::string_view sql) override;
  // A lost connection is reset only outside a transaction begun here: a
  // statement after the loss inside one fails until rollback(). A statement
  // outside a transaction on a connection that died while idle fails once
  // (kUnavailable; it is never re-sent, it may have run); begin_*() is
  // re-sent once on a fresh connection.
  Result<bool> begin_write() override { return begin("BEGIN"); }
  Result<bool> begin_read() override {
    return begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  }
  Result<bool> commit() override;
  Result<bool> rollback() override;

  // For LISTEN/NOTIFY users: the socket to poll for readability (-1 when the
  // connection is down), and the notifications received so far (reads what
  // the socket has; never blocks). An error when the connection was lost.
  int socket() const;
  Result<std::vector<Notification>> notifies();
  // Whether the connection is up; resets it when it was lost outside a
  // transaction. The error names the server.
  Result<bool> ensure_connected();
  // The libpq handle, for what this layer does not wrap (pipelining, COPY);
  // null after drop() until the next ensure_connected().
  pg_conn* handle() { return conn_.get(); }

  // Deadlines (see the top of this file). Whether the connection is up,
  // (re)connecting when it is not; a connection attempt that has not
  // finished within `timeout` is abandoned (kUnavailable, "no answer within
  // N ms"). Not for use inside a transaction begun with begin_*().
  Result<bool> ensure_connected(std::chrono::milliseconds timeout);
  // One statement (`$n` placeholders, text parameters, text results) on the
  // connection ensure_connected() brought up; its result (PGRES_TUPLES_OK or
  // PGRES_COMMAND_OK). Waits for the server at most `timeout`: past it, or
  // when the connection fails, the session is dropped (kUnavailable; a
  // statement in flight may or may not have run); a rejected statement is
  // Errc::kFailed and keeps the session.
  Result<PgResultPtr> run_until(const std::string& sql, const std::vector<std::string>& params,
                                std::chrono::milliseconds timeout);
  // Closes the session now (the server rolls back what it had not
  // committed); the next ensure_connected() opens a new one.
  void drop();
  // The schema is brought or checked at the next connect (later(), or a
  // connect whose schema check could not finish).
  void check_schema_on_connect() {
    schema_pending_ = true;
    lazy_ = true;
  }

  // The deadline of statement(), exec(), begin_*() and commit() (see the
  // top of this file); zero: none.
  std::chrono::milliseconds statement_deadline() const { return statement_deadline_; }
  void set_statement_deadline(std::chrono::milliseconds d) { statement_deadline_ = d; }
  // One statement (`$n` placeholders; `n_params` < 0: none, and `sql` may
  // hold several statements) within statement_deadline(); the last result.
  // A rejected statement is Errc::kFailed and keeps the session; a lost
  // session, or no answer in time, is Errc::kUnavailable and closes it.
  Result<PgResultPtr> exec_bounded(const std::string& sql, int n_params = -1,
                                   const char* const* values = nullptr,
                                   const int* lengths = nullptr, const int* formats = nullptr);

 private:
  // After a connect: the schema check, when pending (`timeout`: the
  // writer's bounded read first, else ensure_pg_schema).
  Result<bool> connected(const std::chrono::milliseconds* timeout);
  Error refused(Error e);
  Result<bool> begin(const char* sql);
  bool read_goodbye();
  Result<bool> connect_within(std::chrono::milliseconds timeout);
  Error lost(const std::string& what);
  std::unique_ptr<pg_conn, Closer> conn_;
  std::string uri_;  // to reconnect without blocking (holds the password, if any)
  std::string name_;
  bool in_transaction_ = false;
  bool schema_pending_ = false;  // check_schema_on_connect()
  bool lazy_ = false;            // opened by later(): refusals are logged here
  std::string reported_;         // the refusal logged last
  std::chrono::milliseconds statement_deadline_ = kStatementDeadline;
};

// How long an open with store::Connect::kWhenReachable waits for the server
// (PgConnection::open_when_reachable): a start with N stores against a
// server that drops packets costs about N times this, not N times libpq's
// 5 s connect_timeout; a server slower than this is connected at first use.
inline constexpr std::chrono::milliseconds kOpenTimeout{2000};

// Why the connection attempt on `conn` failed (see "Why a connection failed"
// above): Errc::kUnavailable or Errc::kFailed.
Errc connect_code(const pg_conn* conn);

// Creates or migrates the PostgreSQL schema (store/schema_pg.cc) to this
// version, inside one transaction holding an advisory lock so processes
// starting together do not race; refuses a newer or a foreign database.
Result<bool> ensure_pg_schema(PgConnection& conn);
// The same, for a session with deadlines: reads the version within
// `timeout` and stops there when it is this one's; otherwise ensure_pg_schema.
Result<bool> ensure_pg_schema_within(PgConnection& conn, std::chrono::milliseconds timeout);

}  // namespace trackrelay::store::internal
