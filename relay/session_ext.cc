// relay/session_ext.cc — the session's extension verbs: STARTTLS (RFC
// 3207), AUTH PLAIN/LOGIN (RFC 4954, 4616; relay.auth users, or user
// SMTP_Injection with an API key) and XFORWARD (Postfix). Split
// from session.cc to keep each file readable; same class, same rules.
//
// May call: relay/channel.h, relay/protocol.h, relay/auth.h,
// relay/accounts.h, Boost.Asio.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/encoding.h"
#include "relay/session.h"

namespace trackrelay::relay {
namespace {

constexpr std::chrono::milliseconds kTlsHandshakeTimeout{60000};

}  // namespace

asio::awaitable<void> Session::on_starttls(std::string_view args) {
  if (!args.empty()) co_return fail(Failure::kSyntax, "STARTTLS takes no arguments");
  if (!rt_->tls || client_.tls()) co_return fail(Failure::kTlsUnavailable);
  // RFC 3207 §4.2: anything pipelined after STARTTLS is discarded.
  send(make_reply(220, "2.0.0 Ready to start TLS"));
  if (!co_await flush()) co_return;
  auto ctx = rt_->tls;  // keeps the context alive over a reload
  if (co_await client_.start_tls_server(*ctx, kTlsHandshakeTimeout) != Io::kOk) {
    closing_ = true;
    co_return;
  }
  // RFC 3207 §4.2: the session starts over.
  if (txn_) co_await end_transaction(true);
  helo_seen_ = false;
  extended_ = false;
  auth_user_.clear();
  account_ = 0;
}

asio::awaitable<void> Session::on_auth(std::string_view args) {
  if (!auth_offered()) co_return fail(Failure::kAuthUnavailable);
  if (!auth_user_.empty()) co_return fail(Failure::kBadSequence, "already authenticated");
  if (txn_) co_return fail(Failure::kBadSequence, "AUTH not allowed during a transaction");
  if (host_.auth_blocked(peer_addr_)) {
    log_session(log::Level::kWarning, "AUTH refused: too many failures from this address");
    co_return co_await auth_failure(
        make_reply(454, "4.7.0 Too many failed authentications from your address, try later"));
  }
  const std::string_view mech = args.substr(0, args.find(' '));
  std::string initial(args.size() > mech.size() ? args.substr(mech.size() + 1) : "");
  // Reads one base64 response line after a 334 challenge; "*" cancels.
  auto challenge = [this](std::string text) -> asio::awaitable<std::optional<std::string>> {
    send(make_reply(334, std::move(text)));
    if (!co_await flush()) co_return std::nullopt;
    LineRead lr = co_await client_.read_line(kMaxCommandOctets, rt_->command_timeout);
    std::string line(lr.line);
    if (lr.status != Io::kOk || !accept_line_end(lr.bare_lf, line)) {
      closing_ = true;
      co_return std::nullopt;
    }
    co_return line;
  };
  std::string user, password;
  if (iequals(mech, "PLAIN")) {
    if (initial.empty()) {
      auto resp = co_await challenge("");
      if (!resp) co_return;
      initial = *resp;
    }
    if (initial == "*") co_return fail(Failure::kSyntax, "AUTH cancelled");
    auto creds = decode_plain(initial == "=" ? "" : initial);
    if (!creds) co_return fail(Failure::kSyntax, creds.error());
    user = creds->user;
    password = creds->password;
  } else if (iequals(mech, "LOGIN")) {
    if (initial.empty()) {
      auto resp = co_await challenge("VXNlcm5hbWU6");  // "Username:"
      if (!resp) co_return;
      initial = *resp;
    }
    auto u = base64_decode(initial);
    if (!u || initial == "*") co_return fail(Failure::kSyntax, "bad AUTH LOGIN response");
    auto resp = co_await challenge("UGFzc3dvcmQ6");  // "Password:"
    if (!resp) co_return;
    auto p = base64_decode(*resp);
    if (!p || *resp == "*") co_return fail(Failure::kSyntax, "bad AUTH LOGIN response");
    user = *u;
    password = *p;
  } else {
    co_return send(make_reply(504, "5.5.4 Unrecognized authentication type"));
  }
  co_await check_credentials(user, password);
}

asio::awaitable<void> Session::check_credentials(const std::string& user,
                                                 const std::string& password) {
  if (!host_.auth_begin(peer_addr_)) {
    log_session(log::Level::kWarning, "AUTH refused: too many failures from this address");
    co_return co_await auth_failure(
        make_reply(454, "4.7.0 Too many failed authentications from your address, try later"));
  }
  // Counted as a failure until answered; released on every path (also when
  // the session ends while the check runs).
  struct Attempt {
    SessionHost& host;
    boost::asio::ip::address addr;
    bool failed = true;
    ~Attempt() { host.auth_end(addr, failed); }
  } attempt{host_, peer_addr_};
  struct Checked {
    bool ok = false;
    std::int64_t account = 0;
    std::string error;  // the store failed: neither yes nor no
  };
  // PBKDF2 is deliberately slow and the key lookup reads the store: both
  // run off the io thread.
  auto keep = rt_;
  const bool api_key = user == kApiKeyUser && keep->accounts != nullptr;
  const Checked c = co_await asio::co_spawn(
      host_.blocking(),
      [&]() -> asio::awaitable<Checked> {
        Checked out;
        if (!api_key) {
          out.ok = keep->credentials.check(user, password);
          co_return out;
        }
        auto account = keep->accounts->key_account(password);
        if (!account) {
          out.error = account.error();
        } else if (*account) {
          out.ok = true;
          out.account = **account;
        }
        co_return out;
      },
      asio::use_awaitable);
  if (!c.error.empty()) {
    attempt.failed = false;
    log_session(log::Level::kError, "AUTH: API key check failed: " + c.error);
    co_return send(make_reply(454, "4.7.0 Temporary authentication failure, try later"));
  }
  if (!c.ok) {
    log_session(log::Level::kWarning, "AUTH failed for user '" + printable(user, 64) + "'");
    co_return co_await auth_failure(reply_for(Failure::kAuthFailed));
  }
  attempt.failed = false;
  auth_user_ = user;
  account_ = c.account;
  send(make_reply(235, "2.7.0 Authentication successful"));
}

asio::awaitable<void> Session::auth_failure(const Reply& reply) {
  // Slow down guessing: the answer comes after a pause (other sessions go on).
  asio::steady_timer pause(client_.socket().get_executor(), kAuthFailureDelay);
  co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
  ++auth_failures_;
  send(reply);
  if (++errors_ >= rt_->max_errors || auth_failures_ >= kMaxAuthFailuresPerSession) {
    send(make_reply(421, "4.7.0 Too many failed authentications, closing connection"));
    closing_ = true;
  }
}

void Session::on_xforward(std::string_view args) {
  const bool offered = up_ && up_->caps().xforward && net::in_any(rt_->clients, peer_addr_);
  if (!offered) return fail(Failure::kUnknownCommand);
  std::string_view rest = args;
  while (!rest.empty()) {
    const std::size_t sp = rest.find(' ');
    const std::string_view attr = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
    const std::size_t eq = attr.find('=');
    if (eq == std::string_view::npos) return fail(Failure::kSyntax, "XFORWARD NAME=value ...");
    std::string key(attr.substr(0, eq));
    for (char& c : key) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    // Values arrive xtext-encoded (decoded here, encoded again upstream).
    auto decoded = xtext_decode(attr.substr(eq + 1));
    if (!decoded) return fail(Failure::kSyntax, "XFORWARD " + key + ": " + decoded.error());
    const std::string& value = *decoded;
    if (key == "NAME")
      client_info_.name = value;
    else if (key == "ADDR")
      client_info_.addr = value;
    else if (key == "PORT")
      client_info_.port = value;
    else if (key == "HELO")
      client_info_.helo = value;
    else if (key == "PROTO")
      client_info_.proto = value;
    else if (key == "IDENT")
      client_info_.ident = value;
    else if (key == "SOURCE")
      client_info_.source = value;
    else
      return fail(Failure::kSyntax, "bad XFORWARD attribute " + key);
  }
  send(make_reply(250, "2.0.0 Ok"));
}

}  // namespace trackrelay::relay
