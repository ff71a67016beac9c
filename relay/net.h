// relay/net.h — addresses in the relay's configuration: "host:port" listen
// and upstream endpoints, "maildir:PATH" upstreams, and the CIDR networks of
// relay.clients.
//
// May call: base/, Boost.Asio (address types only).
#pragma once

#include <array>
#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace trackrelay::relay {

struct HostPort {
  std::string host;  // "127.0.0.1", "::1" (without brackets), "mx.example.net"
  uint16_t port = 0;
  std::string str() const;  // "[::1]:25" / "127.0.0.1:25"
};

// "host:port" or "[v6]:port"; port 0 is allowed only when `allow_zero`
// (listen on a port the kernel picks; tests use it).
Result<HostPort> parse_host_port(std::string_view text, bool allow_zero);

struct UpstreamTarget {
  enum class Kind { kSmtp, kMaildir } kind = Kind::kSmtp;
  HostPort smtp;
  std::string maildir;  // the directory (relative: to the working directory)
};
Result<UpstreamTarget> parse_upstream(std::string_view text);

class Network {
 public:
  // "127.0.0.0/8", "::1/128", or a bare address (a /32 or /128).
  static Result<Network> parse(std::string_view cidr);
  bool contains(const boost::asio::ip::address& a) const;

 private:
  bool v6_ = false;
  std::array<unsigned char, 16> bytes_{};
  int prefix_ = 0;
};

Result<std::vector<Network>> parse_networks(const std::vector<std::string>& cidrs);
bool in_any(const std::vector<Network>& nets, const boost::asio::ip::address& a);

}  // namespace trackrelay::relay
