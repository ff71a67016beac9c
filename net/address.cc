// net/address.cc — see address.h.
#include "net/address.h"

#include <charconv>

#include "base/strings.h"

namespace trackrelay::net {

namespace ip = boost::asio::ip;

address normalize(const address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, a.to_v6());
  return a;
}

bool Cidr::contains(const address& raw) const {
  const address a = normalize(raw);
  if (a.is_v4() != network.is_v4()) return false;
  if (a.is_v4()) {
    const std::uint32_t mask = prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
    return (a.to_v4().to_uint() & mask) == network.to_v4().to_uint();
  }
  const auto x = a.to_v6().to_bytes();
  const auto n = network.to_v6().to_bytes();
  unsigned bits = prefix;
  for (std::size_t i = 0; i < x.size() && bits > 0; ++i) {
    const unsigned take = bits >= 8 ? 8 : bits;
    const auto mask = static_cast<unsigned char>(0xFF << (8 - take));
    if ((x[i] & mask) != (n[i] & mask)) return false;
    bits -= take;
  }
  return true;
}

Result<Cidr> parse_cidr(std::string_view text) {
  const std::string_view t = trim(text);
  const auto slash = t.find('/');
  boost::system::error_code ec;
  address a = ip::make_address(std::string(t.substr(0, slash)), ec);
  if (ec) {
    return Error{"'" + std::string(text) + "' is not an address or CIDR (10.0.0.0/8, ::1/128)"};
  }
  a = normalize(a);
  const unsigned max = a.is_v4() ? 32 : 128;
  unsigned prefix = max;
  if (slash != std::string_view::npos) {
    const std::string_view p = t.substr(slash + 1);
    auto [end, err] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (err != std::errc() || end != p.data() + p.size() || p.empty() || prefix > max) {
      return Error{"'" + std::string(text) + "': the prefix length must be 0-" +
                   std::to_string(max)};
    }
  }
  Cidr c{a, prefix};
  if (a.is_v4()) {
    const std::uint32_t mask = prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
    c.network = ip::address_v4(a.to_v4().to_uint() & mask);
  } else {
    auto bytes = a.to_v6().to_bytes();
    unsigned bits = prefix;
    for (auto& b : bytes) {
      const unsigned keep = bits >= 8 ? 8 : bits;
      b = static_cast<unsigned char>(b & (keep == 0 ? 0 : 0xFF << (8 - keep)));
      bits -= keep;
    }
    c.network = ip::address_v6(bytes);
  }
  return c;
}

Result<std::vector<Cidr>> parse_cidrs(const std::vector<std::string>& texts,
                                      std::string_view what) {
  std::vector<Cidr> out;
  for (const std::string& t : texts) {
    auto c = parse_cidr(t);
    if (!c) return Error{std::string(what) + ": " + c.error()};
    out.push_back(*c);
  }
  return out;
}

bool in_any(const std::vector<Cidr>& nets, const address& a) {
  for (const Cidr& c : nets) {
    if (c.contains(a)) return true;
  }
  return false;
}

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
    if (colon == std::string_view::npos) {
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
  return out;
}

Result<boost::asio::ip::tcp::endpoint> parse_listen(std::string_view text) {
  auto hp = parse_host_port(text, true);
  if (!hp) return Error{hp.error()};
  boost::system::error_code ec;
  const address a = hp->host == "localhost"               ? ip::make_address("127.0.0.1")
                    : hp->host.empty() || hp->host == "*" ? ip::make_address("0.0.0.0")
                                                          : ip::make_address(hp->host, ec);
  if (ec) {
    return Error{"'" + std::string(text) + "': '" + hp->host + "' is not an IP address"};
  }
  return boost::asio::ip::tcp::endpoint(a, hp->port);
}

}  // namespace trackrelay::net
