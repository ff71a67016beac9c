// dns/verify.cc — see verify.h. May call: dns/resolver.h, net/address.h, base/,
// Boost.Beast.
#include "dns/verify.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>

#include "base/strings.h"
#include "net/address.h"

namespace trackrelay::dns {
namespace {

std::string normal(std::string_view name) {
  std::string out = to_lower(name);
  while (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

std::string record_hint(std::string_view domain, std::string_view expected) {
  std::string out = "create the record: ";
  out.append(domain);
  out.append(". CNAME ");
  out.append(expected);
  out.append(".");
  return out;
}

}  // namespace

Check check_cname(Resolver& resolver, std::string_view domain, std::string_view expected) {
  const Answer a = resolver.cname(domain);
  Check c;
  const std::string d(domain);
  const std::string want = normal(expected);
  switch (a.kind) {
    case Answer::Kind::kFailed:
      c.cname_status = "pending";
      c.message = "could not look up the CNAME of " + d + ": " + a.detail +
                  "; verification will be retried (expected " + want + ")";
      return c;
    case Answer::Kind::kNone:
      c.cname_status = "invalid";
      c.message = d + " has no CNAME record (" + a.detail + "); expected " + want + "; " +
                  record_hint(d, want);
      return c;
    case Answer::Kind::kFound:
      break;
  }
  c.found = a.values.front();
  for (const std::string& v : a.values) {
    if (normal(v) == want) {
      c.cname_status = "valid";
      c.found = v;
      c.message = d + " has CNAME " + v + " as expected";
      return c;
    }
  }
  c.cname_status = "invalid";
  c.message = d + " has CNAME " + c.found + "; expected " + want + "; " + record_hint(d, want);
  return c;
}

std::string challenge_path(std::string_view token) {
  return std::string(kChallengePrefix) + std::string(token);
}

namespace {

// GET the challenge from the first of `endpoints` that connects; the
// response, or the error. One deadline for all of it.
boost::system::error_code fetch(
    const std::vector<boost::asio::ip::tcp::endpoint>& endpoints, const std::string& host,
    const std::string& target, int timeout_ms,
    boost::beast::http::response<boost::beast::http::string_body>& res) {
  namespace asio = boost::asio;
  namespace beast = boost::beast;
  namespace http = beast::http;
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(std::chrono::milliseconds(timeout_ms));
  boost::system::error_code ec;
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, host);
  req.set(http::field::user_agent, "trackrelay-verify");
  req.set(http::field::connection, "close");
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(4096);
  stream.async_connect(
      endpoints, [&](const boost::system::error_code& e, const asio::ip::tcp::endpoint&) {
        ec = e;
        if (e) return;
        http::async_write(stream, req, [&](const boost::system::error_code& we, std::size_t) {
          ec = we;
          if (we) return;
          http::async_read(stream, buffer, parser,
                           [&ec](const boost::system::error_code& re, std::size_t) { ec = re; });
        });
      });
  ioc.run();
  if (!ec) res = parser.release();
  return ec;
}

}  // namespace

Method method_of(std::string_view found) {
  return found == kFoundHttpAnswered || found == kFoundHttpNotAnswered ? Method::kHttp
                                                                       : Method::kCname;
}

Check check_http(Resolver& resolver, std::string_view domain, std::uint16_t port,
                 std::string_view token, int timeout_ms, bool allow_private) {
  namespace asio = boost::asio;
  const std::string d(domain);
  const std::string url =
      "http://" + d + (port == 80 ? "" : ":" + std::to_string(port)) + challenge_path(token);
  const std::string cannot = "HTTP challenge: could not fetch the challenge at " + url;
  Check c;
  c.method = Method::kHttp;
  const Answer a = resolver.addresses(domain);
  if (a.kind != Answer::Kind::kFound) {
    c.cname_status = a.kind == Answer::Kind::kFailed ? "pending" : "invalid";
    c.message = "HTTP challenge: cannot resolve " + d + ": " + a.detail;
    return c;
  }
  std::vector<asio::ip::tcp::endpoint> endpoints;
  for (const std::string& ip : a.values) {
    boost::system::error_code ec;
    const auto addr = asio::ip::make_address(ip, ec);
    if (ec) continue;
    const std::string_view why = net::non_global_reason(addr);
    if (!why.empty() && !allow_private) {
      c.detail += (c.detail.empty() ? "" : "; ") + ip + " refused: " + std::string(why);
      continue;
    }
    endpoints.emplace_back(addr, port);
  }
  if (endpoints.empty()) {
    c.cname_status = "invalid";
    c.message = cannot;
    c.detail = d + ": no global address to connect to (" + c.detail +
               "; dns.allow_private_addresses is false)";
    return c;
  }
  boost::beast::http::response<boost::beast::http::string_body> res;
  const std::string host = port == 80 ? d : d + ":" + std::to_string(port);
  if (const auto ec = fetch(endpoints, host, challenge_path(token), timeout_ms, res); ec) {
    c.cname_status = "pending";
    c.message = cannot;
    c.detail = url + ": " + ec.message();
    return c;
  }
  if (res.result_int() == 200 && trim(res.body()) == token) {
    c.cname_status = "valid";
    c.found = kFoundHttpAnswered;
    c.message = d + " answered the HTTP challenge at " + url;
    return c;
  }
  c.cname_status = "invalid";
  c.found = kFoundHttpNotAnswered;
  c.message = cannot + "; " + d + " does not reach this tracker";
  c.detail = url + " answered " + std::to_string(res.result_int()) + " without the token";
  return c;
}

State after_manual(const State& before, const Check& check) {
  State s = before;
  if (check.cname_status == "valid") {
    s = State{true, "valid", 0};
  } else if (check.cname_status == "invalid") {
    s = State{false, "invalid", 0};
  } else if (!before.verified) {
    s.cname_status = "pending";
  }
  return s;
}

State after_periodic(const State& before, const Check& check, int threshold) {
  State s = before;
  if (check.cname_status == "valid") return State{true, "valid", 0};
  if (check.cname_status != "invalid") {
    if (!before.verified && before.cname_status == "unverified") s.cname_status = "pending";
    return s;
  }
  if (!before.verified) {
    s.cname_status = "invalid";
    return s;
  }
  s.failures = before.failures + 1;
  if (s.failures >= threshold) s = State{false, "invalid", s.failures};
  return s;
}

}  // namespace trackrelay::dns
