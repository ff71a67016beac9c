// webhook/http_post.h — one HTTP(S) POST to a webhook's target, under the
// same egress rules as the HTTP challenge (dns/verify.h).
//
// Owns: parsing and checking a target URL (http or https, a host, no user
// info or fragment), resolving its host through dns::Resolver, refusing
// addresses that are not global unicast (net::non_global_reason) unless
// `allow_private` (dns.allow_private_addresses), connecting to the checked
// addresses themselves (no second resolution: DNS rebinding), TLS with SNI
// and certificate verification against the system's CA store (OpenSSL,
// host name checked), one deadline for connecting, sending and reading, and
// no redirects followed. May call: dns/resolver.h, net/address.h, base/,
// Boost.Beast/Asio/URL, OpenSSL.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "dns/resolver.h"

namespace trackrelay::webhook {

struct Target {
  bool https = false;
  std::string host;  // a name or an IP literal (without brackets)
  std::uint16_t port = 0;
  std::string path;  // origin-form: "/hooks?x=1"
};

// The target of a webhook, or why it cannot be one ("target must be an
// http:// or https:// URL", …).
Result<Target> parse_target(std::string_view url);

// The addresses `t.host` may be reached at: an IP literal itself, else what
// `resolver` answers; without `allow_private` only global unicast ones. The
// error says why there are none ("resolves only to non-global addresses
// (127.0.0.1: loopback); dns.allow_private_addresses is false").
Result<std::vector<std::string>> egress_addresses(const Target& t, dns::Resolver* resolver,
                                                  bool allow_private);

struct PostResult {
  bool answered = false;  // an HTTP response arrived (status is meaningful)
  int status = 0;
  std::string body;  // the first 64 KiB
  std::vector<std::pair<std::string, std::string>> headers;
  std::string error;  // why no answer: "timed out after 10000 ms", "refused: ..."
};

struct PostRequest {
  std::string url;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // besides Host, Content-Type, ...
  int timeout_ms = 10000;
  bool allow_private = false;
};

// Sends the POST; never throws. `resolver` may be null for IP-literal targets.
PostResult post(const PostRequest& req, dns::Resolver* resolver);

}  // namespace trackrelay::webhook
