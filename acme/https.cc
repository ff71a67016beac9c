// acme/https.cc — see https.h. May call: base/, Boost.Beast, Boost.URL, OpenSSL.
#include "acme/https.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <optional>

namespace trackrelay::acme {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

struct Target {
  std::string host, port, path;
};

Result<Target> parse(std::string_view url) {
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u || u->scheme() != "https" || u->host().empty()) {
    return Error{"not an https:// URL: " + std::string(url)};
  }
  Target t{std::string(u->host()), u->has_port() ? std::string(u->port()) : "443",
           std::string(u->encoded_path())};
  if (t.path.empty()) t.path = "/";
  if (u->has_query()) t.path += "?" + std::string(u->encoded_query());
  return t;
}

asio::awaitable<HttpsResponse> exchange(ssl::context& ctx, Target t, http::verb verb,
                                        std::string body, std::string content_type) {
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  beast::ssl_stream<beast::tcp_stream> stream(ex, ctx);
  boost::system::error_code not_ip;
  asio::ip::make_address(t.host, not_ip);
  if (not_ip) SSL_set_tlsext_host_name(stream.native_handle(), t.host.c_str());  // no SNI for IPs
  stream.set_verify_callback(ssl::host_name_verification(t.host));
  auto endpoints = co_await resolver.async_resolve(t.host, t.port, asio::use_awaitable);
  co_await beast::get_lowest_layer(stream).async_connect(endpoints, asio::use_awaitable);
  co_await stream.async_handshake(ssl::stream_base::client, asio::use_awaitable);
  http::request<http::string_body> req(verb, t.path, 11);
  req.set(http::field::host, t.port == "443" ? t.host : t.host + ":" + t.port);
  req.set(http::field::user_agent, "trackrelay-acme/1");
  if (!content_type.empty()) req.set(http::field::content_type, content_type);
  req.body() = std::move(body);
  req.prepare_payload();
  co_await http::async_write(stream, req, asio::use_awaitable);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(1024 * 1024);
  if (verb == http::verb::head) parser.skip(true);
  co_await http::async_read(stream, buf, parser, asio::use_awaitable);
  auto& res = parser.get();
  HttpsResponse out;
  out.status = static_cast<int>(res.result_int());
  out.body = std::move(res.body());
  out.content_type = std::string(res[http::field::content_type]);
  out.location = std::string(res[http::field::location]);
  out.replay_nonce = std::string(res["Replay-Nonce"]);
  out.retry_after = std::string(res[http::field::retry_after]);
  beast::error_code ignored;
  beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
  co_return out;
}

}  // namespace

Result<HttpsResponse> https_request(const HttpsOptions& options, std::string_view method,
                                    std::string_view url, std::string_view body,
                                    std::string_view content_type) {
  auto target = parse(url);
  if (!target) return Error{target.error()};
  const http::verb verb = http::string_to_verb(method);
  ssl::context ctx(ssl::context::tls_client);
  ctx.set_options(ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  ctx.set_default_verify_paths();
  ctx.set_verify_mode(ssl::verify_peer);
  if (!options.ca_file.empty()) {
    boost::system::error_code ec;
    ctx.load_verify_file(options.ca_file, ec);
    if (ec) return Error{"acme.ca_file " + options.ca_file + ": " + ec.message()};
  }
  asio::io_context ioc;
  std::optional<Result<HttpsResponse>> result;
  asio::co_spawn(
      ioc,
      exchange(ctx, std::move(target).value(), verb, std::string(body), std::string(content_type)),
      [&](std::exception_ptr e, HttpsResponse r) {
        if (!e) {
          result.emplace(std::move(r));
          return;
        }
        try {
          std::rethrow_exception(e);
        } catch (const boost::system::system_error& ex) {
          result.emplace(
              Error{std::string(method) + " " + std::string(url) + ": " + ex.code().message()});
        } catch (const std::exception& ex) {
          result.emplace(Error{std::string(method) + " " + std::string(url) + ": " + ex.what()});
        }
      });
  ioc.run_for(options.timeout);
  if (!result) {
    return Error{std::string(method) + " " + std::string(url) + ": no answer within " +
                 std::to_string(options.timeout.count()) + " s"};
  }
  return std::move(*result);
}

}  // namespace trackrelay::acme
