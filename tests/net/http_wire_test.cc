// tests/net/http_wire_test.cc — net::HttpServer writes a response from one
// buffer (issue 12) with exactly the bytes Beast's serializer writes for the
// same response: fields in order, custom reasons, HTTP/1.0, keep-alive and
// close, an empty 302, and chunked bodies (still Beast's).
#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "net/http_server.h"

namespace trackrelay::net {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;

// What the test handler answers for `target`, before the server's Date and
// Connection.
HttpResponse response_for(std::string_view target) {
  HttpResponse res;
  if (target == "/redirect") {
    res.result(http::status::found);
    res.set(http::field::location, "https://example.com/landing?a=1&b=2");
    res.set(http::field::cache_control, "no-store, private");
    res.set("X-Robots-Tag", "noindex");
    res.set("Referrer-Policy", "no-referrer");
    res.content_length(0);
  } else if (target == "/reason") {
    res.result(299);
    res.reason("Fine Indeed");
    res.set(http::field::content_type, "text/plain");
    res.body() = "body\n";
    res.prepare_payload();
  } else {
    res.result(http::status::ok);
    res.chunked(true);
    res.body() = "chunked body";
  }
  return res;
}

// Beast's bytes for the response the server sends to `req_version`.
std::string beast_bytes(std::string_view target, unsigned req_version, bool keep_alive,
                        std::string_view date) {
  HttpResponse res = response_for(target);
  res.version(req_version);
  res.set(http::field::date, date);
  res.keep_alive(keep_alive);
  std::ostringstream os;
  os << res;
  return os.str();
}

std::string talk(unsigned short port, const std::string& request) {
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

std::string date_of(const std::string& got) {
  const auto at = got.find("Date: ");
  return at == std::string::npos ? "" : got.substr(at + 6, got.find("\r\n", at) - at - 6);
}

TEST(HttpWire, OneBufferWritesBeastsBytes) {
  asio::io_context ioc;
  HttpServer server(
      ioc, "test", HttpLimits{},
      [](const HttpRequest& req, const tcp::endpoint&) -> asio::awaitable<HttpResponse> {
        co_return response_for(req.target());
      },
      [](http::status s) {
        return HttpResponse{s, 11};
      });
  unsigned short port = 0;
  {
    asio::io_context probe;
    tcp::acceptor a(probe, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }
  ASSERT_TRUE(server.listen("127.0.0.1:" + std::to_string(port), "test.listen", false).ok());
  std::thread t([&] { ioc.run(); });

  for (const char* target : {"/redirect", "/reason", "/chunked"}) {
    // HTTP/1.1, the connection kept for a second request, then closed.
    const std::string got =
        talk(port, std::string("GET ") + target + " HTTP/1.1\r\nHost: x\r\n\r\nGET " + target +
                       " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const std::string date = date_of(got);
    ASSERT_FALSE(date.empty()) << got;
    const std::string first = beast_bytes(target, 11, true, date);
    EXPECT_EQ(got.substr(0, first.size()), first) << target;
    // The second response may carry the next second's Date.
    const std::string second = beast_bytes(target, 11, false, date_of(got.substr(first.size())));
    EXPECT_EQ(got.substr(first.size()), second) << target;
    // HTTP/1.0 without keep-alive.
    const std::string old = talk(port, std::string("GET ") + target + " HTTP/1.0\r\n\r\n");
    EXPECT_EQ(old, beast_bytes(target, 10, false, date_of(old))) << target;
  }
  asio::post(ioc, [&] { server.stop(std::chrono::seconds(1)); });
  t.join();
}

}  // namespace
}  // namespace trackrelay::net
