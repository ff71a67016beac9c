// net/http_server.cc — see http_server.h. Factored out of the tracking
// endpoint's server so the management API reuses the same connection code.
// May call: net/address.h, base/, Boost.Beast, OpenSSL.
#include "net/http_server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <ctime>
#include <deque>
#include <list>
#include <string>
#include <tuple>

#include "base/log.h"
#include "net/address.h"

namespace trackrelay::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

constexpr std::size_t kReadBuffer = 16 * 1024;
constexpr std::chrono::seconds kShutdownTimeout{5};

// The Date header, formatted once per second.
class DateCache {
 public:
  std::string_view now() {
    const std::time_t t = std::time(nullptr);
    if (t != second_) {
      second_ = t;
      std::tm tm{};
      gmtime_r(&t, &tm);
      len_ = std::strftime(buf_, sizeof buf_, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    }
    return {buf_, len_};
  }

 private:
  std::time_t second_ = 0;
  char buf_[64] = {};
  std::size_t len_ = 0;
};

// The response as it goes on the wire, into `out` (reused per connection, so
// no allocation once it has grown): status line, the fields in their order,
// the empty line, the body. The same bytes Beast's serializer writes for a
// response that is not chunked (serve() leaves chunked ones to Beast), in
// one buffer and one write.
void serialize(const HttpResponse& res, std::string& out) {
  out.clear();
  const unsigned v = res.version();
  const unsigned c = res.result_int();
  const char line[] = {'H',
                       'T',
                       'T',
                       'P',
                       '/',
                       static_cast<char>('0' + v / 10 % 10),
                       '.',
                       static_cast<char>('0' + v % 10),
                       ' ',
                       static_cast<char>('0' + c / 100 % 10),
                       static_cast<char>('0' + c / 10 % 10),
                       static_cast<char>('0' + c % 10),
                       ' '};
  out.append(line, sizeof line);
  const std::string_view reason = res.reason();
  out.append(reason.data(), reason.size());
  out += "\r\n";
  for (const auto& f : res) {
    const std::string_view name = f.name_string();
    const std::string_view value = f.value();
    out.append(name.data(), name.size());
    out += ": ";
    out.append(value.data(), value.size());
    out += "\r\n";
  }
  out += "\r\n";
  out += res.body();
}

}  // namespace

struct HttpServer::Impl {
  // One open connection, so stop() can close it while it waits for a request.
  struct Conn {
    beast::tcp_stream* tcp = nullptr;
    bool idle = true;
  };

  asio::io_context& ioc;
  std::string name;
  HttpLimits limits;
  Handler handler;
  ErrorReply error_reply;
  std::shared_ptr<TlsContexts> certs;
  std::deque<tcp::acceptor> acceptors;  // deque: accept loops hold references
  std::list<Conn> conns;
  bool stopping = false;
  asio::steady_timer grace_timer{ioc};
  DateCache date;

  Impl(asio::io_context& io, std::string n, HttpLimits l, Handler h, ErrorReply e)
      : ioc(io), name(std::move(n)), limits(l), handler(std::move(h)), error_reply(std::move(e)) {}

  asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, bool tls);
  asio::awaitable<void> run_plain(tcp::socket socket);
  asio::awaitable<void> run_tls(tcp::socket socket, std::shared_ptr<TlsContexts> set);
  template <class Stream>
  asio::awaitable<void> serve(Stream& stream, const tcp::endpoint& peer, Conn& conn);
  void forget(std::list<Conn>::iterator it);
};

Result<bool> HttpServer::listen(const std::string& text, const char* key, bool tls) {
  Impl& s = *impl_;
  auto ep = net::parse_listen(text);
  if (!ep) return Error{std::string(key) + ": " + ep.error()};
  tcp::acceptor& a = s.acceptors.emplace_back(s.ioc);
  boost::system::error_code ec;
  a.open(ep->protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(*ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error{std::string(key) + " " + text + ": cannot listen: " + ec.message()};
  const tcp::endpoint bound = a.local_endpoint(ec);
  log::info(s.name, std::string("listening on ") + (tls ? "https://" : "http://") +
                        (bound.address().is_v6() ? "[" + bound.address().to_string() + "]"
                                                 : bound.address().to_string()) +
                        ":" + std::to_string(bound.port()));
  asio::co_spawn(s.ioc, s.accept_loop(a, tls), asio::detached);
  return true;
}

asio::awaitable<void> HttpServer::Impl::accept_loop(tcp::acceptor& acceptor, bool tls) {
  asio::steady_timer backoff(ioc);
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(kNoThrow);
    if (stopping || !acceptor.is_open()) co_return;
    if (ec) {
      // Out of descriptors or memory: wait instead of spinning.
      log::error(name, "accept: " + ec.message());
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(kNoThrow);
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    if (tls) {
      asio::co_spawn(ioc, run_tls(std::move(socket), certs), asio::detached);
    } else {
      asio::co_spawn(ioc, run_plain(std::move(socket)), asio::detached);
    }
  }
}

void HttpServer::Impl::forget(std::list<Conn>::iterator it) {
  conns.erase(it);
  if (stopping && conns.empty()) grace_timer.cancel();
}

asio::awaitable<void> HttpServer::Impl::run_plain(tcp::socket socket) {
  boost::system::error_code ec;
  const tcp::endpoint peer = socket.remote_endpoint(ec);
  if (ec) co_return;
  beast::tcp_stream stream(std::move(socket));
  auto it = conns.insert(conns.end(), Conn{&stream, true});
  co_await serve(stream, peer, *it);
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.socket().close(ec);
  forget(it);
}

asio::awaitable<void> HttpServer::Impl::run_tls(tcp::socket socket,
                                                std::shared_ptr<TlsContexts> set) {
  boost::system::error_code ec;
  const tcp::endpoint peer = socket.remote_endpoint(ec);
  if (ec || set == nullptr) co_return;
  beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), set->context());
  beast::tcp_stream& tcp = beast::get_lowest_layer(stream);
  auto it = conns.insert(conns.end(), Conn{&tcp, false});
  tcp.expires_after(limits.handshake_timeout);
  auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server, kNoThrow);
  if (!hec) {
    co_await serve(stream, peer, *it);
    tcp.expires_after(kShutdownTimeout);
    co_await stream.async_shutdown(kNoThrow);
  }
  tcp.socket().close(ec);
  forget(it);
}

template <class Stream>
asio::awaitable<void> HttpServer::Impl::serve(Stream& stream, const tcp::endpoint& peer,
                                              Conn& conn) {
  beast::tcp_stream& tcp = beast::get_lowest_layer(stream);
  beast::flat_buffer buffer(kReadBuffer);
  std::string out;  // the serialized response, reused
  for (;;) {
    conn.idle = buffer.size() == 0;
    if (stopping && conn.idle) co_return;
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.header_bytes));
    parser.body_limit(limits.body_bytes);
    tcp.expires_after(limits.read_timeout);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, kNoThrow);
    conn.idle = false;
    HttpResponse res;
    bool keep_alive = false;
    if (ec) {
      // End of stream, timeout, reset, cancelled by stop(): just close. A
      // request we cannot accept gets a status and the connection closes.
      if (ec == http::error::header_limit) {
        res = error_reply(http::status::request_header_fields_too_large);
      } else if (ec == http::error::body_limit) {
        res = error_reply(http::status::payload_too_large);
      } else if (ec.category() == make_error_code(http::error::bad_target).category() &&
                 ec != http::error::end_of_stream && ec != http::error::partial_message) {
        res = error_reply(http::status::bad_request);
      } else {
        co_return;
      }
      res.version(11);
      res.prepare_payload();
    } else {
      const HttpRequest& req = parser.get();
      res = co_await handler(req, peer);
      res.version(req.version());
      keep_alive = req.keep_alive() && !stopping;
    }
    res.set(http::field::date, date.now());
    res.keep_alive(keep_alive);
    tcp.expires_after(limits.write_timeout);
    boost::system::error_code wec;
    if (res.chunked()) {
      std::tie(wec, std::ignore) = co_await http::async_write(stream, res, kNoThrow);
    } else {
      serialize(res, out);
      std::tie(wec, std::ignore) = co_await asio::async_write(stream, asio::buffer(out), kNoThrow);
    }
    if (wec || !keep_alive) co_return;
  }
}

HttpServer::HttpServer(asio::io_context& ioc, std::string name, HttpLimits limits, Handler handler,
                       ErrorReply error_reply)
    : impl_(std::make_unique<Impl>(ioc, std::move(name), limits, std::move(handler),
                                   std::move(error_reply))) {}

HttpServer::~HttpServer() = default;

void HttpServer::set_certificates(std::shared_ptr<TlsContexts> certs) {
  impl_->certs = std::move(certs);
}

void HttpServer::stop(std::chrono::seconds grace) {
  Impl& s = *impl_;
  if (s.stopping) return;
  s.stopping = true;
  boost::system::error_code ec;
  for (tcp::acceptor& a : s.acceptors) a.close(ec);
  // Idle connections close now; busy ones after their current response, or
  // when the grace period ends.
  for (Impl::Conn& c : s.conns) {
    if (c.idle) c.tcp->cancel();
  }
  if (s.conns.empty()) return;
  s.grace_timer.expires_after(grace);
  s.grace_timer.async_wait([&s](const boost::system::error_code& e) {
    if (e) return;
    for (Impl::Conn& c : s.conns) c.tcp->close();
  });
}

}  // namespace trackrelay::net
