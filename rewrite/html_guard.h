// rewrite/html_guard.h — a linear pre-check that keeps gumbo's super-linear
// cases away from the parser.
//
// gumbo-parser 0.10.1 spends time proportional to (tokens x open-element
// depth) and to (attributes per tag)^2: 20,000 nested <div>s (100 KB) take
// ~9 s, one tag with 94,000 attributes ~18 s. Its max_errors option only stops
// *recording* errors, it never shortens a parse. This pre-scan models the
// nesting and counts attributes with a small byte-level tokenizer, in one pass,
// and refuses a part before gumbo sees it. The model errs towards lower depth
// on sloppy markup (implied </p>, </li>, </td>, ... are modelled) so that
// legitimate mail passes; gumbo's real tree depth is checked again afterwards.
//
// May call: nothing beyond the standard library.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace trackrelay::rewrite {

struct HtmlGuardLimits {
  int max_depth = 400;  // modelled open-element depth
  std::size_t max_attributes_per_tag = 1000;
  // Sum over tags of n*(n-1)/2 for n attributes: gumbo's duplicate check.
  std::size_t max_attribute_pairs = 20'000'000;
  // Sum over tags of the modelled depth at that tag: gumbo walks the open
  // elements for scope checks, ~1 ns per element (8e8 took ~0.8 s).
  std::size_t max_depth_work = 200'000'000;
};

// What the pre-scan saw on the way, for the scanner to cross-check.
struct HtmlGuardFindings {
  // The first <body ...> start tag outside comments and raw text: offsets of
  // its '<' and just after its '>'. gumbo does not report a <body> tag that
  // comes after content which already implied the body.
  std::optional<std::size_t> body_tag_start;
  std::optional<std::size_t> body_tag_end;
  // Work counted so far; a later call with the same findings continues from it.
  std::size_t attribute_pairs = 0;
  std::size_t depth_work = 0;
};

// An error (code Errc::kLimit, the message a human-readable reason) when the
// part should not be parsed.
Result<void> check_html_complexity(std::string_view html, const HtmlGuardLimits& limits,
                                   HtmlGuardFindings* findings = nullptr);

}  // namespace trackrelay::rewrite
