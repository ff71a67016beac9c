// relay/upstream_smtp.cc — the SMTP client towards the upstream MTA:
// greeting, EHLO with HELO fallback, STARTTLS (opportunistic or required),
// AUTH PLAIN, XFORWARD, MAIL/RCPT/DATA/RSET with per-step timeouts.
//
// May call: relay/channel.h, relay/protocol.h, net/address.h, Boost.Asio, OpenSSL.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <sstream>

#include "base/encoding.h"
#include "relay/upstream.h"

namespace trackrelay::relay {
namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

class SmtpUpstream final : public Upstream {
 public:
  SmtpUpstream(tcp::socket socket, Watch& watch, const UpstreamOptions& options)
      : channel_(std::move(socket), &watch), options_(options) {}
  ~SmtpUpstream() override { close(); }

  const Capabilities& caps() const override { return caps_; }
  bool broken() const override { return broken_ || !channel_.is_open(); }
  std::string name() const override { return options_.target.smtp.str(); }
  void attach(Watch* watch) override { channel_.set_watch(watch); }

  asio::awaitable<std::optional<Reply>> connect(const tcp::resolver::results_type& endpoints) {
    const Io io = co_await channel_.connect(endpoints, options_.timeouts.connect);
    if (io != Io::kOk) {
      broken_ = true;
      co_return reply_for(
          Failure::kUpstreamUnavailable,
          name() + ": " +
              (io == Io::kTimeout ? "connection timed out" : channel_.error().message()));
    }
    co_return std::nullopt;
  }

  // Greeting, EHLO/HELO, STARTTLS, AUTH. The error is the client's reply.
  asio::awaitable<std::optional<Reply>> open() {
    Reply greeting = co_await read_reply(options_.timeouts.reply);
    if (broken_) co_return failure_;
    if (greeting.code != 220) {
      broken_ = true;
      co_return reply_for(Failure::kUpstreamUnavailable, name() + " greeted " + greeting.summary());
    }
    if (auto err = co_await hello(); err) co_return err;
    if (caps_.starttls && options_.tls != UpstreamTls::kNone && options_.tls_context != nullptr) {
      Reply r = co_await command("STARTTLS\r\n", options_.timeouts.reply);
      if (broken_) co_return failure_;
      if (r.code == 220) {
        const std::string sni =
            options_.tls == UpstreamTls::kRequired ? options_.target.smtp.host : std::string();
        if (co_await channel_.start_tls_client(*options_.tls_context, sni,
                                               options_.timeouts.reply) != Io::kOk) {
          broken_ = true;
          co_return reply_for(Failure::kUpstreamUnavailable, name() + ": TLS handshake failed");
        }
        if (auto err = co_await hello(); err) co_return err;
      } else if (options_.tls == UpstreamTls::kRequired) {
        broken_ = true;
        co_return reply_for(Failure::kUpstreamUnavailable, name() + ": STARTTLS refused");
      }
    }
    if (options_.tls == UpstreamTls::kRequired && !channel_.tls()) {
      broken_ = true;
      co_return reply_for(Failure::kUpstreamUnavailable, name() + " does not offer STARTTLS");
    }
    if (!options_.auth_user.empty()) {
      const std::string plain =
          std::string(1, '\0') + options_.auth_user + std::string(1, '\0') + options_.auth_password;
      Reply r =
          co_await command("AUTH PLAIN " + base64_encode(plain) + "\r\n", options_.timeouts.reply);
      if (broken_) co_return failure_;
      if (r.code != 235) {
        broken_ = true;
        co_return reply_for(Failure::kUpstreamUnavailable,
                            name() + " refused AUTH: " + r.summary());
      }
    }
    co_return std::nullopt;
  }

  asio::awaitable<Reply> mail(std::string args, const ClientInfo& client) override {
    if (caps_.xforward) {
      // Postfix: XFORWARD attributes apply to the next transaction.
      std::string cmd =
          "XFORWARD NAME=" + xtext_encode(client.name) + " ADDR=" + xtext_encode(client.addr) +
          " PROTO=" + xtext_encode(client.proto) + " HELO=" + xtext_encode(client.helo);
      if (!client.port.empty()) cmd += " PORT=" + xtext_encode(client.port);
      if (!client.source.empty()) cmd += " SOURCE=" + xtext_encode(client.source);
      Reply r = co_await command(cmd + "\r\n", options_.timeouts.reply);
      if (broken_) co_return failure_;
    }
    co_return co_await command("MAIL " + args + "\r\n", options_.timeouts.reply);
  }

  asio::awaitable<Reply> rcpt(std::string args) override {
    co_return co_await command("RCPT " + args + "\r\n", options_.timeouts.reply);
  }

  asio::awaitable<Reply> data(std::string message) override {
    Reply go = co_await command("DATA\r\n", options_.timeouts.reply);
    if (broken_ || go.code != 354) co_return go;
    const std::string stuffed = dot_stuff(message);
    std::string().swap(message);
    if (co_await channel_.write(stuffed, options_.timeouts.data_end) != Io::kOk) {
      co_return fail(Failure::kUpstreamTimeout, "sending the message");
    }
    co_return co_await read_reply(options_.timeouts.data_end);
  }

  asio::awaitable<bool> reset() override {
    if (broken()) co_return false;
    Reply r = co_await command("RSET\r\n", options_.timeouts.reply);
    if (!broken_ && r.code != 250) broken_ = true;
    co_return !broken_;
  }

  void close() override {
    broken_ = true;
    channel_.close_now("QUIT\r\n");
  }

 private:
  asio::awaitable<std::optional<Reply>> hello() {
    Reply r = co_await command("EHLO " + options_.helo_name + "\r\n", options_.timeouts.reply);
    if (broken_) co_return failure_;
    if (r.code == 250) {
      caps_ = parse_ehlo(r);
      co_return std::nullopt;
    }
    r = co_await command("HELO " + options_.helo_name + "\r\n", options_.timeouts.reply);
    if (broken_) co_return failure_;
    if (r.code != 250) {
      broken_ = true;
      co_return reply_for(Failure::kUpstreamUnavailable, name() + " refused HELO: " + r.summary());
    }
    caps_ = Capabilities{};
    co_return std::nullopt;
  }

  // Marks the connection broken and returns the reply the client gets.
  Reply fail(Failure f, std::string_view what) {
    broken_ = true;
    failure_ = reply_for(f, name() + ": " + std::string(what));
    channel_.close_now();
    return failure_;
  }

  asio::awaitable<Reply> command(const std::string& line, std::chrono::milliseconds timeout) {
    if (broken())
      co_return failure_.code != 0 ? failure_
                                   : fail(Failure::kUpstreamUnavailable, "connection closed");
    const Io io = co_await channel_.write(line, timeout);
    if (io != Io::kOk) {
      co_return fail(io == Io::kTimeout ? Failure::kUpstreamTimeout : Failure::kUpstreamUnavailable,
                     "lost connection sending " + upper(line.substr(0, line.find(' '))));
    }
    co_return co_await read_reply(timeout);
  }

  asio::awaitable<Reply> read_reply(std::chrono::milliseconds timeout) {
    ReplyParser parser;
    for (;;) {
      LineRead lr = co_await channel_.read_line(kMaxLineOctets * 4, timeout);
      if (lr.status == Io::kTimeout) co_return fail(Failure::kUpstreamTimeout, "no reply");
      if (lr.status != Io::kOk) {
        co_return fail(
            lr.status == Io::kTooLong ? Failure::kUpstreamProtocol : Failure::kUpstreamUnavailable,
            lr.status == Io::kTooLong ? "reply line too long" : "lost connection");
      }
      auto done = parser.feed(lr.line);
      if (!done) co_return fail(Failure::kUpstreamProtocol, done.error());
      if (*done) break;
    }
    Reply r = parser.take();
    if (r.code == 421) {
      broken_ = true;
      channel_.close_now();
    }
    co_return r;
  }

  Channel channel_;
  UpstreamOptions options_;
  Capabilities caps_;
  bool broken_ = false;
  Reply failure_;
};

}  // namespace

Capabilities parse_ehlo(const Reply& ehlo) {
  Capabilities c;
  for (std::size_t i = 1; i < ehlo.lines.size(); ++i) {
    std::istringstream words(ehlo.lines[i]);
    std::string keyword;
    words >> keyword;
    keyword = upper(keyword);
    std::string rest;
    std::getline(words, rest);
    if (!rest.empty() && rest.front() == ' ') rest.erase(0, 1);
    if (keyword == "PIPELINING") c.pipelining = true;
    if (keyword == "8BITMIME") c.eightbitmime = true;
    if (keyword == "SMTPUTF8") c.smtputf8 = true;
    if (keyword == "DSN") c.dsn = true;
    if (keyword == "XFORWARD") c.xforward = true;
    if (keyword == "STARTTLS") c.starttls = true;
    if (keyword == "CHUNKING") c.chunking = true;
    if (keyword == "AUTH") c.auth = upper(rest);
    if (keyword == "SIZE") {
      std::size_t v = 0;
      try {
        v = rest.empty() ? 0 : std::stoull(rest);
      } catch (...) {
        v = 0;
      }
      c.size = v;
    }
  }
  return c;
}

asio::awaitable<std::variant<std::unique_ptr<Upstream>, Reply>> connect_smtp(
    UpstreamOptions options, Watch& watch) {
  auto ex = co_await asio::this_coro::executor;
  const net::HostPort& hp = options.target.smtp;
  tcp::resolver resolver(ex);
  auto [rerr, endpoints] = co_await resolver.async_resolve(
      hp.host, std::to_string(hp.port), tcp::resolver::numeric_service, use_nothrow);
  if (rerr) {
    co_return reply_for(Failure::kUpstreamUnavailable, hp.str() + ": " + rerr.message());
  }
  auto up = std::make_unique<SmtpUpstream>(tcp::socket(ex), watch, options);
  if (auto err = co_await up->connect(endpoints); err) co_return *err;
  if (auto err = co_await up->open(); err) co_return *err;
  co_return std::unique_ptr<Upstream>(std::move(up));
}

}  // namespace trackrelay::relay
