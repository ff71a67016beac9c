// fuzz/fuzz_text.h — fuzz target body for the plain-text URL scanner
// (rewrite/text_scanner.h).
//
// Input: the text of a part, as bytes.
//
// Invariants: every span is within the text, spans are sorted and do not
// overlap (suffix included); each URL starts with http:// or https://
// (any case), is not preceded by a letter or digit, holds no byte that ends a
// URL, and has something after the scheme; a reported suffix is exactly
// [[data-msys-clicktrack="0"]] and only on opted-out links.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/strings.h"
#include "fuzz/fuzz_common.h"
#include "rewrite/text_scanner.h"

namespace trackrelay::fuzz {

inline int check_text(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = as_view(data, size);
  constexpr std::string_view kSuffix = "[[data-msys-clicktrack=\"0\"]]";
  std::size_t previous_end = 0;
  for (const rewrite::TextLink& link : rewrite::scan_text(text)) {
    const auto where = [&] {
      return "link at " + std::to_string(link.offset) + "+" + std::to_string(link.length) + " in " +
             escaped(text);
    };
    FUZZ_CHECK(link.offset >= previous_end, "links unsorted or overlapping: " + where());
    FUZZ_CHECK(link.offset <= text.size() && link.length <= text.size() - link.offset &&
                   link.suffix_length <= text.size() - link.offset - link.length,
               "span out of bounds: " + where());
    const std::string_view url = text.substr(link.offset, link.length);
    const std::size_t scheme = istarts_with(url, "https://")  ? 8
                               : istarts_with(url, "http://") ? 7
                                                              : 0;
    FUZZ_CHECK(scheme != 0 && url.size() > scheme, "not an http(s) URL: " + where());
    if (link.offset > 0) {
      const char before = text[link.offset - 1];
      FUZZ_CHECK(!((before >= 'a' && before <= 'z') || (before >= 'A' && before <= 'Z') ||
                   (before >= '0' && before <= '9')),
                 "URL preceded by a letter or digit: " + where());
    }
    for (const char ch : url) {
      const auto c = static_cast<unsigned char>(ch);
      FUZZ_CHECK(c > 0x20 && c != 0x7f && c != '<' && c != '>' && c != '"' && c != '`',
                 "URL holds a byte that ends URLs: " + where());
    }
    FUZZ_CHECK(link.suffix_length == 0 || link.suffix_length == kSuffix.size(),
               "odd suffix length: " + where());
    if (link.suffix_length != 0) {
      FUZZ_CHECK(link.clicktrack_off, "suffix without opt-out: " + where());
      FUZZ_CHECK(text.substr(link.offset + link.length, link.suffix_length) == kSuffix,
                 "suffix bytes differ: " + where());
    }
    FUZZ_CHECK(!link.clicktrack_off || link.suffix_length != 0,
               "opt-out without suffix: " + where());
    previous_end = link.offset + link.length + link.suffix_length;
  }
  return 0;
}

}  // namespace trackrelay::fuzz
