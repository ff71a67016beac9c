// webhook/http_post.cc — see http_post.h. May call: dns/resolver.h,
// net/address.h, base/, Boost.Beast/Asio/URL, OpenSSL.
#include "webhook/http_post.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <chrono>

#include "base/strings.h"
#include "net/address.h"

namespace trackrelay::webhook {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr std::size_t kMaxResponseBody = 64 * 1024;
constexpr std::size_t kMaxUrl = 2048;

}  // namespace

Result<Target> parse_target(std::string_view url) {
  if (url.size() > kMaxUrl) return Error{"target is longer than 2048 characters"};
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u) return Error{"target is not a valid absolute URL: " + u.error().message()};
  Target t;
  const std::string scheme = to_lower(u->scheme());
  if (scheme != "http" && scheme != "https") {
    return Error{"target must be an http:// or https:// URL"};
  }
  t.https = scheme == "https";
  if (u->has_userinfo()) {
    return Error{"target must not carry user info; use auth_type basic with auth_credentials"};
  }
  t.host = std::string(u->host_address());
  if (t.host.empty()) return Error{"target has no host"};
  t.port = t.https ? 443 : 80;
  if (u->has_port()) {
    const auto p = u->port_number();
    if (p == 0) return Error{"target has an invalid port"};
    t.port = p;
  }
  t.path = std::string(u->encoded_path());
  if (t.path.empty()) t.path = "/";
  if (u->has_query()) t.path += "?" + std::string(u->encoded_query());
  return t;
}

Result<std::vector<std::string>> egress_addresses(const Target& t, dns::Resolver* resolver,
                                                  bool allow_private) {
  std::vector<std::string> candidates;
  boost::system::error_code ec;
  (void)asio::ip::make_address(t.host, ec);
  if (!ec) {
    candidates.push_back(t.host);
  } else {
    if (resolver == nullptr) return Error{"cannot resolve " + t.host + ": no resolver"};
    const dns::Answer a = resolver->addresses(t.host);
    if (a.kind != dns::Answer::Kind::kFound) {
      return Error{"cannot resolve " + t.host + ": " + a.detail};
    }
    candidates = a.values;
  }
  std::vector<std::string> out;
  std::string refused;
  for (const std::string& ip : candidates) {
    const auto addr = asio::ip::make_address(ip, ec);
    if (ec) continue;
    const std::string_view why = net::non_global_reason(addr);
    if (!why.empty() && !allow_private) {
      refused += (refused.empty() ? "" : ", ") + ip + ": " + std::string(why);
      continue;
    }
    out.push_back(ip);
  }
  if (out.empty()) {
    return Error{t.host + " resolves only to non-global addresses (" + refused +
                 "); dns.allow_private_addresses is false"};
  }
  return out;
}

namespace {

struct Exchange {
  const Target& target;
  const PostRequest& req;
  std::vector<tcp::endpoint> endpoints;
  PostResult result;
};

http::request<http::string_body> make_request(const Exchange& x) {
  http::request<http::string_body> r{http::verb::post, x.target.path, 11};
  const bool v6 = x.target.host.find(':') != std::string::npos;
  std::string host = v6 ? "[" + x.target.host + "]" : x.target.host;
  if (x.target.port != (x.target.https ? 443 : 80)) host += ":" + std::to_string(x.target.port);
  r.set(http::field::host, host);
  r.set(http::field::user_agent, "trackrelay-webhooks");
  r.set(http::field::content_type, "application/json");
  r.set(http::field::connection, "close");
  for (const auto& [name, value] : x.req.headers) r.set(name, value);
  r.body() = x.req.body;
  r.prepare_payload();
  return r;
}

template <class Stream>
asio::awaitable<void> exchange(Stream& stream, Exchange& x) {
  auto request = make_request(x);
  co_await http::async_write(stream, request, asio::use_awaitable);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(boost::none);
  parser.eager(true);
  beast::error_code ec;
  // Read the header, then at most kMaxResponseBody of the body.
  co_await http::async_read_header(stream, buffer, parser,
                                   asio::redirect_error(asio::use_awaitable, ec));
  if (ec) throw boost::system::system_error(ec);
  x.result.answered = true;
  x.result.status = static_cast<int>(parser.get().result_int());
  for (const auto& f : parser.get()) {
    x.result.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  }
  while (!parser.is_done() && parser.get().body().size() < kMaxResponseBody) {
    co_await http::async_read_some(stream, buffer, parser,
                                   asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
  }
  x.result.body = parser.get().body().substr(0, kMaxResponseBody);
}

asio::awaitable<void> run(asio::ssl::context& tls, Exchange& x) {
  auto ex = co_await asio::this_coro::executor;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(x.req.timeout_ms);
  beast::tcp_stream tcp_stream(ex);
  tcp_stream.expires_at(deadline);
  co_await tcp_stream.async_connect(x.endpoints, asio::use_awaitable);
  if (!x.target.https) {
    co_await exchange(tcp_stream, x);
    co_return;
  }
  beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp_stream), tls);
  beast::get_lowest_layer(stream).expires_at(deadline);
  boost::system::error_code ec;
  (void)asio::ip::make_address(x.target.host, ec);
  if (ec && !SSL_set_tlsext_host_name(stream.native_handle(), x.target.host.c_str())) {
    throw std::runtime_error("cannot set SNI");
  }
  stream.set_verify_mode(asio::ssl::verify_peer);
  stream.set_verify_callback(asio::ssl::host_name_verification(x.target.host));
  co_await stream.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
  co_await exchange(stream, x);
}

}  // namespace

PostResult post(const PostRequest& req, dns::Resolver* resolver) {
  auto target = parse_target(req.url);
  if (!target) return PostResult{false, 0, {}, {}, target.error()};
  auto addresses = egress_addresses(*target, resolver, req.allow_private);
  if (!addresses) return PostResult{false, 0, {}, {}, "refused: " + addresses.error()};
  Exchange x{*target, req, {}, {}};
  for (const std::string& ip : *addresses) {
    x.endpoints.emplace_back(asio::ip::make_address(ip), target->port);
  }
  asio::io_context ioc;
  asio::ssl::context tls(asio::ssl::context::tls_client);
  tls.set_default_verify_paths();
  tls.set_options(asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                  asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
  std::string error;
  asio::co_spawn(ioc, run(tls, x), [&](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const boost::system::system_error& se) {
      error = se.code() == beast::error::timeout
                  ? "timed out after " + std::to_string(req.timeout_ms) + " ms"
                  : se.code().message();
    } catch (const std::exception& ex) {
      error = ex.what();
    }
  });
  ioc.run();
  if (!error.empty() && !x.result.answered) x.result.error = error;
  return std::move(x.result);
}

}  // namespace trackrelay::webhook
