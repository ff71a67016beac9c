// track/net.h — addresses for the tracking endpoint: listen addresses,
// trusted-proxy CIDRs, and which address a request comes from.
// May call: base/, Boost.Asio (ip addresses only).
#pragma once

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace trackrelay::track {

using boost::asio::ip::address;

// An IPv4-mapped IPv6 address (::ffff:1.2.3.4) as the IPv4 address it is.
address normalize(const address& a);

struct Cidr {
  address network;  // masked
  unsigned prefix = 0;
  bool contains(const address& a) const;  // `a` is normalized first
};

// "10.0.0.0/8", "::1/128", "127.0.0.1" (a single host). The error says why.
Result<Cidr> parse_cidr(std::string_view text);
// Every entry of track.trusted_proxies; the error names the bad one.
Result<std::vector<Cidr>> parse_cidrs(const std::vector<std::string>& texts);
bool is_trusted(const address& peer, const std::vector<Cidr>& trusted);

// The client a request is from: the peer, unless the peer is a trusted proxy
// and sent X-Forwarded-For; then the right-most address of that list that is
// not itself a trusted proxy (each proxy appends the address it saw, so
// addresses left of the first untrusted one may be forged). An unparsable
// entry ends the walk at the last address that was parsed.
std::string client_address(const address& peer, std::string_view forwarded_for,
                           const std::vector<Cidr>& trusted);

// "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:80", "localhost:8080"; port 0
// lets the system choose (the bound address is logged).
Result<boost::asio::ip::tcp::endpoint> parse_listen(std::string_view text);

}  // namespace trackrelay::track
