// track/server.cc — the tracking endpoint's listeners and connections.
//
// One coroutine per connection on the caller's io_context, which runs on one
// thread (app/serve.cc): keep-alive and pipelined requests are read one after
// another from the same buffer; every read and write has a timeout; headers
// and bodies are bounded. A request that produces an event waits for the
// store's group commit before its response is written; a store that fails
// does not block the response (the event is lost, the store says so loudly
// and /healthz answers 503). May call: track/handler, track/tls, track/net,
// store/, conf/, base/, Boost.Beast, OpenSSL.
#include "track/server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <ctime>
#include <deque>
#include <filesystem>
#include <iostream>
#include <list>

#include "store/event_store.h"
#include "track/handler.h"
#include "track/net.h"
#include "track/tls.h"

namespace trackrelay::track {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

constexpr std::size_t kHeaderLimit = 8 * 1024;  // request line + headers
constexpr std::uint64_t kBodyLimit = 8 * 1024;  // tracking requests have no body
constexpr std::size_t kReadBuffer = 16 * 1024;
// Idle keep-alive connections and slow senders are closed after this.
constexpr std::chrono::seconds kReadTimeout{30};
constexpr std::chrono::seconds kWriteTimeout{30};
constexpr std::chrono::seconds kHandshakeTimeout{10};
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

}  // namespace

struct Server::Impl {
  // One open connection, so stop() can close it while it waits for a request.
  struct Conn {
    beast::tcp_stream* tcp = nullptr;
    bool idle = true;
  };

  asio::io_context& ioc;
  const conf::Snapshot& snapshot;
  std::shared_ptr<const Prepared> prepared;
  std::shared_ptr<CertificateSet> certs;  // null without track.tls_listen
  std::unique_ptr<store::EventStore> store;
  std::deque<tcp::acceptor> acceptors;  // deque: accept loops hold references
  std::list<Conn> conns;
  bool stopping = false;
  asio::steady_timer grace_timer{ioc};
  DateCache date;

  Impl(asio::io_context& io, const conf::Snapshot& s) : ioc(io), snapshot(s) {}

  Result<bool> bind(const std::string& text, bool tls);
  asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, bool tls);
  asio::awaitable<void> run_plain(tcp::socket socket);
  asio::awaitable<void> run_tls(tcp::socket socket, std::shared_ptr<CertificateSet> set);
  template <class Stream>
  asio::awaitable<void> serve(Stream& stream, const tcp::endpoint& peer, Conn& conn);
  asio::awaitable<bool> record(store::Event e);
  void forget(std::list<Conn>::iterator it);
};

Result<bool> Server::Impl::bind(const std::string& text, bool tls) {
  const char* key = tls ? "track.tls_listen" : "track.listen";
  auto ep = parse_listen(text);
  if (!ep) return Error{std::string(key) + ": " + ep.error()};
  tcp::acceptor& a = acceptors.emplace_back(ioc);
  boost::system::error_code ec;
  a.open(ep->protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(*ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error{std::string(key) + " " + text + ": cannot listen: " + ec.message()};
  const tcp::endpoint bound = a.local_endpoint(ec);
  std::cerr << "trackrelay: track: listening on " << (tls ? "https://" : "http://")
            << (bound.address().is_v6() ? "[" + bound.address().to_string() + "]"
                                        : bound.address().to_string())
            << ":" << bound.port() << "\n";
  asio::co_spawn(ioc, accept_loop(a, tls), asio::detached);
  return true;
}

asio::awaitable<void> Server::Impl::accept_loop(tcp::acceptor& acceptor, bool tls) {
  asio::steady_timer backoff(ioc);
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(kNoThrow);
    if (stopping || !acceptor.is_open()) co_return;
    if (ec) {
      // Out of descriptors or memory: wait instead of spinning.
      std::cerr << "trackrelay: track: accept: " << ec.message() << "\n";
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

void Server::Impl::forget(std::list<Conn>::iterator it) {
  conns.erase(it);
  if (stopping && conns.empty()) grace_timer.cancel();
}

asio::awaitable<void> Server::Impl::run_plain(tcp::socket socket) {
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

asio::awaitable<void> Server::Impl::run_tls(tcp::socket socket,
                                            std::shared_ptr<CertificateSet> set) {
  boost::system::error_code ec;
  const tcp::endpoint peer = socket.remote_endpoint(ec);
  if (ec) co_return;
  beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), set->context());
  beast::tcp_stream& tcp = beast::get_lowest_layer(stream);
  auto it = conns.insert(conns.end(), Conn{&tcp, false});
  tcp.expires_after(kHandshakeTimeout);
  auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server, kNoThrow);
  if (!hec) {
    co_await serve(stream, peer, *it);
    tcp.expires_after(kShutdownTimeout);
    co_await stream.async_shutdown(kNoThrow);
  }
  tcp.socket().close(ec);
  forget(it);
}

asio::awaitable<bool> Server::Impl::record(store::Event e) {
  // Completes on this coroutine's executor once the store has committed (or
  // failed); the work guard keeps the io_context running meanwhile.
  auto initiate = [this](auto handler, store::Event ev) {
    using Handler = decltype(handler);
    auto shared = std::make_shared<Handler>(std::move(handler));
    auto work = asio::make_work_guard(asio::get_associated_executor(*shared, ioc.get_executor()));
    store->append(std::move(ev), [shared, work](const Result<bool>& r) {
      asio::post(work.get_executor(), [shared, ok = r.ok()] { (*shared)(ok); });
    });
  };
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(bool)>(
      initiate, asio::use_awaitable, std::move(e));
}

template <class Stream>
asio::awaitable<void> Server::Impl::serve(Stream& stream, const tcp::endpoint& peer, Conn& conn) {
  beast::tcp_stream& tcp = beast::get_lowest_layer(stream);
  beast::flat_buffer buffer(kReadBuffer);
  for (;;) {
    conn.idle = buffer.size() == 0;
    if (stopping && conn.idle) co_return;
    http::request_parser<http::string_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(kBodyLimit);
    tcp.expires_after(kReadTimeout);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, kNoThrow);
    conn.idle = false;
    http::response<http::string_body> res;
    bool keep_alive = false;
    if (ec) {
      // End of stream, timeout, reset, cancelled by stop(): just close. A
      // request we cannot accept gets a status and the connection closes.
      if (ec == http::error::header_limit) {
        res.result(http::status::request_header_fields_too_large);
      } else if (ec == http::error::body_limit) {
        res.result(http::status::payload_too_large);
      } else if (ec.category() == make_error_code(http::error::bad_target).category() &&
                 ec != http::error::end_of_stream && ec != http::error::partial_message) {
        res.result(http::status::bad_request);
      } else {
        co_return;
      }
      res.version(11);
      res.set(http::field::content_type, "text/plain; charset=utf-8");
      res.body() = std::string(res.reason()) + "\n";
    } else {
      const auto& req = parser.get();
      Request r{req.method_string(),          req.target(),           req[http::field::host],
                req[http::field::user_agent], req["X-Forwarded-For"], peer.address()};
      const std::shared_ptr<const Prepared> p = prepared;  // this request's snapshot
      Reply reply = handle(*p, r, std::chrono::system_clock::now(), store->health());
      if (reply.event) co_await record(std::move(*reply.event));
      res.result(static_cast<unsigned>(reply.status));
      res.version(req.version());
      if (reply.status == 302) {
        res.set(http::field::location, reply.location);
      } else {
        res.set(http::field::content_type, reply.content_type);
      }
      if (reply.no_store) res.set(http::field::cache_control, "no-store, private");
      if (reply.redirect_headers) {
        res.set("X-Robots-Tag", "noindex");
        res.set("Referrer-Policy", "no-referrer");
      }
      if (req.method() == http::verb::head) {
        res.content_length(reply.body.size());
      } else {
        res.body().assign(reply.body.data(), reply.body.size());
        res.content_length(reply.body.size());
      }
      keep_alive = req.keep_alive() && !stopping;
    }
    res.set(http::field::date, date.now());
    res.keep_alive(keep_alive);
    tcp.expires_after(kWriteTimeout);
    auto [wec, wn] = co_await http::async_write(stream, res, kNoThrow);
    if (wec || !keep_alive) co_return;
  }
}

Server::Server(boost::asio::io_context& ioc, const conf::Snapshot& config)
    : impl_(std::make_unique<Impl>(ioc, config)) {}

Server::~Server() = default;

Result<bool> Server::start() {
  Impl& s = *impl_;
  std::shared_ptr<const conf::Config> cfg = s.snapshot.current();
  auto prepared = prepare(cfg);
  if (!prepared) return Error{prepared.error()};
  s.prepared = std::move(prepared).value();
  if (!cfg->track.tls_listen.empty()) {
    auto set = CertificateSet::load(cfg->track.certificates);
    if (!set) return Error{set.error()};
    s.certs = std::move(set).value();
  }
  const std::filesystem::path db(cfg->store);
  if (db.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(db.parent_path(), ec);
  }
  store::Options options;
  options.path = cfg->store;
  auto opened = store::EventStore::open(std::move(options));
  if (!opened) return Error{"store: " + opened.error()};
  s.store = std::move(opened).value();
  for (const std::string& a : cfg->track.listen) {
    if (auto r = s.bind(a, false); !r) return r;
  }
  for (const std::string& a : cfg->track.tls_listen) {
    if (auto r = s.bind(a, true); !r) return r;
  }
  return true;
}

void Server::stop(std::chrono::seconds grace) {
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

Result<bool> Server::reloaded() {
  Impl& s = *impl_;
  std::shared_ptr<const conf::Config> cfg = s.snapshot.current();
  auto prepared = prepare(cfg);
  if (!prepared) return Error{prepared.error() + "; the tracking endpoint keeps its configuration"};
  std::shared_ptr<CertificateSet> certs = s.certs;
  if (s.certs != nullptr) {
    auto set = CertificateSet::load(cfg->track.certificates);
    if (!set) return Error{set.error() + "; the certificates in use stay"};
    certs = std::move(set).value();
  }
  s.prepared = std::move(prepared).value();
  s.certs = std::move(certs);
  if (cfg->store != s.store->path()) {
    std::cerr << "trackrelay: track: store: the new path " << cfg->store
              << " takes effect at the next restart; events still go to " << s.store->path()
              << "\n";
  }
  return true;
}

}  // namespace trackrelay::track
