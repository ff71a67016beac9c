// net/address.cc — see address.h.
#include "net/address.h"

#include <algorithm>
#include <charconv>
#include <span>

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

namespace {

struct Special {
  std::string_view cidr;
  std::string_view reason;
};

// IANA special-purpose registries (RFC 6890 and successors): every block
// that is not globally reachable unicast.
constexpr Special kV4[] = {
    {"0.0.0.0/8", "unspecified (\"this network\")"},
    {"10.0.0.0/8", "RFC 1918 private"},
    {"100.64.0.0/10", "CGNAT (100.64.0.0/10)"},
    {"127.0.0.0/8", "loopback"},
    {"169.254.0.0/16", "link-local"},
    {"172.16.0.0/12", "RFC 1918 private"},
    {"192.0.0.0/24", "IETF protocol assignments"},
    {"192.0.2.0/24", "documentation"},
    {"192.88.99.0/24", "6to4 relay anycast"},
    {"192.168.0.0/16", "RFC 1918 private"},
    {"198.18.0.0/15", "benchmarking"},
    {"198.51.100.0/24", "documentation"},
    {"203.0.113.0/24", "documentation"},
    {"224.0.0.0/4", "multicast"},
    {"255.255.255.255/32", "broadcast"},
    {"240.0.0.0/4", "reserved"},
};
constexpr Special kV6[] = {
    {"::/128", "unspecified"},
    {"::1/128", "loopback"},
    {"64:ff9b:1::/48", "local-use NAT64"},
    {"100::/64", "discard-only"},
    {"2001::/32", "Teredo"},
    {"2001:2::/48", "benchmarking"},
    {"2001:10::/28", "ORCHID"},
    {"2001:20::/28", "ORCHIDv2"},
    {"2001:db8::/32", "documentation"},
    {"3fff::/20", "documentation"},
    {"fc00::/7", "unique local (fc00::/7)"},
    {"fe80::/10", "link-local"},
    {"fec0::/10", "site-local"},
    {"ff00::/8", "multicast"},
    {"2000::/3", ""},  // global unicast: the rest of it
};

std::string_view reason_in(std::span<const Special> table, const address& a,
                           std::string_view otherwise) {
  for (const Special& s : table) {
    if (parse_cidr(s.cidr)->contains(a)) return s.reason;
  }
  return otherwise;
}

// The IPv4 address an IPv6 address embeds in the bytes [at, at + 4).
address v4_at(const ip::address_v6::bytes_type& b, std::size_t at) {
  return ip::address_v4(ip::address_v4::bytes_type{b[at], b[at + 1], b[at + 2], b[at + 3]});
}

}  // namespace

std::string_view non_global_reason(const address& raw) {
  const address a = normalize(raw);  // ::ffff:a.b.c.d is a.b.c.d
  if (a.is_v4()) return reason_in(kV4, a, "");
  const ip::address_v6 v6 = a.to_v6();
  const auto b = v6.to_bytes();
  const bool zero96 =
      std::all_of(b.begin(), b.begin() + 12, [](unsigned char c) { return c == 0; });
  if (zero96 && !v6.is_unspecified() && !v6.is_loopback()) {
    return reason_in(kV4, v4_at(b, 12), "");  // IPv4-compatible ::a.b.c.d (deprecated)
  }
  if (parse_cidr("64:ff9b::/96")->contains(a)) return reason_in(kV4, v4_at(b, 12), "");
  if (parse_cidr("2002::/16")->contains(a)) return reason_in(kV4, v4_at(b, 2), "");
  return reason_in(kV6, a, "not in global unicast space (2000::/3)");
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
