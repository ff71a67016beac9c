// track/net.cc — listen addresses, CIDRs, the client address behind trusted
// proxies. May call: base/, Boost.Asio.
#include "track/net.h"

#include <charconv>
#include <optional>

namespace trackrelay::track {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// One X-Forwarded-For entry: "1.2.3.4", "1.2.3.4:5678", "2001:db8::1", "[2001:db8::1]:80".
std::optional<address> parse_forwarded(std::string_view s) {
  s = trim(s);
  boost::system::error_code ec;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    s = s.substr(1, close - 1);
  } else if (s.find(':') != std::string_view::npos && s.find(':') == s.rfind(':')) {
    s = s.substr(0, s.find(':'));  // IPv4 with a port
  }
  address a = boost::asio::ip::make_address(std::string(s), ec);
  if (ec) return std::nullopt;
  return normalize(a);
}

}  // namespace

address normalize(const address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
  }
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
  address a = boost::asio::ip::make_address(std::string(t.substr(0, slash)), ec);
  if (ec)
    return Error{"'" + std::string(text) + "' is not an address or CIDR (10.0.0.0/8, ::1/128)"};
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
    c.network = boost::asio::ip::address_v4(a.to_v4().to_uint() & mask);
  } else {
    auto bytes = a.to_v6().to_bytes();
    unsigned bits = prefix;
    for (auto& b : bytes) {
      const unsigned keep = bits >= 8 ? 8 : bits;
      b = static_cast<unsigned char>(b & (keep == 0 ? 0 : 0xFF << (8 - keep)));
      bits -= keep;
    }
    c.network = boost::asio::ip::address_v6(bytes);
  }
  return c;
}

Result<std::vector<Cidr>> parse_cidrs(const std::vector<std::string>& texts) {
  std::vector<Cidr> out;
  for (const std::string& t : texts) {
    auto c = parse_cidr(t);
    if (!c) return Error{"track.trusted_proxies: " + c.error()};
    out.push_back(*c);
  }
  return out;
}

bool is_trusted(const address& peer, const std::vector<Cidr>& trusted) {
  for (const Cidr& c : trusted) {
    if (c.contains(peer)) return true;
  }
  return false;
}

std::string client_address(const address& peer, std::string_view xff,
                           const std::vector<Cidr>& trusted) {
  const address p = normalize(peer);
  if (xff.empty() || !is_trusted(p, trusted)) return p.to_string();
  address client = p;
  while (!xff.empty()) {
    const auto comma = xff.rfind(',');
    const std::string_view entry = comma == std::string_view::npos ? xff : xff.substr(comma + 1);
    xff = comma == std::string_view::npos ? std::string_view() : xff.substr(0, comma);
    auto a = parse_forwarded(entry);
    if (!a) break;
    client = *a;
    if (!is_trusted(client, trusted)) break;
  }
  return client.to_string();
}

Result<boost::asio::ip::tcp::endpoint> parse_listen(std::string_view text) {
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find("]:");
    if (close == std::string_view::npos)
      return Error{"'" + std::string(text) + "': expected [v6]:port"};
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) {
      return Error{"'" + std::string(text) + "': expected host:port or [v6]:port"};
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned p = 0;
  auto [end, err] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (err != std::errc() || end != port.data() + port.size() || port.empty() || p > 65535) {
    return Error{"'" + std::string(text) + "': invalid port"};
  }
  boost::system::error_code ec;
  address a = host == "localhost"           ? boost::asio::ip::make_address("127.0.0.1")
              : host.empty() || host == "*" ? boost::asio::ip::make_address("0.0.0.0")
                                            : boost::asio::ip::make_address(std::string(host), ec);
  if (ec)
    return Error{"'" + std::string(text) + "': '" + std::string(host) + "' is not an IP address"};
  return boost::asio::ip::tcp::endpoint(a, static_cast<unsigned short>(p));
}

}  // namespace trackrelay::track
