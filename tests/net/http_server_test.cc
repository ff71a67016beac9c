// tests/net/http_server_test.cc — net::HttpServer over real loopback
// sockets: the owner's handler answers, keep-alive serves a second request on
// the same connection, an oversized header gets the owner's 431, and a bad
// listen address is a clear error.
#include "net/http_server.h"

#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <string>
#include <thread>

namespace trackrelay::net {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;

// A port the system just handed out (closed again before the server binds it).
unsigned short free_port() {
  asio::io_context ioc;
  tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

// Sends `request` and reads until the server closes the connection (every
// test's last request is one the server answers and then closes).
std::string round_trip(unsigned short port, const std::string& request) {
  asio::io_context ioc;
  tcp::socket s(ioc);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  asio::write(s, asio::buffer(request));
  std::string got;
  char buf[4096];
  boost::system::error_code ec;
  while (!ec) got.append(buf, s.read_some(asio::buffer(buf), ec));
  return got;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void start(HttpLimits limits) {
    server_ = std::make_unique<HttpServer>(
        ioc_, "test", limits,
        [](const HttpRequest& req, const tcp::endpoint&) -> asio::awaitable<HttpResponse> {
          HttpResponse res{http::status::ok, req.version()};
          res.body() = "path=" + std::string(req.target());
          res.prepare_payload();
          co_return res;
        },
        [](http::status status) {
          HttpResponse res{status, 11};
          res.body() = "owner error";
          res.prepare_payload();
          return res;
        });
    port_ = free_port();
    auto ok = server_->listen("127.0.0.1:" + std::to_string(port_), "test.listen", false);
    ASSERT_TRUE(ok.ok()) << ok.error();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  void TearDown() override {
    if (server_ != nullptr) {
      asio::post(ioc_, [this] { server_->stop(std::chrono::seconds(1)); });
    }
    if (thread_.joinable()) thread_.join();
  }

  asio::io_context ioc_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  unsigned short port_ = 0;
};

TEST_F(HttpServerTest, HandlerAnswersAndKeepAliveServesTheNextRequest) {
  start(HttpLimits{});
  const std::string got = round_trip(port_,
                                     "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                                     "GET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(got.find("HTTP/1.1 200 OK\r\n"), 0u) << got;
  EXPECT_NE(got.find("path=/a"), std::string::npos) << got;
  EXPECT_NE(got.find("path=/b"), std::string::npos) << got;
  EXPECT_NE(got.find("Date: "), std::string::npos) << got;
}

TEST_F(HttpServerTest, OversizedHeaderGetsTheOwners431) {
  HttpLimits limits;
  limits.header_bytes = 256;
  start(limits);
  const std::string got = round_trip(
      port_, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(1000, 'a') + "\r\n\r\n");
  EXPECT_EQ(got.find("HTTP/1.1 431 "), 0u) << got;
  EXPECT_NE(got.find("owner error"), std::string::npos) << got;
}

TEST(HttpServer, BadListenAddressIsAClearError) {
  asio::io_context ioc;
  HttpServer server(
      ioc, "test", HttpLimits{},
      [](const HttpRequest&, const tcp::endpoint&) -> asio::awaitable<HttpResponse> {
        co_return HttpResponse{};
      },
      [](http::status s) {
        return HttpResponse{s, 11};
      });
  auto r = server.listen("not an address", "track.listen", false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().rfind("track.listen: ", 0), 0u) << r.error();
}

}  // namespace
}  // namespace trackrelay::net
