// track/client_address.cc — the client address behind trusted proxies (see client_address.h).
#include "track/client_address.h"

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
  return net::normalize(a);
}

}  // namespace

bool is_trusted(const address& peer, const std::vector<Cidr>& trusted) {
  for (const Cidr& c : trusted) {
    if (c.contains(peer)) return true;
  }
  return false;
}

std::string client_address(const address& peer, std::string_view xff,
                           const std::vector<Cidr>& trusted) {
  const address p = net::normalize(peer);
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

}  // namespace trackrelay::track
