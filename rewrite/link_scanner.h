// rewrite/link_scanner.h — finding links in an HTML body, behind an interface.
//
// The engine asks a LinkScanner where the links, <body> and </body> are, in
// byte offsets of the (decoded) part body, and then decides itself what to
// rewrite. Two implementations: the gumbo-based scanner (gumbo_scanner.cc),
// which builds the whole tree, and the fast scanner (fast_scanner.cc), one
// linear tokenizer pass that gives gumbo's answer exactly and hands a part to
// an internal gumbo scanner whenever the tree builder could see it
// differently. make_scanner() picks one by `rewrite.html_scanner`.
//
// May call: base/, conf/ (limits), gumbo.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "conf/config.h"

namespace trackrelay::rewrite {

struct HtmlLink {
  // The attribute value as written in the source, without its quotes: the
  // span to replace. For an unquoted value, quote == 0.
  std::size_t value_offset = 0;
  std::size_t value_length = 0;
  char quote = 0;  // '"', '\'' or 0
  // First byte of the attribute name (`href`). There is always whitespace
  // (or a '/' / quote) before it inside the tag, so inserting a line break
  // here does not change the document: used to keep lines <= 998 octets.
  std::size_t attr_offset = 0;
  // The value as the browser sees it: character references decoded. This is
  // what the gumbo scanner reports (attribute->value).
  std::string value;
  std::string tag;                      // "a", "area", "v:roundrect", ... (lower-case)
  bool clicktrack_off = false;          // data-msys-clicktrack="0" on the same element
  std::string link_name;                // data-msys-linkname, entity-decoded ("" when absent)
  bool in_conditional_comment = false;  // found inside <!--[if ...]> ... <![endif]-->
};

struct HtmlScan {
  std::vector<HtmlLink> links;  // in source order
  // Offset just after the '>' of the <body ...> start tag, when the source has one.
  std::optional<std::size_t> body_start_end;
  // Offset of the '<' of the </body> end tag, when the source has one.
  std::optional<std::size_t> body_end_start;
};

class LinkScanner {
 public:
  virtual ~LinkScanner() = default;
  // Errors: the part is too large, too deeply nested, has too many parse
  // errors, or the parser gave up; the caller leaves the part untouched and
  // logs the message.
  virtual Result<HtmlScan> scan(std::string_view html) = 0;
};

std::unique_ptr<LinkScanner> make_gumbo_scanner(const conf::RewriteLimits& limits);
// The tokenizer-only scanner; it owns a gumbo scanner for the parts it delegates.
std::unique_ptr<LinkScanner> make_fast_scanner(const conf::RewriteLimits& limits);
// The scanner `limits.html_scanner` names ("fast" or "gumbo").
std::unique_ptr<LinkScanner> make_scanner(const conf::RewriteLimits& limits);

// The fast scanner's own pass, without the fallback (for tests and the
// benchmark): either its answer — a scan, or the size / complexity-guard
// error the gumbo scanner would give — or why gumbo must decide.
struct FastScanOutcome {
  std::optional<Result<HtmlScan>> result;  // set when the fast path decided
  const char* delegated = nullptr;         // otherwise: why (a static string)
};
FastScanOutcome fast_scan(std::string_view html, const conf::RewriteLimits& limits);

}  // namespace trackrelay::rewrite
