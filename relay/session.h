// relay/session.h — one client's SMTP session, read top to bottom in one
// coroutine (OpenSMTPD's shape: the session — connection, HELO, TLS, AUTH,
// error count — owns at most one transaction — sender, recipients, message).
//
// Owns: the server side of the SMTP or LMTP (RFC 2033) dialogue, the
// relay-access decision at RCPT, PIPELINING (replies are written when the
// client's input runs dry), handing the received message to the rewrite
// engine on the blocking pool — once, or once per recipient (per-recipient
// copies: LMTP, relay.per_recipient) — and the per-transaction log line. Talks to the upstream only
// through Upstream, and to the server only through SessionHost.
//
// May call: relay/channel.h, relay/protocol.h, relay/upstream.h,
// relay/auth.h, rewrite/engine.h, conf/, metrics/instruments.h, Boost.Asio.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/log.h"
#include "conf/config.h"
#include "metrics/instruments.h"
#include "relay/accounts.h"
#include "relay/auth.h"
#include "relay/channel.h"
#include "relay/injections.h"
#include "relay/protocol.h"
#include "relay/upstream.h"
#include "relay/upstream_target.h"

namespace trackrelay::relay {

// Everything a session needs from the configuration, prepared once per
// (re)load by the server and shared read-only.
struct Runtime {
  std::shared_ptr<const conf::Config> config;
  std::string hostname;
  std::vector<net::Cidr> clients;
  std::chrono::milliseconds command_timeout{300000};
  std::chrono::milliseconds data_timeout{180000};
  std::size_t max_message_size = 0;
  std::size_t max_recipients = 0;
  int max_errors = 0;
  std::shared_ptr<asio::ssl::context> tls;  // server side; null: no STARTTLS
  bool require_tls = false;                 // refuse MAIL before STARTTLS
  Credentials credentials;                  // empty: no AUTH
  bool auth_over_plaintext = false;         // offer AUTH without TLS

  // relay.bare_newline: what a bare LF / bare CR from the client means.
  BareNewline bare_newline = BareNewline::kNormalize;
  // API keys (AUTH SMTP_Injection) and subaccounts (X-MSYS-SUBACCOUNT); null: none.
  std::shared_ptr<Accounts> accounts;
  // Records injection events when the upstream accepts mail; null: none.
  std::shared_ptr<Injections> injections;
  // relay.protocol: lmtp (LHLO; one reply per recipient after the message).
  bool lmtp = false;
  // One rewritten copy per recipient, each in its own upstream transaction
  // (relay.per_recipient, or lmtp).
  bool per_recipient = false;
  metrics::Instruments* metrics = nullptr;  // sessions, messages, rewrite (null: not measured)
};

class Session;

// Failed AUTH (relay/session_ext.cc): each failure is answered after
// kAuthFailureDelay; a session ends (421) after kMaxAuthFailuresPerSession;
// a client address with kMaxAuthFailuresPerAddress failures within
// kAuthFailureWindow of its first one is refused AUTH (454) until the window
// has passed, whatever the password. Attempts being checked count as
// failures until they are answered, so concurrent sessions cannot get more
// guesses in than the limit.
inline constexpr std::chrono::milliseconds kAuthFailureDelay{1000};
inline constexpr int kMaxAuthFailuresPerSession = 3;
inline constexpr int kMaxAuthFailuresPerAddress = 10;
inline constexpr std::chrono::minutes kAuthFailureWindow{15};

class SessionHost {
 public:
  virtual ~SessionHost() = default;
  virtual std::shared_ptr<const Runtime> runtime() const = 0;
  // An upstream for a session: an idle pooled connection (checked with
  // RSET) or a new one. The error is the reply for the client.
  virtual asio::awaitable<std::variant<std::unique_ptr<Upstream>, Reply>> acquire_upstream(
      Watch& watch, std::uint64_t session_id) = 0;
  virtual void release_upstream(std::unique_ptr<Upstream> upstream) = 0;
  // Where CPU-heavy work runs (the rewrite, password hashing): one thread
  // per core (relay.workers).
  virtual asio::any_io_executor blocking() = 0;
  // Where work that mostly waits runs (durable injection writes, store
  // lookups, maildir files), so that a wait for the disk never holds a
  // rewrite thread.
  virtual asio::any_io_executor waits() = 0;
  virtual bool stopping() const = 0;
  virtual void session_ended(Session* s) = 0;
  // AUTH per client address: refused now (failures + attempts in flight at
  // the limit)? / an attempt starts being checked (false: refused, nothing
  // counted) / it was answered (every auth_begin() that returned true gets
  // exactly one auth_end()).
  virtual bool auth_blocked(const boost::asio::ip::address& addr) = 0;
  virtual bool auth_begin(const boost::asio::ip::address& addr) = 0;
  virtual void auth_end(const boost::asio::ip::address& addr, bool failed) = 0;
};

class Session {
 public:
  Session(SessionHost& host, tcp::socket socket, std::uint64_t id);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // The whole session: the dialogue and its watch (timeouts).
  asio::awaitable<void> run();
  // The server stops: an idle session says 421 and ends now; a busy one
  // after its transaction. With `now`, the transaction is abandoned too.
  void stop(bool now);

 private:
  struct Transaction {
    std::shared_ptr<const Runtime> runtime;  // the rules for this transaction
    std::string from;
    std::vector<std::string> rcpts;      // accepted by the upstream at RCPT
    std::string mail_args;               // "FROM:<a@b> BODY=8BITMIME" as sent upstream
    std::vector<std::string> rcpt_args;  // "TO:<x@y> NOTIFY=NEVER", one per rcpts[i]
    std::string body_type;               // BODY= (for logs)
    std::chrono::steady_clock::time_point started;
    bool upstream_open = false;  // the upstream has a transaction to reset
  };

  asio::awaitable<void> dialogue();
  asio::awaitable<void> handle(const Command& cmd);
  void on_helo(std::string_view args, bool extended);
  asio::awaitable<void> on_mail(std::string_view args);
  asio::awaitable<void> on_rcpt(std::string_view args);
  asio::awaitable<void> on_data(std::string_view args);
  asio::awaitable<void> on_bdat(std::string_view args);
  asio::awaitable<void> on_starttls(std::string_view args);
  asio::awaitable<void> on_auth(std::string_view args);
  // A failed AUTH: pause, answer `reply`, end the session at the limit.
  asio::awaitable<void> auth_failure(const Reply& reply);
  // Checks user/password off the I/O thread: relay.auth, or an API key for
  // kApiKeyUser. Sets auth_user_/account_ or answers the failure.
  asio::awaitable<void> check_credentials(const std::string& user, const std::string& password);
  void on_xforward(std::string_view args);
  // relay.bare_newline for one command line: false (after queueing 521) in
  // reject mode when it ended with a bare LF or holds a bare CR.
  bool accept_line_end(bool bare_lf, std::string& line);
  // 521 5.5.2 for a message with a bare CR/LF (reject mode); the session ends.
  asio::awaitable<void> refuse_bare_newline();
  // The message is complete: rewrite, forward, answer, log
  // (relay/session_deliver.cc).
  asio::awaitable<void> deliver(std::string message);
  // One copy for all recipients, in the transaction opened at MAIL/RCPT.
  asio::awaitable<void> deliver_whole(std::string message, rewrite::Envelope envelope);
  // One copy per recipient, each in its own upstream transaction; LMTP:
  // a reply per recipient, SMTP: copies_reply().
  asio::awaitable<void> deliver_copies(std::string message, rewrite::Envelope envelope);
  // MAIL, RCPT (recipient i), DATA for one copy; the upstream's reply.
  asio::awaitable<Reply> forward_copy(std::size_t i, std::string copy);
  // The rewrite of `message` for `envelope`, on the blocking pool.
  asio::awaitable<Result<rewrite::Outcome>> rewrite_on_pool(const std::string& message,
                                                            const rewrite::Envelope& envelope);
  // The one place that knows "the upstream accepted the message for these
  // recipients": records their injection events (Runtime::injections),
  // durably, before the client hears the reply; a failure is only logged.
  asio::awaitable<void> injected(const rewrite::Envelope& envelope, const rewrite::Outcome& outcome,
                                 const std::vector<std::string>& rcpts, std::size_t size_out);
  // The log fields of a rewrite's outcome.
  std::vector<log::Field> outcome_fields(std::size_t size_in, std::int64_t account,
                                         const rewrite::Outcome& outcome) const;
  // A reply to the whole message: LMTP sends it once per accepted recipient
  // (RFC 2033 §4.2), SMTP once. A session-ending reply (421, 521) goes once.
  void answer_all(const Reply& r);
  void fail_all(Failure f, std::string_view detail = {});
  asio::awaitable<void> end_transaction(bool reset_upstream);
  asio::awaitable<bool> ensure_upstream();
  // An upstream that is not broken, or the reply the client should get.
  asio::awaitable<std::optional<Reply>> usable_upstream();

  void send(const Reply& r);
  // Our own error replies count towards relay.max_errors.
  void fail(Failure f, std::string_view detail = {});
  asio::awaitable<bool> flush();
  bool relay_allowed() const;
  bool auth_offered() const;
  // `to`: the one recipient of a copy (default: every recipient).
  void log_transaction(std::vector<log::Field> outcome, const Reply& reply,
                       std::string_view to = {});
  // A session event: relay: session=ID client=PEER MESSAGE.
  void log_session(log::Level level, std::string message) const;

  SessionHost& host_;
  std::uint64_t id_;
  Watch watch_;
  Channel client_;
  std::shared_ptr<const Runtime> rt_;  // taken at connect; per transaction see Transaction
  std::unique_ptr<Upstream> up_;
  ClientInfo client_info_;
  std::string peer_;  // "[addr]:port" for logs
  boost::asio::ip::address peer_addr_;
  std::string out_;  // replies not written yet
  std::optional<Transaction> txn_;
  bool helo_seen_ = false;
  bool extended_ = false;  // EHLO (not HELO)
  std::string helo_;
  std::string auth_user_;  // set after a successful AUTH
  // The session's account: the API key's (AUTH SMTP_Injection); 0 (the
  // primary account) for relay.auth users and relay.clients networks.
  std::int64_t account_ = 0;
  int auth_failures_ = 0;  // failed AUTH in this session
  bool bdat_failed_ = false;
  std::string bdat_message_;
  bool bdat_too_large_ = false;
  int errors_ = 0;
  bool command_crlf_ = true;  // the last command line ended with CRLF (not a bare LF)
  bool closing_ = false;
  bool idle_ = false;  // waiting for a command with no transaction open
  bool stop_requested_ = false;
  bool stop_now_ = false;
};

}  // namespace trackrelay::relay
