// net/http_server.h — the HTTP/1.1 connection handling the tracking
// endpoint (track/) and the management API (api/) share.
//
// Owns: listeners (plain and TLS with the owner's TlsContexts), one coroutine per
// connection, keep-alive and pipelining, a timeout on every read and write,
// header and body limits (answered with 431/413 through the owner's error
// formatter), the Date header, and graceful stop. What a request gets is the
// owner's Handler. May call: net/address.h, base/, Boost.Beast,
// OpenSSL. Runs on the caller's io_context (one thread).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "base/result.h"

namespace trackrelay::net {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;

// The TLS contexts of HTTPS listeners (track/tls.h's CertificateSet): the
// context a handshake starts with; the owner picks certificates (SNI) in it.
class TlsContexts {
 public:
  virtual ~TlsContexts() = default;
  virtual boost::asio::ssl::context& context() = 0;
};

struct HttpLimits {
  std::size_t header_bytes = 8 * 1024;    // request line + headers (431 beyond)
  std::uint64_t body_bytes = 8 * 1024;    // 413 beyond
  std::chrono::seconds read_timeout{30};  // idle keep-alive connections close after this
  std::chrono::seconds write_timeout{30};
  std::chrono::seconds handshake_timeout{10};
};

class HttpServer {
 public:
  // Answers one request. The server sets Date and Connection; the handler
  // sets everything else (a HEAD reply sets its content length itself).
  using Handler = std::function<boost::asio::awaitable<HttpResponse>(
      const HttpRequest&, const boost::asio::ip::tcp::endpoint& peer)>;
  // The reply to a request that could not be read: 400, 413 or 431.
  using ErrorReply = std::function<HttpResponse(boost::beast::http::status)>;

  // `name` prefixes log lines ("track", "api").
  HttpServer(boost::asio::io_context& ioc, std::string name, HttpLimits limits, Handler handler,
             ErrorReply error_reply);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds `address` ("host:port"; port 0: the system picks, the log says
  // which) and starts accepting: TLS when `tls`. `key` names the setting in
  // errors ("track.listen"). Logs "<name>: listening on http(s)://ip:port".
  Result<bool> listen(const std::string& address, const char* key, bool tls);
  // The certificates new TLS connections use (connections keep theirs).
  void set_certificates(std::shared_ptr<TlsContexts> certs);
  // Stops accepting; requests in flight are answered within `grace`.
  void stop(std::chrono::seconds grace);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace trackrelay::net
