// relay/session.cc — the SMTP session coroutine (see session.h). One
// function per verb; every error reply goes through reply_for() (protocol.h).
//
// May call: relay/channel.h, relay/protocol.h, relay/upstream.h,
// relay/auth.h, relay/injections.h, rewrite/engine.h, conf/, Boost.Asio.
#include "relay/session.h"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>

#include "rewrite/engine.h"

namespace trackrelay::relay {
namespace {

using std::chrono::milliseconds;
// Writing the last words (421) when the session ends anyway.
constexpr milliseconds kLastWordsTimeout{5000};

std::string join_addresses(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& a : v) {
    if (!out.empty()) out += ',';
    out += '<' + printable(a, 256) + '>';
  }
  return out;
}

}  // namespace

Session::Session(SessionHost& host, tcp::socket socket, std::uint64_t id)
    : host_(host),
      id_(id),
      watch_(socket.get_executor()),
      client_(std::move(socket), &watch_),
      rt_(host.runtime()) {
  boost::system::error_code ec;
  const auto ep = client_.socket().remote_endpoint(ec);
  if (!ec) {
    peer_addr_ = ep.address();
    if (peer_addr_.is_v6() && peer_addr_.to_v6().is_v4_mapped()) {
      peer_addr_ = asio::ip::make_address_v4(asio::ip::v4_mapped, peer_addr_.to_v6());
    }
    peer_ = net::HostPort{peer_addr_.to_string(), ep.port()}.str();
    client_info_.addr = (peer_addr_.is_v6() ? "IPV6:" : "") + peer_addr_.to_string();
    client_info_.port = std::to_string(ep.port());
  }
  client_.socket().set_option(tcp::no_delay(true), ec);
  if (rt_->metrics) rt_->metrics->relay_session_opened();
}

Session::~Session() {
  if (rt_->metrics) rt_->metrics->relay_session_closed();
  host_.session_ended(this);
}

asio::awaitable<void> Session::run() {
  using namespace asio::experimental::awaitable_operators;
  co_await (dialogue() || watch_.run());
}

void Session::stop(bool now) {
  stop_requested_ = true;
  if (now) {
    stop_now_ = true;
    if (up_) up_->close();
  }
  if (now || idle_) {
    boost::system::error_code ignored;
    client_.socket().cancel(ignored);
  }
}

asio::awaitable<void> Session::dialogue() {
  try {
    if (host_.stopping()) {
      send(reply_for(Failure::kShuttingDown));
      closing_ = true;
    } else {
      auto got = co_await host_.acquire_upstream(watch_, id_);
      if (auto* r = std::get_if<Reply>(&got)) {
        // Without an upstream there is nothing to relay to: 421 now, so the
        // client (Postfix) keeps the message queued and retries.
        Reply greeting = *r;
        greeting.code = 421;
        send(greeting);
        closing_ = true;
        log_session(log::Level::kWarning, "upstream unavailable: " + r->summary());
      } else {
        up_ = std::move(std::get<std::unique_ptr<Upstream>>(got));
        send(make_reply(220, rt_->hostname + (rt_->lmtp ? " LMTP" : " ESMTP") + " trackrelay"));
      }
    }
    while (!closing_) {
      if (stop_requested_ && (!txn_ || stop_now_)) {
        send(reply_for(Failure::kShuttingDown));
        break;
      }
      if (!client_.line_buffered() && !co_await flush()) break;
      idle_ = !txn_;
      LineRead lr = co_await client_.read_line(kMaxCommandOctets, rt_->command_timeout);
      idle_ = false;
      if (lr.status == Io::kTimeout) {
        send(reply_for(Failure::kTimeout));
        break;
      }
      if (lr.status == Io::kClosed) {
        if (stop_requested_ && client_.is_open()) send(reply_for(Failure::kShuttingDown));
        break;
      }
      if (lr.status == Io::kTooLong) {
        fail(Failure::kLineTooLong);
        continue;
      }
      std::string line(lr.line);  // handlers may read more (DATA)
      if (!accept_line_end(lr.bare_lf, line)) break;
      co_await handle(parse_command(line));
    }
  } catch (const std::exception& e) {
    log::write(log::Event{log::Level::kError,
                          "relay",
                          std::string("internal error: ") + e.what(),
                          {{"session", std::to_string(id_)}}});
    out_.clear();
    send(reply_for(Failure::kLocalError));
  }
  if (!out_.empty() && client_.is_open()) {
    co_await client_.write(out_, kLastWordsTimeout);
    out_.clear();
  }
  if (txn_) co_await end_transaction(true);
  if (up_) host_.release_upstream(std::move(up_));
  client_.close_now();
}

asio::awaitable<void> Session::handle(const Command& cmd) {
  switch (cmd.verb) {
    case Verb::kEhlo:
    case Verb::kHelo:
    case Verb::kLhlo:
      // RFC 2033 §4.1: an LMTP server refuses HELO/EHLO; an SMTP one knows no LHLO.
      if ((cmd.verb == Verb::kLhlo) != rt_->lmtp) {
        co_return fail(rt_->lmtp ? Failure::kWrongHello : Failure::kUnknownCommand);
      }
      if (txn_) co_await end_transaction(true);
      on_helo(cmd.args, cmd.verb != Verb::kHelo);
      co_return;
    case Verb::kMail:
      co_await on_mail(cmd.args);
      co_return;
    case Verb::kRcpt:
      co_await on_rcpt(cmd.args);
      co_return;
    case Verb::kData:
      co_await on_data(cmd.args);
      co_return;
    case Verb::kBdat:
      co_await on_bdat(cmd.args);
      co_return;
    case Verb::kRset:
      if (!cmd.args.empty()) {
        fail(Failure::kSyntax, "RSET takes no arguments");
        co_return;
      }
      if (txn_) co_await end_transaction(true);
      send(make_reply(250, "2.0.0 Ok"));
      co_return;
    case Verb::kNoop:
      send(make_reply(250, "2.0.0 Ok"));
      co_return;
    case Verb::kQuit:
      send(make_reply(221, "2.0.0 Bye"));
      closing_ = true;
      co_return;
    case Verb::kVrfy:
      send(make_reply(252, "2.5.0 Cannot VRFY user, but will accept message and attempt delivery"));
      co_return;
    case Verb::kExpn:
      send(make_reply(502, "5.5.1 EXPN not available"));
      co_return;
    case Verb::kHelp:
      send(make_reply(214, std::string("2.0.0 Commands: ") + (rt_->lmtp ? "LHLO" : "EHLO HELO") +
                               " MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH"));
      co_return;
    case Verb::kStarttls:
      co_await on_starttls(cmd.args);
      co_return;
    case Verb::kAuth:
      co_await on_auth(cmd.args);
      co_return;
    case Verb::kXforward:
      on_xforward(cmd.args);
      co_return;
    case Verb::kUnknown:
      fail(Failure::kUnknownCommand);
      co_return;
  }
}

bool Session::accept_line_end(bool bare_lf, std::string& line) {
  command_crlf_ = !bare_lf;
  if (!bare_lf && line.find('\r') == std::string::npos) return true;
  if (rt_->bare_newline == BareNewline::kReject) {
    send(reply_for(Failure::kBareNewline));
    return false;
  }
  // normalize: the bare LF was the line end; a bare CR is never one.
  std::replace(line.begin(), line.end(), '\r', ' ');
  return true;
}

bool Session::auth_offered() const {
  // relay.auth users, or API keys (SMTP_Injection) when the store is there.
  return (!rt_->credentials.empty() || rt_->accounts != nullptr) &&
         (client_.tls() || rt_->auth_over_plaintext);
}

bool Session::relay_allowed() const {
  return !auth_user_.empty() || net::in_any(rt_->clients, peer_addr_);
}

void Session::on_helo(std::string_view args, bool extended) {
  if (args.empty() || args.find(' ') != std::string_view::npos) {
    fail(Failure::kSyntax, rt_->lmtp  ? "LHLO hostname"
                           : extended ? "EHLO hostname"
                                      : "HELO hostname");
    return;
  }
  helo_seen_ = true;
  extended_ = extended;
  helo_ = std::string(args);
  client_info_.helo = helo_;
  client_info_.proto = extended ? "ESMTP" : "SMTP";
  if (!extended) {
    send(make_reply(250, rt_->hostname));
    return;
  }
  const Capabilities& up = up_ ? up_->caps() : Capabilities{};
  Reply r{250, {rt_->hostname}};
  r.lines.push_back("PIPELINING");
  r.lines.push_back("SIZE " + std::to_string(rt_->max_message_size));
  // Postfix drops what a filter does not advertise, so pass on what the
  // upstream supports (and only that).
  if (up.eightbitmime) r.lines.push_back("8BITMIME");
  if (up.smtputf8) r.lines.push_back("SMTPUTF8");
  if (up.dsn) r.lines.push_back("DSN");
  r.lines.push_back("ENHANCEDSTATUSCODES");
  r.lines.push_back("CHUNKING");
  if (up.xforward && net::in_any(rt_->clients, peer_addr_)) {
    r.lines.push_back("XFORWARD NAME ADDR PROTO HELO SOURCE PORT IDENT");
  }
  if (rt_->tls && !client_.tls()) r.lines.push_back("STARTTLS");
  if (auth_offered()) r.lines.push_back("AUTH PLAIN LOGIN");
  send(r);
}

asio::awaitable<bool> Session::ensure_upstream() {
  std::optional<Reply> err = co_await usable_upstream();
  if (err) send(*err);
  co_return !err;
}

asio::awaitable<std::optional<Reply>> Session::usable_upstream() {
  if (up_ && !up_->broken()) co_return std::nullopt;
  if (up_) {
    up_->close();
    up_.reset();
  }
  auto got = co_await host_.acquire_upstream(watch_, id_);
  if (auto* r = std::get_if<Reply>(&got)) co_return *r;
  up_ = std::move(std::get<std::unique_ptr<Upstream>>(got));
  co_return std::nullopt;
}

asio::awaitable<void> Session::on_mail(std::string_view args) {
  if (!helo_seen_) co_return fail(Failure::kBadSequence, "send HELO/EHLO first");
  if (txn_) co_return fail(Failure::kBadSequence, "nested MAIL command");
  if (rt_->require_tls && !client_.tls()) co_return fail(Failure::kTlsRequired);
  auto path = parse_path(args, "FROM:");
  if (!path) co_return fail(Failure::kSyntax, path.error());
  const Capabilities caps = up_ ? up_->caps() : Capabilities{};
  PathArgs forward{path->address, {}};
  std::string body_type = "7BIT";
  for (const Param& p : path->params) {
    if (p.key == "SIZE" && extended_) {
      std::size_t size = 0;
      const auto [end, ec] = std::from_chars(p.value.data(), p.value.data() + p.value.size(), size);
      if (ec != std::errc() || end != p.value.data() + p.value.size()) {
        co_return fail(Failure::kSyntax, "bad SIZE");
      }
      if (size > rt_->max_message_size) co_return fail(Failure::kMessageTooBig);
      if (caps.size) forward.params.push_back(p);
    } else if (p.key == "BODY" && extended_ &&
               (iequals(p.value, "7BIT") || (iequals(p.value, "8BITMIME") && caps.eightbitmime))) {
      body_type = p.value;
      forward.params.push_back(p);
    } else if (p.key == "SMTPUTF8" && !p.has_value && caps.smtputf8) {
      forward.params.push_back(p);
    } else if ((p.key == "RET" || p.key == "ENVID") && p.has_value && caps.dsn) {
      if (auto ok = check_dsn_param(p); !ok) co_return fail(Failure::kSyntax, ok.error());
      if (path->find(p.key) != &p) co_return fail(Failure::kSyntax, "duplicate " + p.key);
      forward.params.push_back(p);
    } else if (p.key == "AUTH" && p.has_value) {
      // RFC 4954 §5: accepted and not passed on (we are not the submitter).
    } else {
      co_return fail(Failure::kUnsupportedParam, p.key);
    }
  }
  if (!co_await ensure_upstream()) co_return;
  // Per-recipient copies: this transaction is a probe (the upstream's word
  // on each recipient at RCPT time), reset before the copies go.
  std::string mail_args = format_path("FROM:", forward);
  Reply r = co_await up_->mail(mail_args, client_info_);
  send(r);
  if (r.positive()) {
    txn_ = Transaction{};  // not emplace(): clang 14 rejects it for this nested type
    txn_->runtime = host_.runtime();
    txn_->from = path->address;
    txn_->body_type = body_type;
    txn_->started = std::chrono::steady_clock::now();
    txn_->upstream_open = true;
    if (rt_->per_recipient) txn_->mail_args = std::move(mail_args);
  }
}

asio::awaitable<void> Session::on_rcpt(std::string_view args) {
  if (!txn_) co_return fail(Failure::kBadSequence, "need MAIL command");
  auto path = parse_path(args, "TO:");
  if (!path) co_return fail(Failure::kSyntax, path.error());
  if (path->address.empty()) co_return fail(Failure::kSyntax, "empty recipient");
  if (!relay_allowed()) {
    co_return fail(auth_offered() || !rt_->credentials.empty() ? Failure::kAuthRequired
                                                               : Failure::kRelayDenied,
                   path->address);
  }
  if (txn_->rcpts.size() >= rt_->max_recipients)
    co_return send(reply_for(Failure::kTooManyRecipients));
  const bool dsn = up_ && up_->caps().dsn;
  for (const Param& p : path->params) {
    if (!((p.key == "NOTIFY" || p.key == "ORCPT") && p.has_value && dsn)) {
      co_return fail(Failure::kUnsupportedParam, p.key);
    }
    if (auto ok = check_dsn_param(p); !ok) co_return fail(Failure::kSyntax, ok.error());
    if (path->find(p.key) != &p) co_return fail(Failure::kSyntax, "duplicate " + p.key);
  }
  if (!up_ || up_->broken()) co_return send(reply_for(Failure::kUpstreamUnavailable));
  std::string rcpt_args = format_path("TO:", *path);
  Reply r = co_await up_->rcpt(rcpt_args);
  send(r);
  if (!r.positive()) co_return;
  txn_->rcpts.push_back(path->address);
  if (rt_->per_recipient) txn_->rcpt_args.push_back(std::move(rcpt_args));
}

asio::awaitable<void> Session::on_data(std::string_view args) {
  if (!args.empty()) co_return fail(Failure::kSyntax, "DATA takes no arguments");
  if (!txn_) co_return fail(Failure::kBadSequence, "need MAIL command");
  // RFC 2033 §4.2: LMTP's DATA without a successful RCPT is a 503.
  if (txn_->rcpts.empty()) {
    co_return fail(rt_->lmtp ? Failure::kBadSequence : Failure::kNeedRecipients,
                   rt_->lmtp ? "no valid recipients" : "");
  }
  if (!up_ || up_->broken()) {
    send(reply_for(Failure::kUpstreamUnavailable));
    co_return co_await end_transaction(false);
  }
  send(make_reply(354, "End data with <CR><LF>.<CR><LF>"));
  if (!co_await flush()) co_return;
  DataDecoder decoder(rt_->max_message_size, kMaxLineOctets, rt_->bare_newline, command_crlf_);
  for (;;) {
    client_.consume(decoder.feed(client_.buffered()));
    if (decoder.done()) break;
    const Io io = co_await client_.fill(rt_->data_timeout);
    if (io != Io::kOk) {
      // Nothing of this message has been sent upstream: end its transaction there.
      log_transaction(
          {{"status", "aborted"},
           {"reason", io == Io::kTimeout ? "client-timeout-in-DATA" : "client-lost-in-DATA"}},
          Reply{});
      if (io == Io::kTimeout) send(reply_for(Failure::kTimeout));
      closing_ = true;
      co_return co_await end_transaction(true);
    }
  }
  if (decoder.bare_newline()) co_return co_await refuse_bare_newline();
  if (decoder.too_large()) {
    fail_all(Failure::kMessageTooBig);
    co_return co_await end_transaction(true);
  }
  if (decoder.line_too_long()) {
    fail_all(Failure::kDataLineTooLong);
    co_return co_await end_transaction(true);
  }
  co_await deliver(decoder.take());
}

asio::awaitable<void> Session::on_bdat(std::string_view args) {
  // BDAT size [LAST] (RFC 3030). The chunk is read even when the command is
  // refused, so the session stays in step with the client.
  std::string_view size_text = args.substr(0, args.find(' '));
  std::string_view rest =
      args.size() > size_text.size() ? args.substr(size_text.size() + 1) : std::string_view();
  std::size_t size = 0;
  const auto [end, ec] =
      std::from_chars(size_text.data(), size_text.data() + size_text.size(), size);
  const bool last = iequals(rest, "LAST");
  if (ec != std::errc() || end != size_text.data() + size_text.size() || size_text.empty() ||
      (!rest.empty() && !last)) {
    // Without a valid size the stream cannot be resynchronised.
    fail(Failure::kSyntax, "BDAT size [LAST]");
    closing_ = true;
    co_return;
  }
  const bool accept = txn_ && !txn_->rcpts.empty() && !bdat_failed_;
  std::size_t left = size;
  const std::size_t room = rt_->max_message_size;
  while (left > 0) {
    if (client_.buffered().empty()) {
      if (co_await client_.fill(rt_->data_timeout) != Io::kOk) {
        log_transaction({{"status", "aborted"}, {"reason", "client-lost-in-BDAT"}}, Reply{});
        closing_ = true;
        bdat_message_.clear();
        if (txn_) co_await end_transaction(true);
        co_return;
      }
    }
    const std::string_view chunk = client_.buffered().substr(0, left);
    if (accept && !bdat_too_large_) {
      if (bdat_message_.size() + chunk.size() > room) {
        bdat_too_large_ = true;
        std::string().swap(bdat_message_);
      } else {
        bdat_message_.append(chunk);
      }
    }
    client_.consume(chunk.size());
    left -= chunk.size();
  }
  if (!txn_) co_return fail(Failure::kBadSequence, "need MAIL command");
  if (txn_->rcpts.empty()) co_return fail(Failure::kNeedRecipients);
  if (bdat_failed_) {
    // An earlier chunk was refused: refuse the rest of the message too.
    if (!last) co_return fail(Failure::kBadSequence, "earlier BDAT failed");
    fail_all(Failure::kBadSequence, "earlier BDAT failed");
    co_return co_await end_transaction(true);
  }
  if (bdat_too_large_) {
    // RFC 2033 §4.2 with RFC 3030: after BDAT LAST, LMTP answers per recipient.
    last ? fail_all(Failure::kMessageTooBig) : fail(Failure::kMessageTooBig);
    co_return co_await end_transaction(true);
  }
  if (!last) {
    send(make_reply(250, "2.0.0 " + std::to_string(size) + " octets received"));
    co_return;
  }
  std::string message = std::move(bdat_message_);
  bdat_message_.clear();
  if (has_bare_newline(message)) {
    // Chunks are raw bytes; what goes upstream (with DATA) must be canonical.
    if (rt_->bare_newline == BareNewline::kReject) co_return co_await refuse_bare_newline();
    message = canonical_line_ends(message);
  }
  co_await deliver(std::move(message));
}

asio::awaitable<void> Session::refuse_bare_newline() {
  const Reply r = reply_for(Failure::kBareNewline);
  log_transaction({{"status", "rejected"}, {"reason", "bare-newline"}}, r);
  send(r);
  closing_ = true;
  co_await end_transaction(true);
}

asio::awaitable<void> Session::end_transaction(bool reset_upstream) {
  const bool open = txn_ && txn_->upstream_open;
  txn_.reset();
  bdat_message_.clear();
  bdat_failed_ = false;
  bdat_too_large_ = false;
  if (reset_upstream && open && up_ && !up_->broken()) co_await up_->reset();
}

void Session::send(const Reply& r) {
  out_ += r.wire();
  if (ends_session(r)) closing_ = true;
}

void Session::fail(Failure f, std::string_view detail) {
  send(reply_for(f, detail));
  if (++errors_ >= rt_->max_errors) {
    send(reply_for(Failure::kTooManyErrors));
    closing_ = true;
  }
}

void Session::answer_all(const Reply& r) {
  const std::size_t n = rt_->lmtp && txn_ && !ends_session(r) ? txn_->rcpts.size() : 1;
  for (std::size_t i = 0; i < std::max<std::size_t>(n, 1); ++i) send(r);
}

void Session::fail_all(Failure f, std::string_view detail) {
  answer_all(reply_for(f, detail));
  if (++errors_ >= rt_->max_errors) {
    send(reply_for(Failure::kTooManyErrors));
    closing_ = true;
  }
}

asio::awaitable<bool> Session::flush() {
  if (out_.empty()) co_return true;
  const Io io = co_await client_.write(out_, rt_->data_timeout);
  out_.clear();
  if (io != Io::kOk) closing_ = true;
  co_return io == Io::kOk;
}

void Session::log_transaction(std::vector<log::Field> outcome, const Reply& reply,
                              std::string_view to) {
  if (!txn_) return;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - txn_->started)
                      .count();
  log::Event e{log::Level::kInfo, "relay", "", {}};
  e.add("session", id_).add("client", peer_).add("helo", printable(helo_, 80));
  if (!auth_user_.empty()) e.add("user", printable(auth_user_, 64));
  if (account_ != 0) e.add("session_account", account_);
  e.add("from", printable(txn_->from, 256), log::Style::kAngle)
      .add("to", to.empty() ? join_addresses(txn_->rcpts) : "<" + printable(to, 256) + ">");
  if (auto* m = txn_->runtime->metrics; m && !outcome.empty()) m->relay_message(outcome[0].value);
  for (log::Field& f : outcome) e.fields.push_back(std::move(f));
  if (reply.code != 0) e.add("reply", reply.summary(), log::Style::kQuoted);
  e.add("upstream", up_ ? up_->name() : "-").add("time", std::to_string(ms) + "ms");
  log::write(e);
}

void Session::log_session(log::Level level, std::string message) const {
  log::write(log::Event{
      level, "relay", std::move(message), {{"session", std::to_string(id_)}, {"client", peer_}}});
}

}  // namespace trackrelay::relay
