// rewrite/text_scanner.h — finding http(s) URLs in plain text.
//
// Boundaries: a URL starts at "http://" or "https://" (case-insensitive) not
// preceded by a letter/digit, and ends at whitespace, a control character, or
// one of `<>"` and the backquote; a URL wrapped as <URL> or "URL" ends at
// the wrapper. Trailing `.,;:!?'` are not part of the URL, nor is a trailing
// `)` `]` `}` unless balanced by an opener inside the URL
// (https://en.wikipedia.org/wiki/Foo_(bar) keeps its ')'). A URL immediately
// followed by the suffix [[data-msys-clicktrack="0"]] is marked untracked
// and the suffix is reported so the caller can remove it.
//
// May call: base/.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace trackrelay::rewrite {

struct TextLink {
  std::size_t offset = 0;  // first byte of the URL
  std::size_t length = 0;  // bytes of the URL
  std::size_t suffix_length = 0;  // bytes of a following [[data-msys-clicktrack="0"]], else 0
  bool clicktrack_off = false;
};

std::vector<TextLink> scan_text(std::string_view text);

}  // namespace trackrelay::rewrite
