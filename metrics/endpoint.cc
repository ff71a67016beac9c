// metrics/endpoint.cc — the /metrics listener on net/http_server. Rendering
// runs on the endpoint's own thread: collectors read the store (the webhook
// queue's depth), and a database that hangs must not hold the io_context the
// tracker and the relay share. May call: metrics/registry.h,
// net/http_server.h, base/.
#include "metrics/endpoint.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>

#include "net/http_server.h"

namespace trackrelay::metrics {
namespace {

namespace http = boost::beast::http;
using net::HttpRequest;
using net::HttpResponse;

HttpResponse plain(http::status status, std::string body) {
  HttpResponse res;
  res.result(status);
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

// The response to `req`; a scrape renders the registry on `renderer`.
boost::asio::awaitable<HttpResponse> answer(const Registry& registry,
                                            boost::asio::thread_pool& renderer,
                                            const HttpRequest& req) {
  const std::string_view target = req.target();
  const std::string_view path = target.substr(0, target.find('?'));
  if (path != "/metrics") {
    co_return plain(http::status::not_found, "404 not found: try /metrics\n");
  }
  const bool head = req.method() == http::verb::head;
  if (!head && req.method() != http::verb::get) {
    HttpResponse res = plain(http::status::method_not_allowed, "405 method not allowed\n");
    res.set(http::field::allow, "GET, HEAD");
    co_return res;
  }
  HttpResponse res;
  res.result(http::status::ok);
  res.set(http::field::content_type, kContentType);
  res.set(http::field::cache_control, "no-store");
  std::string body = co_await boost::asio::co_spawn(
      renderer,
      [&registry]() -> boost::asio::awaitable<std::string> { co_return registry.render(); },
      boost::asio::use_awaitable);
  res.content_length(body.size());
  if (!head) res.body() = std::move(body);
  co_return res;
}

}  // namespace

struct Endpoint::Impl {
  boost::asio::thread_pool renderer{1};  // joined after the listener is gone
  std::unique_ptr<net::HttpServer> http;
};

Endpoint::Endpoint(boost::asio::io_context& ioc, const Registry& registry)
    : impl_(std::make_unique<Impl>()) {
  impl_->http = std::make_unique<net::HttpServer>(
      ioc, "metrics", net::HttpLimits{},
      [&registry, &renderer = impl_->renderer](const HttpRequest& req,
                                               const boost::asio::ip::tcp::endpoint&) {
        return answer(registry, renderer, req);
      },
      [](http::status status) {
        return plain(status, std::string(http::obsolete_reason(status)) + "\n");
      });
}

Endpoint::~Endpoint() = default;

Result<bool> Endpoint::listen(const std::vector<std::string>& addresses) {
  for (const std::string& a : addresses) {
    if (auto r = impl_->http->listen(a, "metrics.listen", false); !r) return r;
  }
  return true;
}

void Endpoint::stop(std::chrono::seconds grace) {
  impl_->http->stop(grace);
}

}  // namespace trackrelay::metrics
