// net/address.h — the addresses a configuration names, parsed once for every
// listener: "host:port" endpoints (relay.upstream, relay.listen, api.listen,
// track.listen), and CIDR networks (relay.clients, track.trusted_proxies).
// IPv4-mapped IPv6 peers (::ffff:1.2.3.4) match IPv4 networks.
// Also: which addresses outbound connections to tenant-supplied names may
// reach (global unicast only; see non_global_reason).
//
// May call: base/, Boost.Asio (address types only).
#pragma once

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace trackrelay::net {

using boost::asio::ip::address;

// An IPv4-mapped IPv6 address as the IPv4 address it is; others unchanged.
address normalize(const address& a);

struct Cidr {
  address network;  // masked
  unsigned prefix = 0;
  bool contains(const address& a) const;  // `a` is normalized first
};

// "10.0.0.0/8", "::1/128", or a bare address (a single host). The error says why.
Result<Cidr> parse_cidr(std::string_view text);
// Every entry; the error names `what` (the config key) and the bad entry.
Result<std::vector<Cidr>> parse_cidrs(const std::vector<std::string>& texts, std::string_view what);
bool in_any(const std::vector<Cidr>& nets, const address& a);

// Why `a` is not a global unicast address, for outbound connections to a
// name a tenant controls (the HTTP challenge): "loopback", "RFC 1918
// private", "link-local", "CGNAT (100.64.0.0/10)", "unique local (fc00::/7)",
// "multicast", "unspecified", "broadcast", "documentation", ... — or "" when
// it is global. IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d),
// NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses are judged by the
// IPv4 address they embed; IPv6 outside 2000::/3 is never global.
std::string_view non_global_reason(const address& a);
inline bool is_global_unicast(const address& a) {
  return non_global_reason(a).empty();
}

struct HostPort {
  std::string host;  // "127.0.0.1", "::1" (without brackets), "mx.example.net"
  uint16_t port = 0;
  std::string str() const;  // "[::1]:25" / "127.0.0.1:25"
};

// "host:port" or "[v6]:port"; port 0 only when `allow_zero` (the kernel picks
// one; tests use it).
Result<HostPort> parse_host_port(std::string_view text, bool allow_zero);

// A listen address: an IP literal, "localhost" (127.0.0.1) or "*"/"" (0.0.0.0)
// with a port; port 0 lets the system choose.
Result<boost::asio::ip::tcp::endpoint> parse_listen(std::string_view text);

}  // namespace trackrelay::net
