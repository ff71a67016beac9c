// relay/upstream.h — where accepted messages go: the upstream MTA over SMTP,
// or the built-in maildir capture, behind one interface.
//
// Owns: the upstream side of a transaction (MAIL, RCPT, the rewritten
// message, RSET) and what the upstream supports (its EHLO keywords, which
// decide what the relay advertises to its own clients). An I/O failure never
// escapes as an exception: it becomes the reply the client should get
// (protocol.h reply_for: 451 4.4.x) and marks the upstream broken.
//
// May call: relay/channel.h, relay/protocol.h, net/address.h, Boost.Asio,
// OpenSSL, POSIX file I/O (maildir).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "relay/channel.h"
#include "relay/protocol.h"
#include "relay/upstream_target.h"

namespace trackrelay::relay {

struct Capabilities {
  bool pipelining = false;
  bool eightbitmime = false;
  bool smtputf8 = false;
  bool dsn = false;
  bool xforward = false;
  bool starttls = false;
  bool chunking = false;
  std::optional<std::size_t> size;  // SIZE limit; nullopt: not announced (0 = no limit)
  std::string auth;                 // the AUTH mechanisms offered ("PLAIN LOGIN")
};
Capabilities parse_ehlo(const Reply& ehlo);

struct UpstreamTimeouts {
  std::chrono::milliseconds connect{30000};
  std::chrono::milliseconds reply{300000};     // greeting, EHLO, MAIL, RCPT, RSET, DATA
  std::chrono::milliseconds data_end{600000};  // the reply to the end of the message
};

enum class UpstreamTls { kNone, kOpportunistic, kRequired };

struct UpstreamOptions {
  UpstreamTarget target;
  std::string helo_name;
  UpstreamTimeouts timeouts;
  UpstreamTls tls = UpstreamTls::kOpportunistic;
  std::shared_ptr<asio::ssl::context> tls_context;  // client context (null: no TLS)
  std::string auth_user;                            // AUTH PLAIN when set
  std::string auth_password;
};

// What the upstream is told about the original client (XFORWARD).
struct ClientInfo {
  std::string name = "[UNAVAILABLE]";
  std::string addr;
  std::string port;
  std::string helo;
  std::string proto = "SMTP";
  std::string ident;
  std::string source;  // LOCAL / REMOTE
};

class Upstream {
 public:
  virtual ~Upstream() = default;
  virtual const Capabilities& caps() const = 0;
  // No longer usable (I/O failure, 421, timeout); a new one is needed.
  virtual bool broken() const = 0;
  virtual std::string name() const = 0;  // for logs
  // The session that uses this upstream arms `watch` for every operation.
  virtual void attach(Watch* watch) = 0;

  // `args`: what follows "MAIL " / "RCPT " ("FROM:<a@b> BODY=8BITMIME").
  virtual asio::awaitable<Reply> mail(std::string args, const ClientInfo& client) = 0;
  virtual asio::awaitable<Reply> rcpt(std::string args) = 0;
  // The complete message (unstuffed, CRLF lines); the upstream's reply to it.
  virtual asio::awaitable<Reply> data(std::string message) = 0;
  // Ends the transaction; false when the connection is gone.
  virtual asio::awaitable<bool> reset() = 0;
  // Sends QUIT without waiting and closes.
  virtual void close() = 0;
};

// Connects, reads the greeting, EHLO (HELO fallback), STARTTLS and AUTH as
// configured. The error is the reply the client should get.
asio::awaitable<std::variant<std::unique_ptr<Upstream>, Reply>> connect_smtp(
    UpstreamOptions options, Watch& watch);

// Writes each message as a file in the Maildir `dir` (tmp/ → fsync →
// new/, fsync of the directory) on `blocking` (a thread pool). `instance`
// (unique per server, e.g. the session number) keeps file names unique.
std::unique_ptr<Upstream> make_maildir(std::string dir, asio::any_io_executor blocking,
                                       std::uint64_t instance);

}  // namespace trackrelay::relay
