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
// server is Errc::kUnavailable. May call: base/, store/db.h, libpq.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "store/db.h"

struct pg_conn;

namespace trackrelay::store::internal {

// The URI without its password: postgresql://user@host:port/dbname.
std::string redacted_uri(std::string_view uri);

// Whether libpq accepts `uri` (Errc::kInvalid, the reason, no password).
Result<bool> check_uri(std::string_view uri);

// `sql` with each `?` outside '…' and "…" replaced by $1, $2, ….
std::string number_placeholders(std::string_view sql);

// One LISTEN/NOTIFY notification.
struct Notification {
  std::string channel;
  std::string payload;
};

class PgConnection final : public Connection {
 public:
  // Connects to `uri` (libpq connection URI; a password may also come from
  // PGPASSFILE or ~/.pgpass). Does not touch the schema (ensure_pg_schema).
  static Result<std::unique_ptr<PgConnection>> connect(const std::string& uri);
  struct Closer {
    void operator()(pg_conn* c) const;
  };
  class Key {  // only connect() constructs
    Key() = default;
    friend class PgConnection;
  };
  PgConnection(Key key, std::unique_ptr<pg_conn, Closer> conn, std::string name);
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
  // The libpq handle, for what this layer does not wrap (pipelining, COPY).
  pg_conn* handle() { return conn_.get(); }

 private:
  Result<bool> begin(const char* sql);
  std::unique_ptr<pg_conn, Closer> conn_;
  std::string name_;
  bool in_transaction_ = false;
};

// Creates or migrates the PostgreSQL schema (store/schema_pg.cc) to this
// version, inside one transaction holding an advisory lock so processes
// starting together do not race; refuses a newer or a foreign database.
Result<bool> ensure_pg_schema(PgConnection& conn);

}  // namespace trackrelay::store::internal
