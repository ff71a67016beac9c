// fuzz/fuzz_http.h — fuzz target body for the tracking endpoint's request
// decisions (track/handler.h handle()): what a request from the internet can
// make the tracker answer.
//
// Input: lines. Line 0: control bytes (bit 0 of byte 0: mint a valid click
// token for line 5's target; bit 1: mint an open token; byte 1 picks the
// peer). Lines 1-4: method, request target, Host, X-Forwarded-For. Line 5: a
// redirect target, any bytes.
//
// Invariants:
//  * a 302 only ever carries a Location that is_redirectable() (http(s), no
//    control characters, spaces or DEL) and is exactly the signed target of
//    a token that verifies for the request's host — so a request whose path
//    the fuzzer wrote itself (no minted token) never redirects;
//  * every 302 and every pixel 200 has an event; 404s have none;
//  * the pixel is the 43-byte GIF.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"
#include "fuzz/fuzz_common.h"
#include "token/token.h"
#include "track/handler.h"

namespace trackrelay::fuzz {
namespace http_detail {

inline const track::Prepared& prepared() {
  // Built once and never changed (a function-local constant).
  static const std::shared_ptr<const track::Prepared> kPrepared = [] {
    auto loaded = conf::load_string(R"(
tracking:
  system_domain: track.example.net
  keys: [{id: k1, secret: "fuzz-secret-0123456789abcdef0123456789abcdef"}]
  tracking_domains:
    - {domain: click.example.com, secure: true, default: true}
    - {domain: links.example.org}
track:
  trusted_proxies: [127.0.0.2/32]
)",
                                    "<fuzz>");
    FUZZ_CHECK(loaded.ok(), "fuzz configuration does not load");
    auto p = track::prepare(loaded.config);
    FUZZ_CHECK(p.ok(), "fuzz configuration does not prepare");
    return *p;
  }();
  return *kPrepared;
}

inline std::vector<std::string_view> lines(std::string_view s, std::size_t n) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < n) {
    auto nl = s.find('\n');
    if (nl == std::string_view::npos) break;
    out.push_back(s.substr(0, nl));
    s.remove_prefix(nl + 1);
  }
  out.push_back(s);
  out.resize(n);
  return out;
}

}  // namespace http_detail

inline int check_http(const std::uint8_t* data, std::size_t size) {
  using namespace http_detail;
  const std::vector<std::string_view> f = lines(as_view(data, size), 6);
  const unsigned char control = f[0].empty() ? 0 : static_cast<unsigned char>(f[0][0]);
  const unsigned char peer_byte = f[0].size() > 1 ? static_cast<unsigned char>(f[0][1]) : 0;
  const track::Prepared& p = prepared();

  std::string target(f[2]);
  const bool minted = (control & 3) != 0;
  if (minted) {
    token::Claims c;
    c.kind = (control & 1) ? token::Kind::kClick : token::Kind::kOpen;
    c.target = std::string(f[5]);
    c.tracking_domain = "click.example.com";
    c.issued_at = 1795000000;
    target = ((control & 1) ? "/f/" : "/q/") + token::encode(c, p.keys.front()) + target;
  }
  track::Request r;
  r.method = f[1];
  r.target = target;
  r.host = f[3];
  r.user_agent = "fuzz";
  r.forwarded_for = f[4];
  r.peer = boost::asio::ip::make_address((peer_byte & 1) ? "127.0.0.2" : "192.0.2.1");
  const track::Reply reply =
      track::handle(p, r, std::chrono::system_clock::from_time_t(1795000100), store::Health{});

  if (reply.status == 302) {
    FUZZ_CHECK(minted && (control & 1), "a redirect without a minted click token: " +
                                            escaped(target) + " -> " + escaped(reply.location));
    FUZZ_CHECK(track::is_redirectable(reply.location),
               "redirect to a forbidden Location: " + escaped(reply.location));
    FUZZ_CHECK(reply.location == f[5],
               "Location differs from the signed target: " + escaped(reply.location));
    for (const char ch : reply.location) {
      const auto u = static_cast<unsigned char>(ch);
      FUZZ_CHECK(u > 0x20 && u != 0x7f, "control character in Location");
    }
    FUZZ_CHECK(reply.event.has_value(), "a redirect without an event");
  } else if (reply.status == 200 && reply.body == track::pixel_gif()) {
    FUZZ_CHECK(reply.body.size() == 43, "the pixel is not 43 bytes");
    FUZZ_CHECK(reply.event.has_value(), "a pixel without an event");
  } else if (reply.status == 404) {
    FUZZ_CHECK(!reply.event.has_value(), "a 404 with an event");
    FUZZ_CHECK(reply.location.empty(), "a 404 with a Location");
  }
  return 0;
}

}  // namespace trackrelay::fuzz
