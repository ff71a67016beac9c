// relay/net.cc — endpoint and CIDR parsing (see net.h).
// May call: base/, Boost.Asio address types.
#include "relay/net.h"

#include <charconv>

namespace trackrelay::relay {

namespace ip = boost::asio::ip;

std::string HostPort::str() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<HostPort> parse_host_port(std::string_view text, bool allow_zero) {
  HostPort out;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Error{"'" + std::string(text) + "': expected [v6-address]:port"};
    }
    out.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
      return Error{"'" + std::string(text) + "': expected host:port"};
    }
    out.host = std::string(text.substr(0, colon));
    if (out.host.find(':') != std::string::npos) {
      return Error{"'" + std::string(text) + "': write IPv6 addresses as [address]:port"};
    }
    port_text = text.substr(colon + 1);
  }
  unsigned value = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || value > 65535 ||
      (value == 0 && !allow_zero) || port_text.empty()) {
    return Error{"'" + std::string(text) + "': bad port '" + std::string(port_text) + "'"};
  }
  out.port = static_cast<uint16_t>(value);
  if (out.host.empty()) return Error{"'" + std::string(text) + "': empty host"};
  return out;
}

Result<UpstreamTarget> parse_upstream(std::string_view text) {
  UpstreamTarget out;
  constexpr std::string_view kMaildir = "maildir:";
  if (text.starts_with(kMaildir)) {
    out.kind = UpstreamTarget::Kind::kMaildir;
    out.maildir = std::string(text.substr(kMaildir.size()));
    if (out.maildir.empty()) return Error{"relay.upstream: maildir: needs a directory"};
    return out;
  }
  auto hp = parse_host_port(text, false);
  if (!hp) return Error{"relay.upstream: " + hp.error()};
  out.smtp = std::move(*hp);
  return out;
}

Result<Network> Network::parse(std::string_view cidr) {
  Network n;
  const std::size_t slash = cidr.find('/');
  const std::string addr_text(cidr.substr(0, slash));
  boost::system::error_code ec;
  const ip::address a = ip::make_address(addr_text, ec);
  if (ec) return Error{"'" + std::string(cidr) + "': not an IP address or network"};
  n.v6_ = a.is_v6();
  const int bits = n.v6_ ? 128 : 32;
  n.prefix_ = bits;
  if (slash != std::string_view::npos) {
    const std::string_view p = cidr.substr(slash + 1);
    int value = -1;
    const auto [end, perr] = std::from_chars(p.data(), p.data() + p.size(), value);
    if (perr != std::errc() || end != p.data() + p.size() || value < 0 || value > bits) {
      return Error{"'" + std::string(cidr) + "': bad prefix length"};
    }
    n.prefix_ = value;
  }
  if (n.v6_) {
    n.bytes_ = a.to_v6().to_bytes();
  } else {
    const auto b = a.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), n.bytes_.begin());
  }
  return n;
}

bool Network::contains(const ip::address& input) const {
  ip::address a = input;
  if (a.is_v6() && a.to_v6().is_v4_mapped() && !v6_) {
    a = ip::make_address_v4(ip::v4_mapped, a.to_v6());
  }
  if (a.is_v6() != v6_) return false;
  std::array<unsigned char, 16> b{};
  if (v6_) {
    b = a.to_v6().to_bytes();
  } else {
    const auto v4 = a.to_v4().to_bytes();
    std::copy(v4.begin(), v4.end(), b.begin());
  }
  int left = prefix_;
  for (std::size_t i = 0; left > 0; ++i, left -= 8) {
    const unsigned mask = left >= 8 ? 0xffu : (0xffu << (8 - left)) & 0xffu;
    if ((b[i] & mask) != (bytes_[i] & mask)) return false;
  }
  return true;
}

Result<std::vector<Network>> parse_networks(const std::vector<std::string>& cidrs) {
  std::vector<Network> out;
  for (const std::string& c : cidrs) {
    auto n = Network::parse(c);
    if (!n) return Error{"relay.clients: " + n.error()};
    out.push_back(*n);
  }
  return out;
}

bool in_any(const std::vector<Network>& nets, const ip::address& a) {
  for (const Network& n : nets) {
    if (n.contains(a)) return true;
  }
  return false;
}

}  // namespace trackrelay::relay
