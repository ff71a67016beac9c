// rewrite/text_scanner.cc — finds http(s) URLs in plain-text part bodies
// (rules in text_scanner.h). Works on bytes: any ASCII-compatible charset,
// bytes >= 0x80 (UTF-8 IRIs) may be part of a URL.
#include "rewrite/text_scanner.h"

#include <algorithm>

#include "base/strings.h"

namespace trackrelay::rewrite {
namespace {

constexpr std::string_view kSuffix = "[[data-msys-clicktrack=\"0\"]]";

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Whitespace, controls (including DEL), `<>"` and the backquote end a URL.
bool ends_url(char ch) {
  auto c = static_cast<unsigned char>(ch);
  return c <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == '"' || c == '`';
}

// Length of "http://" or "https://" at the start of `s`, else 0.
std::size_t scheme_length(std::string_view s) {
  if (istarts_with(s, "http://")) return 7;
  if (istarts_with(s, "https://")) return 8;
  return 0;
}

// True when the authority after "scheme://" names a host.
bool has_host(std::string_view rest) {
  std::size_t end = rest.find_first_of("/?#\\");
  std::string_view authority = rest.substr(0, end);
  std::size_t at = authority.rfind('@');
  std::string_view host = at == std::string_view::npos ? authority : authority.substr(at + 1);
  if (!host.empty() && host.front() == '[') return host.size() > 2;  // [IPv6]
  host = host.substr(0, host.find(':'));
  return !host.empty();
}

// Drops trailing punctuation and unbalanced closing brackets.
std::size_t trim_end(std::string_view url) {
  // Opener/closer counts of the kept part, updated as bytes are dropped.
  constexpr std::string_view kOpen = "([{", kClose = ")]}";
  std::size_t opens[3] = {0, 0, 0}, closes[3] = {0, 0, 0};
  for (char c : url) {
    if (std::size_t k = kOpen.find(c); k != std::string_view::npos) ++opens[k];
    if (std::size_t k = kClose.find(c); k != std::string_view::npos) ++closes[k];
  }
  std::size_t len = url.size();
  while (len > 0) {
    char c = url[len - 1];
    if (c == '.' || c == ',' || c == ';' || c == ':' || c == '!' || c == '?' || c == '\'') {
      --len;
      continue;
    }
    std::size_t k = kClose.find(c);
    if (k != std::string_view::npos && closes[k] > opens[k]) {
      --closes[k];
      --len;
      continue;
    }
    break;
  }
  return len;
}

}  // namespace

std::vector<TextLink> scan_text(std::string_view text) {
  std::vector<TextLink> links;
  std::size_t i = 0;
  while (i < text.size()) {
    // The next 'h' or 'H' ('H' | 0x20 == 'h', and no other byte maps to it);
    // not find_first_of("hH"), which calls memchr on the set for every byte.
    std::size_t h = i;
    while (h < text.size() && (text[h] | 0x20) != 'h') ++h;
    if (h == text.size()) break;
    std::size_t scheme = scheme_length(text.substr(h));
    if (scheme == 0 || (h > 0 && is_alnum(text[h - 1]))) {
      i = h + 1;
      continue;
    }
    std::size_t end = h + scheme;
    bool suffix = false;
    while (end < text.size() && !ends_url(text[end])) {
      if (text[end] == '[' && text.substr(end).starts_with(kSuffix)) {
        suffix = true;
        break;
      }
      // Markdown "[https://a](https://b)": the first URL ends at "](".
      if (text[end] == ']' && end + 1 < text.size() && text[end + 1] == '(') break;
      ++end;
    }
    std::string_view url = text.substr(h, end - h);
    // <URL> and "URL" end at the wrapper, punctuation included.
    char before = h > 0 ? text[h - 1] : 0;
    bool wrapped = end < text.size() &&
                   ((before == '<' && text[end] == '>') || (before == '"' && text[end] == '"'));
    if (!suffix && !wrapped) url = url.substr(0, trim_end(url));
    if (url.size() <= scheme || !has_host(url.substr(scheme))) {
      // Skip the whole run: restarting inside it would rescan it for every
      // "http://" it contains (quadratic on "http:///http:///...").
      i = std::max(end, h + scheme);
      continue;
    }
    TextLink link;
    link.offset = h;
    link.length = url.size();
    if (suffix) {
      link.clicktrack_off = true;
      link.suffix_length = kSuffix.size();
    }
    links.push_back(link);
    i = h + link.length + link.suffix_length;
  }
  return links;
}

}  // namespace trackrelay::rewrite
