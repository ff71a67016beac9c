// rewrite/target.cc — see target.h.
#include "rewrite/target.h"

#include "base/strings.h"

namespace trackrelay::rewrite {
namespace {

struct Parts {
  std::string_view scheme_and_slashes;  // "https://"
  std::string_view userinfo;            // with its '@', may be empty
  std::string_view host;
  std::string_view port;  // with its ':', may be empty
  std::string_view rest;  // path, query, fragment
};

// Splits an http(s) URL; false when it is not one.
bool split(std::string_view url, Parts& p) {
  std::size_t scheme_len = 0;
  if (istarts_with(url, "http://")) {
    scheme_len = 7;
  } else if (istarts_with(url, "https://")) {
    scheme_len = 8;
  } else {
    return false;
  }
  p.scheme_and_slashes = url.substr(0, scheme_len);
  std::string_view after = url.substr(scheme_len);
  std::size_t auth_end = after.find_first_of("/?#\\");
  if (auth_end == std::string_view::npos) auth_end = after.size();
  std::string_view authority = after.substr(0, auth_end);
  p.rest = after.substr(auth_end);
  auto at = authority.rfind('@');
  if (at != std::string_view::npos) {
    p.userinfo = authority.substr(0, at + 1);
    authority.remove_prefix(at + 1);
  }
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return false;
    p.host = authority.substr(0, close + 1);
    p.port = authority.substr(close + 1);
  } else {
    auto colon = authority.rfind(':');
    p.host = authority.substr(0, colon);
    p.port = colon == std::string_view::npos ? std::string_view{} : authority.substr(colon);
  }
  return true;
}

bool valid_port(std::string_view port) {
  if (port.empty()) return true;
  if (port.front() != ':') return false;
  for (char c : port.substr(1)) {
    if (c < '0' || c > '9') return false;
  }
  return port.size() <= 6;
}

// Host characters a real host can contain; anything else (braces, '%', '*',
// '|', '$', '<') is a template placeholder or garbage.
bool plausible_host(std::string_view host) {
  if (host.empty()) return false;
  if (host.front() == '[') {
    for (char c : host.substr(1, host.size() - 2)) {
      if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) return false;
    }
    return host.size() > 2;
  }
  for (unsigned char c : host) {
    if (!(std::isalnum(c) || c == '-' || c == '.' || c == '_' || c >= 0x80)) return false;
  }
  return true;
}

bool has_non_ascii(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return true;
  }
  return false;
}

std::string percent_encode_unsafe(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (c >= 0x80 || c <= 0x20 || c == 0x7f || c == '"' || c == '<' || c == '>' || c == '`') {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

}  // namespace

bool is_tracked_url(std::string_view url, const conf::Config& config) {
  Parts p;
  if (!split(url, p)) return false;
  if (!(p.rest.starts_with("/f/") || p.rest.starts_with("/q/"))) return false;
  return config.is_tracking_host(p.host);
}

Result<std::string> browser_target(std::string_view href, bool utf8, const conf::Config& config) {
  // WHATWG URL parsing: strip leading/trailing C0 control or space, then
  // remove all ASCII tab or newline.
  while (!href.empty() && static_cast<unsigned char>(href.front()) <= 0x20) href.remove_prefix(1);
  while (!href.empty() && static_cast<unsigned char>(href.back()) <= 0x20) href.remove_suffix(1);
  std::string url;
  url.reserve(href.size());
  for (char c : href) {
    if (c != '\t' && c != '\n' && c != '\r') url.push_back(c);
  }
  if (url.empty()) return Error{"empty link"};
  // A placeholder anywhere ({{url}}, https://x/?u={{id}}, *|EMAIL|*, <%= x %>)
  // means a template was not merged yet: a signed target would freeze it.
  for (std::string_view mark : {"{{", "}}", "*|", "|*", "<%", "%>"}) {
    if (url.find(mark) != std::string::npos) return Error{"template placeholder"};
  }
  Parts p;
  if (!split(url, p)) {
    if (url.front() == '#') return Error{"anchor"};
    return Error{"not an http(s) URL"};
  }
  if (!plausible_host(p.host) || !valid_port(p.port)) {
    return Error{"template placeholder or invalid host in URL"};
  }
  if (is_tracked_url(url, config)) return Error{"already tracked"};
  if (has_non_ascii(url)) {
    if (!utf8) return Error{"non-ASCII URL in a part that is not UTF-8"};
    if (!valid_utf8(url)) return Error{"URL is not valid UTF-8"};
  }
  std::string host(p.host);
  if (has_non_ascii(host)) {
    auto alabel = conf::to_alabel(host);
    if (!alabel) return Error{"invalid internationalised host: " + alabel.error()};
    host = *alabel;
  }
  std::string out(p.scheme_and_slashes);
  out += percent_encode_unsafe(p.userinfo);
  out += host;
  out += p.port;
  out += percent_encode_unsafe(p.rest);
  return out;
}

}  // namespace trackrelay::rewrite
