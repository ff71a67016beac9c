// track/handler.h — what one tracking request gets, decided without I/O.
//
// Owns: the routes (GET|HEAD /f/<token> → 302, /q/<token> → the pixel,
// /healthz, GET /.well-known/trackrelay/<token> → the token on the one host
// it was issued for (HTTP challenge), everything else → 404), the host check, token verification
// and expiry, the "never redirect to a non-http(s) or control-character target" rule, and the event
// a served click or open produces. The server (server.cc) does the I/O and records the event before
// it sends the reply. May call: token/, conf/, store/event_store.h (the Event type),
// track/client_address.h.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"
#include "store/event_store.h"
#include "token/token.h"
#include "track/client_address.h"

namespace trackrelay::track {

// The 43-byte transparent 1x1 GIF served for /q/<token>.
std::string_view pixel_gif();

// A configuration snapshot prepared for serving: keys and proxy CIDRs parsed
// once per snapshot, not per request.
struct Prepared {
  std::shared_ptr<const conf::Config> config;
  std::vector<token::Key> keys;
  std::vector<Cidr> trusted_proxies;
};
// Fails when track.trusted_proxies has an entry that is not a CIDR.
Result<std::shared_ptr<const Prepared>> prepare(std::shared_ptr<const conf::Config> config);

// The parts of an HTTP request the handler looks at.
struct Request {
  std::string_view method;  // "GET", "HEAD", ...
  std::string_view target;  // the request-target: "/f/<token>?..."
  std::string_view host;    // the Host header ("click.example.com:8080")
  std::string_view user_agent;
  std::string_view forwarded_for;  // X-Forwarded-For (believed from trusted proxies only)
  boost::asio::ip::address peer;
};

struct Reply {
  int status = 404;      // 200, 302, 404, 503
  std::string location;  // 302 only
  std::string_view content_type = "text/plain; charset=utf-8";
  std::string_view body;              // static storage: the pixel or a short message
  bool no_store = false;              // Cache-Control: no-store, private
  bool redirect_headers = false;      // X-Robots-Tag: noindex, Referrer-Policy: no-referrer
  std::optional<store::Event> event;  // to record before the reply is sent
  std::string why;                    // for the debug log: why a 404 (never shown to the client)
};

// Decides the reply. `now` is the request time (events' timestamp, link
// expiry). `store_health` answers /healthz.
Reply handle(const Prepared& p, const Request& r, std::chrono::system_clock::time_point now,
             const store::Health& store_health);

// True when `url` may be sent as a Location: http:// or https:// (any case),
// a non-empty rest, and no control characters, spaces or DEL.
bool is_redirectable(std::string_view url);

// "click.example.com:8080" → "click.example.com"; "[::1]:80" → "::1".
std::string_view host_without_port(std::string_view host);

}  // namespace trackrelay::track
