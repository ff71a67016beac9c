// fuzz/fuzz_html.h — fuzz target body for HTML link scanning alone
// (rewrite/link_scanner.h: the gumbo scanner and the fast scanner, default limits).
//
// Input: the (decoded) body of an HTML part.
//
// Invariants, for a scan that succeeds (refusing a part is allowed):
//  * every link span is the raw attribute value: it lies within the input,
//    after an `href` name, `=` and the reported quote; a quoted value is
//    followed by its closing quote, an unquoted one by whitespace, '>' or the
//    end; a value without character references or special bytes is exactly
//    what the browser sees (HtmlLink::value);
//  * links are sorted and do not overlap (name through value);
//  * <body ...> ends with '>', </body> starts with "</body", in that order,
//    and neither pixel insertion point falls inside a link's attribute;
//  * the fast scanner gives the gumbo scanner's answer exactly: both refuse,
//    or the same links (every field) and <body>/</body> positions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/strings.h"
#include "conf/config.h"
#include "fuzz/fuzz_common.h"
#include "rewrite/link_scanner.h"

namespace trackrelay::fuzz {
namespace html_detail {

constexpr bool is_html_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

// True when `v` is decoded by no HTML rule: no character reference, no CR, NUL
// or other control, no byte >= 0x80.
inline bool plain_value(std::string_view v) {
  for (const char ch : v) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '&' || c < 0x20 || c >= 0x7f) return false;
  }
  return true;
}

// The invariants of one scanner's answer.
inline void check_scan(std::string_view html, const rewrite::HtmlScan& scan) {
  std::size_t previous_end = 0;
  for (const rewrite::HtmlLink& link : scan.links) {
    const auto where = [&] {
      return "href at " + std::to_string(link.attr_offset) + ", value " +
             std::to_string(link.value_offset) + "+" + std::to_string(link.value_length) + " in " +
             escaped(html);
    };
    FUZZ_CHECK(
        link.value_offset <= html.size() && link.value_length <= html.size() - link.value_offset,
        "span out of bounds: " + where());
    FUZZ_CHECK(link.attr_offset >= previous_end, "links unsorted or overlapping: " + where());
    FUZZ_CHECK(link.attr_offset + 4 <= link.value_offset, "name not before value: " + where());
    FUZZ_CHECK(istarts_with(html.substr(link.attr_offset), "href"), "name is not href: " + where());
    FUZZ_CHECK(link.quote == 0 || link.quote == '"' || link.quote == '\'', "odd quote: " + where());
    // Between the name and the value: [space] '=' [space] [quote].
    std::string_view between =
        html.substr(link.attr_offset + 4, link.value_offset - link.attr_offset - 4);
    if (link.quote != 0) {
      FUZZ_CHECK(between.ends_with(link.quote), "no opening quote: " + where());
      between.remove_suffix(1);
    }
    while (!between.empty() && is_html_space(between.front())) between.remove_prefix(1);
    while (!between.empty() && is_html_space(between.back())) between.remove_suffix(1);
    FUZZ_CHECK(between == "=", "not `href=` before the value: " + where());

    const std::string_view raw = html.substr(link.value_offset, link.value_length);
    const std::size_t value_end = link.value_offset + link.value_length;
    if (link.quote != 0) {
      FUZZ_CHECK(value_end < html.size() && html[value_end] == link.quote,
                 "no closing quote: " + where());
      FUZZ_CHECK(raw.find(link.quote) == std::string_view::npos, "quote inside value: " + where());
    } else {
      FUZZ_CHECK(!raw.empty(), "empty unquoted value: " + where());
      for (const char c : raw) {
        FUZZ_CHECK(!is_html_space(c) && c != '>', "unquoted value runs on: " + where());
      }
      FUZZ_CHECK(
          value_end == html.size() || is_html_space(html[value_end]) || html[value_end] == '>',
          "unquoted value does not end the attribute: " + where());
    }
    if (plain_value(raw)) {
      FUZZ_CHECK(link.value == raw,
                 "value " + escaped(link.value) + " differs from the source: " + where());
    }
    previous_end = value_end + (link.quote != 0 ? 1 : 0);
  }

  const auto outside_links = [&](std::size_t at) {
    for (const rewrite::HtmlLink& link : scan.links) {
      const std::size_t end = link.value_offset + link.value_length + (link.quote ? 1 : 0);
      if (at > link.attr_offset && at < end) return false;
    }
    return true;
  };
  if (scan.body_start_end) {
    const std::size_t at = *scan.body_start_end;
    FUZZ_CHECK(at >= 1 && at <= html.size() && html[at - 1] == '>',
               "<body> end is not after a '>': " + escaped(html));
    FUZZ_CHECK(outside_links(at), "<body> end inside a link: " + escaped(html));
  }
  if (scan.body_end_start) {
    const std::size_t at = *scan.body_end_start;
    FUZZ_CHECK(at < html.size() && istarts_with(html.substr(at), "</body"),
               "</body> start is not at \"</body\": " + escaped(html));
    FUZZ_CHECK(outside_links(at), "</body> start inside a link: " + escaped(html));
    FUZZ_CHECK(!scan.body_start_end || *scan.body_start_end <= at,
               "</body> before <body>: " + escaped(html));
  }
}

inline bool same_link(const rewrite::HtmlLink& a, const rewrite::HtmlLink& b) {
  return a.value_offset == b.value_offset && a.value_length == b.value_length &&
         a.quote == b.quote && a.attr_offset == b.attr_offset && a.value == b.value &&
         a.tag == b.tag && a.clicktrack_off == b.clicktrack_off && a.link_name == b.link_name &&
         a.in_conditional_comment == b.in_conditional_comment;
}

}  // namespace html_detail

inline int check_html(const std::uint8_t* data, std::size_t size) {
  using namespace html_detail;
  const std::string_view html = as_view(data, size);
  const conf::RewriteLimits limits;
  const Result<rewrite::HtmlScan> gumbo = rewrite::make_gumbo_scanner(limits)->scan(html);
  if (gumbo.ok()) check_scan(html, *gumbo);
  const Result<rewrite::HtmlScan> fast = rewrite::make_fast_scanner(limits)->scan(html);
  if (fast.ok()) check_scan(html, *fast);
  // The fast scanner gives gumbo's answer exactly (link_scanner.h).
  FUZZ_CHECK(fast.ok() == gumbo.ok(),
             std::string("fast scanner ") + (fast.ok() ? "accepts" : "refuses") + " what gumbo " +
                 (gumbo.ok() ? "accepts" : "refuses") + ": " + escaped(html));
  if (!fast.ok()) return 0;
  FUZZ_CHECK(fast->body_start_end == gumbo->body_start_end &&
                 fast->body_end_start == gumbo->body_end_start,
             "fast and gumbo scanners disagree on <body>/</body>: " + escaped(html));
  FUZZ_CHECK(fast->links.size() == gumbo->links.size(),
             "fast scanner found " + std::to_string(fast->links.size()) + " links, gumbo " +
                 std::to_string(gumbo->links.size()) + ": " + escaped(html));
  for (std::size_t i = 0; i < fast->links.size(); ++i) {
    FUZZ_CHECK(same_link(fast->links[i], gumbo->links[i]),
               "fast and gumbo scanners disagree on link " + std::to_string(i) + " (" +
                   escaped(fast->links[i].value, 80) + " / " + escaped(gumbo->links[i].value, 80) +
                   "): " + escaped(html));
  }
  return 0;
}

}  // namespace trackrelay::fuzz
