// store/cluster.cc — see cluster.h. May call: base/, store/pg.h, libpq.
#include "store/cluster.h"

#include <libpq-fe.h>
#include <poll.h>

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "base/log.h"
#include "store/db.h"
#include "store/pg.h"

namespace trackrelay::store {
namespace {

using Conn = std::unique_ptr<internal::PgConnection>;

struct PgClear {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Res = std::unique_ptr<PGresult, PgClear>;

constexpr auto kRetry = std::chrono::seconds(1);
constexpr int kPollMs = 200;  // how soon the listener notices a stop

// The message of libpq's last error, on one line.
std::string pg_error(const PGconn* c) {
  std::string m = c != nullptr ? PQerrorMessage(c) : "out of memory";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  std::string out;
  for (char ch : m) {
    if (ch == '\n' || ch == '\t') ch = ' ';
    if (ch != ' ' || out.empty() || out.back() != ' ') out += ch;
  }
  return out;
}

// A dedicated session to `uri` (store/pg.h: keepalives, connect timeout,
// the password never in messages).
Result<Conn> connect(const std::string& uri) {
  return internal::PgConnection::connect(uri);
}

bool command_ok(PGconn* c, const std::string& sql, std::string* out = nullptr) {
  Res r(PQexec(c, sql.c_str()));
  const ExecStatusType s = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) return false;
  if (out != nullptr) {
    *out = s == PGRES_TUPLES_OK && PQntuples(r.get()) > 0 ? PQgetvalue(r.get(), 0, 0) : "";
  }
  return true;
}

// Sleeps `d` or until stop is requested.
void nap(std::stop_token st, std::chrono::milliseconds d) {
  std::mutex m;
  std::condition_variable_any cv;
  std::unique_lock lock(m);
  cv.wait_for(lock, st, d, [] { return false; });
}

}  // namespace

ChangeListener::ChangeListener(std::string uri, std::string channel,
                               std::function<void()> on_change)
    : uri_(std::move(uri)),
      channel_(std::move(channel)),
      on_change_(std::move(on_change)),
      thread_([this](std::stop_token st) { run(st); }) {}

ChangeListener::~ChangeListener() {
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
}

void ChangeListener::run(std::stop_token st) {
  bool failing = false;  // log a lost server once, not every retry
  while (!st.stop_requested()) {
    auto c = connect(uri_);
    if (!c || !command_ok((*c)->handle(), "LISTEN \"" + channel_ + "\"")) {
      if (!failing) {
        log::warning(
            "store",
            "change notification: " +
                (c ? internal::redacted_uri(uri_) + ": " + pg_error((*c)->handle()) : c.error()) +
                "; retrying every second (the store is still polled)");
      }
      failing = true;
      nap(st, kRetry);
      continue;
    }
    if (failing || connections_ > 0) {
      log::info("store", "change notification: listening again on " + internal::redacted_uri(uri_));
    }
    failing = false;
    ++connections_;
    PGconn* conn = (*c)->handle();
    on_change_();  // whatever changed while no session listened
    while (!st.stop_requested()) {
      pollfd p{PQsocket(conn), POLLIN, 0};
      if (poll(&p, 1, kPollMs) == 0) continue;
      if (PQconsumeInput(conn) == 0) break;  // the session is gone
      bool notified = false;
      while (PGnotify* n = PQnotifies(conn)) {
        notified = true;
        PQfreemem(n);
      }
      if (notified) on_change_();  // several notifications: one reload
    }
    if (!st.stop_requested()) {
      log::warning("store", "change notification: lost " + internal::redacted_uri(uri_) + ": " +
                                pg_error(conn) + "; reconnecting");
      failing = true;
    }
  }
}

Result<bool> internal::bump_domains_version(Connection& conn) {
  Query q(conn, "UPDATE meta SET value = value + 1 WHERE key = 'domains_version'");
  if (auto r = q.run(); !r) return r;
  if (conn.backend() != Backend::kPostgres) return true;
  return conn.exec(std::string("NOTIFY ") + kDomainsChannel);
}

Result<bool> internal::notify_challenges(Connection& conn) {
  if (conn.backend() != Backend::kPostgres) return true;
  return conn.exec(std::string("NOTIFY ") + kChallengesChannel);
}

std::string_view work_name(Work w) {
  switch (w) {
    case Work::kWebhooks:
      return "webhook dispatch";
    case Work::kAcme:
      return "ACME issuance";
    case Work::kReverify:
      return "re-verification";
  }
  return "work";
}

struct NodeLock::Session {
  Conn conn;
};

NodeLock::NodeLock(std::string uri, Work work) : uri_(std::move(uri)), work_(work) {}

NodeLock::~NodeLock() = default;

bool NodeLock::hold() {
  if (session_ && PQstatus(session_->conn->handle()) != CONNECTION_OK) session_.reset();
  if (!session_) {
    held_ = false;
    auto c = connect(uri_);
    if (!c) {
      failed(c.error());
      return false;
    }
    session_ = std::make_unique<Session>(Session{std::move(c).value()});
  }
  const std::string key = std::to_string(kLockClass) + ", " + std::to_string(int(work_));
  std::string got;
  // Held: prove the session (and so the lock) is alive. Not held: try.
  const std::string sql = held_ ? "SELECT 1" : "SELECT pg_try_advisory_lock(" + key + ")::int";
  if (!command_ok(session_->conn->handle(), sql, &got)) {
    failed(internal::redacted_uri(uri_) + ": " + pg_error(session_->conn->handle()));
    session_.reset();  // the lock went with the session
    held_ = false;
    return false;
  }
  if (failing_) {
    log::info("store", std::string(work_name(work_)) + " lock: " + internal::redacted_uri(uri_) +
                           " answers again");
    failing_ = false;
  }
  if (!held_) held_ = got == "1";
  return held_;
}

// Logs the first failure of a streak (a node retries every pass).
void NodeLock::failed(const std::string& why) {
  if (!failing_) {
    log::warning("store", std::string(work_name(work_)) + " lock: " + why +
                              "; this node does not do it until the database answers");
  }
  failing_ = true;
}

void NodeLock::release() {
  if (!session_ || !held_) return;
  const std::string key = std::to_string(kLockClass) + ", " + std::to_string(int(work_));
  if (!command_ok(session_->conn->handle(), "SELECT pg_advisory_unlock(" + key + ")")) {
    session_.reset();  // closing the session releases it as well
  }
  held_ = false;
}

}  // namespace trackrelay::store
