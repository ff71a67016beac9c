// store/pg.cc — see pg.h. May call: base/, store/db.h, libpq.
#include "store/pg.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <utility>

#include "base/log.h"

namespace trackrelay::store::internal {
namespace {

constexpr Oid kByteaOid = 17;

std::string trimmed(const char* msg) {
  std::string s = msg != nullptr ? msg : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Connection failures (SQLSTATE class 08, the server shutting down) mean
// "try again later", unlike a rejected statement.
bool unavailable(PGconn* conn, const PGresult* r) {
  if (PQstatus(conn) != CONNECTION_OK) return true;
  const char* state = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  if (state == nullptr) return r == nullptr;
  const std::string_view s(state);
  return s.starts_with("08") || s == "57P01" || s == "57P02" || s == "57P03";
}

void ignore_notice(void* /*arg*/, const char* /*message*/) {}

using Steady = std::chrono::steady_clock;

// libpq's connection settings for `uri`. Settings before dbname are defaults
// the URI may override. Keepalives: a dead server or network is noticed
// within ~25 s even on an idle session (a LISTEN session, a node lock's
// session); connect_timeout bounds the blocking connects (connect(),
// ensure_connected() without a timeout).
struct ConnectParams {
  explicit ConnectParams(const std::string& uri) { values[6] = uri.c_str(); }
  const char* keys[8] = {
      "connect_timeout",  "keepalives",       "keepalives_idle", "keepalives_interval",
      "keepalives_count", "application_name", "dbname",          nullptr};
  const char* values[8] = {"5", "1", "10", "5", "3", "trackrelay", nullptr, nullptr};
};

// Waits until `fd` is ready for `events` or `deadline` passes: the revents
// (0: the deadline passed; POLLERR when poll() failed).
short wait_for(int fd, short events, Steady::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Steady::now());
    pollfd p{fd, events, 0};
    const int n = poll(&p, 1, static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, INT_MAX)));
    if (n > 0) return p.revents;
    if (n == 0) return 0;
    if (errno != EINTR) return POLLERR;
  }
}

std::string nonempty(std::string msg) {
  return msg.empty() ? "PostgreSQL statement failed" : msg;
}

std::string no_answer(std::chrono::milliseconds timeout) {
  return "no answer within " + std::to_string(timeout.count()) + " ms";
}

class PgStatement final : public Statement {
 public:
  PgStatement(PgConnection& conn, std::string_view sql)
      : conn_(conn), sql_(number_placeholders(sql)) {}
  void bind(std::initializer_list<Value> values) override {
    params_.clear();
    formats_.clear();
    nulls_.clear();
    for (const Value& v : values) {
      if (const auto* n = std::get_if<std::int64_t>(&v)) {
        params_.push_back(std::to_string(*n));
        formats_.push_back(0);
        nulls_.push_back(false);
      } else if (const auto* t = std::get_if<std::string_view>(&v)) {
        params_.emplace_back(*t);
        formats_.push_back(1);
        nulls_.push_back(false);
      } else {
        params_.emplace_back();
        formats_.push_back(0);
        nulls_.push_back(true);
      }
    }
  }
  bool step() override {
    if (!ran_) run();
    if (!error_.empty() || !result_) return false;
    return ++row_ < PQntuples(result_.get());
  }
  std::int64_t i64(int c) const override {
    const char* v = PQgetvalue(result_.get(), row_, c);
    if (v[0] == 't' && v[1] == '\0') return 1;
    return std::strtoll(v, nullptr, 10);
  }
  bool null(int c) const override { return PQgetisnull(result_.get(), row_, c) != 0; }
  std::string text(int c) const override {
    const char* v = PQgetvalue(result_.get(), row_, c);
    if (PQftype(result_.get(), c) != kByteaOid) {
      return std::string(v, static_cast<std::size_t>(PQgetlength(result_.get(), row_, c)));
    }
    std::size_t n = 0;
    unsigned char* bytes = PQunescapeBytea(reinterpret_cast<const unsigned char*>(v), &n);
    if (bytes == nullptr) return std::string();
    std::string out(reinterpret_cast<const char*>(bytes), n);
    PQfreemem(bytes);
    return out;
  }
  std::int64_t changes() const override { return changes_; }
  const std::string& error() const override { return error_; }
  Errc code() const override { return code_; }

 private:
  void run() {
    ran_ = true;
    if (auto up = conn_.ensure_connected(); !up) {
      error_ = up.error();
      code_ = up.code();
      return;
    }
    std::vector<const char*> values;
    std::vector<int> lengths;
    for (std::size_t i = 0; i < params_.size(); ++i) {
      values.push_back(nulls_[i] ? nullptr : params_[i].data());
      lengths.push_back(static_cast<int>(params_[i].size()));
    }
    auto r = conn_.exec_bounded(sql_, static_cast<int>(params_.size()), values.data(),
                                lengths.data(), formats_.data());
    if (!r) {
      error_ = r.error();
      code_ = r.code();
      return;
    }
    result_ = std::move(r).value();
    changes_ = std::strtoll(PQcmdTuples(result_.get()), nullptr, 10);
  }

  PgConnection& conn_;
  std::string sql_;
  std::vector<std::string> params_;
  std::vector<int> formats_;
  std::vector<bool> nulls_;
  bool ran_ = false;
  PgResultPtr result_;
  int row_ = -1;
  std::int64_t changes_ = 0;
  std::string error_;
  Errc code_ = Errc::kFailed;
};

// `uri` without the password of its user info (scheme://user:pw@host…).
std::string without_password(std::string_view uri) {
  const auto scheme = uri.find("://");
  if (scheme == std::string_view::npos) return std::string(uri);
  const auto start = scheme + 3;
  const auto end = std::min(uri.find_first_of("/?", start), uri.size());
  const auto at = uri.substr(0, end).rfind('@');
  if (at == std::string_view::npos || at < start) return std::string(uri);
  const auto colon = uri.substr(0, at).find(':', start);
  if (colon == std::string_view::npos) return std::string(uri);
  return std::string(uri.substr(0, colon)) + std::string(uri.substr(at));
}

// `msg` with every copy of `uri` shown without its password (libpq quotes
// the URI it could not parse).
std::string scrubbed(std::string msg, std::string_view uri) {
  const std::string safe = without_password(uri);
  for (auto at = msg.find(uri); !uri.empty() && at != std::string::npos;
       at = msg.find(uri, at + safe.size())) {
    msg.replace(at, uri.size(), safe);
  }
  return msg;
}

}  // namespace

std::string redacted_uri(std::string_view uri) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(std::string(uri).c_str(), &err);
  if (opts == nullptr) {
    std::string msg = scrubbed(trimmed(err), uri);
    PQfreemem(err);
    return without_password(uri) + " (invalid URI: " + msg + ")";
  }
  std::string user, host, port, db;
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    const std::string_view k(o->keyword);
    const std::string v = o->val != nullptr ? o->val : "";
    if (k == "user") user = v;
    if (k == "host") host = v;
    if (k == "port") port = v;
    if (k == "dbname") db = v;
  }
  PQconninfoFree(opts);
  std::string out = "postgresql://";
  if (!user.empty()) out += user + "@";
  out += host.empty() ? "localhost" : host;
  if (!port.empty()) out += ":" + port;
  return out + "/" + db;
}

std::string number_placeholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  char quote = 0;
  int n = 0;
  for (char ch : sql) {
    if (quote != 0) {
      if (ch == quote) quote = 0;  // a doubled quote re-enters at once: same result
      out += ch;
    } else if (ch == '\'' || ch == '"') {
      quote = ch;
      out += ch;
    } else if (ch == '?') {
      out += "$" + std::to_string(++n);
    } else {
      out += ch;
    }
  }
  return out;
}

void PgConnection::Closer::operator()(pg_conn* c) const {
  PQfinish(c);
}

void PgResultClear::operator()(pg_result* r) const {
  PQclear(r);
}

PgConnection::PgConnection(Key /*key*/, std::unique_ptr<pg_conn, Closer> conn, std::string uri,
                           std::string name)
    : conn_(std::move(conn)), uri_(std::move(uri)), name_(std::move(name)) {}

PgConnection::~PgConnection() = default;

Result<bool> check_uri(std::string_view uri) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(std::string(uri).c_str(), &err);
  if (opts != nullptr) {
    PQconninfoFree(opts);
    return true;
  }
  std::string msg = err != nullptr ? scrubbed(trimmed(err), uri) : "out of memory";
  PQfreemem(err);
  return Error{"invalid PostgreSQL URI " + without_password(uri) + ": " + msg, Errc::kInvalid};
}

Errc connect_code(const pg_conn* conn) {
  if (conn == nullptr) return Errc::kUnavailable;
  if (PQconnectionNeedsPassword(conn) != 0) return Errc::kFailed;  // none in the URI or .pgpass
  const std::string_view msg = PQerrorMessage(conn);
  // The server's refusals (SQLSTATE classes 28, 3D, 42501); everything else
  // (transport errors, 57P03 starting up / shutting down, 53300 too many
  // connections) is worth a retry.
  for (const char* refusal :
       {"password authentication failed", "authentication failed for user", "no pg_hba.conf entry",
        "does not exist", "permission denied", "no password supplied", "not permitted to log in",
        "server does not support SSL", "certificate"}) {
    if (msg.find(refusal) != std::string_view::npos) return Errc::kFailed;
  }
  return Errc::kUnavailable;
}

Result<std::unique_ptr<PgConnection>> PgConnection::later(const std::string& uri) {
  if (auto ok = check_uri(uri); !ok) return ok.failure();
  auto conn = std::make_unique<PgConnection>(Key{}, nullptr, uri, redacted_uri(uri));
  conn->check_schema_on_connect();
  return conn;
}

Result<std::unique_ptr<PgConnection>> PgConnection::open_when_reachable(
    const std::string& uri, std::chrono::milliseconds timeout) {
  auto c = later(uri);
  if (!c) return c;
  PgConnection& conn = **c;
  // Checked here: a refusal now is the caller's error, not a log line.
  conn.lazy_ = false;
  conn.schema_pending_ = false;
  if (auto up = conn.connect_within(timeout); !up) {
    if (up.code() != Errc::kUnavailable) return up.failure();
    conn.check_schema_on_connect();
    return c;
  }
  if (auto r = ensure_pg_schema(conn); !r) {
    if (r.code() != Errc::kUnavailable) return r.failure();
    conn.drop();
  }
  conn.lazy_ = true;
  conn.schema_pending_ = conn.handle() == nullptr;
  return c;
}

Result<std::unique_ptr<PgConnection>> PgConnection::connect(const std::string& uri) {
  if (auto ok = check_uri(uri); !ok) return ok.failure();
  std::string name = redacted_uri(uri);
  const ConnectParams params(uri);
  std::unique_ptr<pg_conn, Closer> conn(PQconnectdbParams(params.keys, params.values, 1));
  if (!conn) return Error{"cannot connect to " + name + ": out of memory", Errc::kUnavailable};
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return Error{
        "cannot connect to " + name + ": " + scrubbed(trimmed(PQerrorMessage(conn.get())), uri),
        connect_code(conn.get())};
  }
  PQsetNoticeProcessor(conn.get(), ignore_notice, nullptr);
  return std::make_unique<PgConnection>(Key{}, std::move(conn), uri, std::move(name));
}

std::unique_ptr<Statement> PgConnection::statement(std::string_view sql) {
  return std::make_unique<PgStatement>(*this, sql);
}

// An idle session whose server restarted or ended it still says OK; the
// server's goodbye (FATAL, then EOF) waits on the socket. Reads it, so the
// statement goes to a new session instead of failing on the dead one (the
// message and the EOF may take two reads). Whether the session is still up.
bool PgConnection::read_goodbye() {
  for (int i = 0; i < 4 && PQstatus(conn_.get()) == CONNECTION_OK; ++i) {
    pollfd p{PQsocket(conn_.get()), POLLIN, 0};
    if (poll(&p, 1, 0) <= 0 || PQconsumeInput(conn_.get()) == 0) break;
  }
  return PQstatus(conn_.get()) == CONNECTION_OK;
}

Result<bool> PgConnection::ensure_connected() {
  if (PQstatus(conn_.get()) == CONNECTION_OK && !in_transaction_) read_goodbye();
  if (PQstatus(conn_.get()) == CONNECTION_OK) return schema_pending_ ? connected(nullptr) : true;
  if (in_transaction_) {
    return Error{name_ + ": connection lost inside a transaction", Errc::kUnavailable};
  }
  if (!conn_) {  // dropped: a new session (blocking, bounded by connect_timeout)
    const ConnectParams params(uri_);
    conn_.reset(PQconnectdbParams(params.keys, params.values, 1));
    if (!conn_) return Error{"cannot connect to " + name_ + ": out of memory", Errc::kUnavailable};
  } else {
    PQreset(conn_.get());
  }
  if (PQstatus(conn_.get()) != CONNECTION_OK) {
    return refused(Error{"cannot connect to " + name_ + ": " + trimmed(PQerrorMessage(conn_.get())),
                         connect_code(conn_.get())});
  }
  PQsetNoticeProcessor(conn_.get(), ignore_notice, nullptr);
  return connected(nullptr);
}

// See "Connecting later" in pg.h. The flag is cleared first: the check's own
// statements come back through ensure_connected().
Result<bool> PgConnection::connected(const std::chrono::milliseconds* timeout) {
  if (!schema_pending_) return true;
  schema_pending_ = false;
  auto r = timeout != nullptr ? ensure_pg_schema_within(*this, *timeout) : ensure_pg_schema(*this);
  if (r) {
    if (lazy_) log::info("store", name_ + " answers; schema checked");
    reported_.clear();
    return true;
  }
  schema_pending_ = true;
  drop();  // the next statement connects and checks again
  return refused(Error{r.error(), r.code()});
}

// A refusal (not kUnavailable) on a connection opened by later() is logged
// loudly, once per message: nobody else may be looking.
Error PgConnection::refused(Error e) {
  if (lazy_ && e.code != Errc::kUnavailable && e.message != reported_) {
    reported_ = e.message;
    log::error("store", e.message +
                            " — this node keeps serving as if the database were down until this "
                            "is fixed");
  }
  return e;
}

Result<bool> PgConnection::exec(std::string_view sql) {
  if (auto up = ensure_connected(); !up) return up;
  auto r = exec_bounded(std::string(sql));
  if (!r) return r.failure();
  return true;
}

// Like run_until(), with the statement deadline, parameter formats, and a
// transaction that outlives a closed session (it is lost, not ended).
Result<PgResultPtr> PgConnection::exec_bounded(const std::string& sql, int n_params,
                                               const char* const* values, const int* lengths,
                                               const int* formats) {
  const auto deadline = statement_deadline_.count() > 0 ? Steady::now() + statement_deadline_
                                                        : Steady::time_point::max();
  PGconn* c = conn_.get();
  auto broken = [&] {
    return Error{name_ + ": " + nonempty(trimmed(PQerrorMessage(c))), Errc::kUnavailable};
  };
  auto too_late = [&] {
    conn_.reset();  // in_transaction_ stays: its next statements fail until commit/rollback
    return Error{name_ + ": " + no_answer(statement_deadline_), Errc::kUnavailable};
  };
  // Non-blocking: a send to a server that reads nothing must not wait for it.
  if (PQsetnonblocking(c, 1) != 0) return broken();
  const int sent = n_params < 0 ? PQsendQuery(c, sql.c_str())
                                : PQsendQueryParams(c, sql.c_str(), n_params, nullptr, values,
                                                    lengths, formats, 0);
  if (sent == 0) return broken();
  for (int f = PQflush(c); f != 0; f = PQflush(c)) {  // what did not fit in the socket's buffer
    if (f < 0) return broken();
    const short ready = wait_for(PQsocket(c), POLLIN | POLLOUT, deadline);
    if (ready == 0) return too_late();
    if ((ready & ~POLLOUT) != 0 && PQconsumeInput(c) == 0) return broken();
  }
  PgResultPtr last, failure;
  for (;;) {
    while (PQisBusy(c) != 0) {
      if (wait_for(PQsocket(c), POLLIN, deadline) == 0) return too_late();
      if (PQconsumeInput(c) == 0) return broken();
    }
    PgResultPtr r(PQgetResult(c));
    if (!r) break;
    const ExecStatusType status = PQresultStatus(r.get());
    if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
      last = std::move(r);
    } else if (!failure) {
      failure = std::move(r);
    }
  }
  if (!failure && last) return last;
  const std::string msg =
      nonempty(trimmed(failure ? PQresultErrorMessage(failure.get()) : PQerrorMessage(c)));
  if (unavailable(c, failure.get())) return Error{name_ + ": " + msg, Errc::kUnavailable};
  return Error{msg};
}

// A connection that died while idle (a server restart, a failover) is only
// noticed when used: BEGIN sent nothing the server kept, so it is sent once
// more on a fresh connection — not after the statement deadline closed the
// session (the server did not answer: a second wait would only double it).
Result<bool> PgConnection::begin(const char* sql) {
  auto r = exec(sql);
  if (!r && conn_ && PQstatus(conn_.get()) != CONNECTION_OK) r = exec(sql);
  if (r) in_transaction_ = true;
  return r;
}

Result<bool> PgConnection::commit() {
  // COMMIT of a failed transaction "succeeds" as a ROLLBACK: say so.
  if (PQtransactionStatus(conn_.get()) == PQTRANS_INERROR) {
    (void)exec("ROLLBACK");
    in_transaction_ = false;
    return Error{name_ + ": the transaction failed and was rolled back"};
  }
  auto r = exec("COMMIT");
  in_transaction_ = false;
  return r;
}

Result<bool> PgConnection::rollback() {
  in_transaction_ = false;
  if (PQstatus(conn_.get()) != CONNECTION_OK) return true;  // the server rolled it back
  return exec("ROLLBACK");
}

Result<bool> PgConnection::ensure_connected(std::chrono::milliseconds timeout) {
  if (PQstatus(conn_.get()) != CONNECTION_OK || !read_goodbye()) {
    if (auto r = connect_within(timeout); !r) return r;
  }
  return connected(&timeout);
}

// A new session without blocking: PQconnectStartParams, then PQconnectPoll
// whenever the socket is ready, until `timeout`.
Result<bool> PgConnection::connect_within(std::chrono::milliseconds timeout) {
  const auto deadline = Steady::now() + timeout;
  in_transaction_ = false;
  const ConnectParams params(uri_);
  conn_.reset(PQconnectStartParams(params.keys, params.values, 1));
  if (!conn_) return Error{"cannot connect to " + name_ + ": out of memory", Errc::kUnavailable};
  PostgresPollingStatusType st = PGRES_POLLING_WRITING;
  while (PQstatus(conn_.get()) != CONNECTION_BAD && st != PGRES_POLLING_OK &&
         st != PGRES_POLLING_FAILED) {
    const short ready =
        wait_for(PQsocket(conn_.get()), st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline);
    if (ready == 0) {
      drop();
      return Error{"cannot connect to " + name_ + ": " + no_answer(timeout), Errc::kUnavailable};
    }
    st = PQconnectPoll(conn_.get());
  }
  if (st != PGRES_POLLING_OK || PQstatus(conn_.get()) != CONNECTION_OK) {
    Error e{"cannot connect to " + name_ + ": " + trimmed(PQerrorMessage(conn_.get())),
            connect_code(conn_.get())};
    drop();
    return refused(std::move(e));
  }
  PQsetNoticeProcessor(conn_.get(), ignore_notice, nullptr);
  return true;
}

void PgConnection::drop() {
  conn_.reset();
  in_transaction_ = false;
}

// The session failed (or passed its deadline) during `what`: dropped.
Error PgConnection::lost(const std::string& what) {
  std::string msg = what;
  if (msg.empty()) msg = trimmed(PQerrorMessage(conn_.get()));
  if (msg.empty()) msg = "connection lost";
  drop();
  return Error{name_ + ": " + msg, Errc::kUnavailable};
}

Result<PgResultPtr> PgConnection::run_until(const std::string& sql,
                                            const std::vector<std::string>& params,
                                            std::chrono::milliseconds timeout) {
  const auto deadline = Steady::now() + timeout;
  PGconn* c = conn_.get();
  if (PQstatus(c) != CONNECTION_OK) return Error{name_ + ": not connected", Errc::kUnavailable};
  std::vector<const char*> values;
  std::vector<int> lengths;
  for (const std::string& p : params) {
    values.push_back(p.c_str());
    lengths.push_back(static_cast<int>(p.size()));
  }
  // Non-blocking: a big INSERT to a server that reads nothing fills the
  // socket's buffer, and a blocking send would wait for it forever.
  if (PQsetnonblocking(c, 1) != 0 ||
      PQsendQueryParams(c, sql.c_str(), static_cast<int>(params.size()), nullptr, values.data(),
                        lengths.data(), nullptr, 0) == 0) {
    return lost("");
  }
  for (int f = PQflush(c); f != 0; f = PQflush(c)) {  // what did not fit in the socket's buffer
    if (f < 0) return lost("");
    const short ready = wait_for(PQsocket(c), POLLIN | POLLOUT, deadline);
    if (ready == 0) return lost(no_answer(timeout));
    if ((ready & ~POLLOUT) != 0 && PQconsumeInput(c) == 0) return lost("");
  }
  PgResultPtr result, failure;
  for (;;) {
    while (PQisBusy(c) != 0) {
      const short ready = wait_for(PQsocket(c), POLLIN, deadline);
      if (ready == 0) return lost(no_answer(timeout));
      if (PQconsumeInput(c) == 0) return lost("");
    }
    PgResultPtr r(PQgetResult(c));
    if (!r) break;
    const ExecStatusType status = PQresultStatus(r.get());
    if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
      result = std::move(r);
    } else if (!failure) {
      failure = std::move(r);
    }
  }
  if (!failure && result) return result;
  std::string msg = trimmed(failure ? PQresultErrorMessage(failure.get()) : PQerrorMessage(c));
  if (msg.empty()) msg = "PostgreSQL statement failed";
  if (unavailable(c, failure.get())) return lost(msg);
  return Error{msg};
}

int PgConnection::socket() const {
  return PQsocket(conn_.get());
}

Result<std::vector<Notification>> PgConnection::notifies() {
  if (PQconsumeInput(conn_.get()) == 0) {
    return Error{name_ + ": " + trimmed(PQerrorMessage(conn_.get())), Errc::kUnavailable};
  }
  std::vector<Notification> out;
  while (PGnotify* n = PQnotifies(conn_.get())) {
    out.push_back({n->relname, n->extra != nullptr ? n->extra : ""});
    PQfreemem(n);
  }
  return out;
}

}  // namespace trackrelay::store::internal
