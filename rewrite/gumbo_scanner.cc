// rewrite/gumbo_scanner.cc — the gumbo-based LinkScanner: finds <a>/<area>
// hrefs (and VML hrefs inside MSO conditional comments), <body> and </body>,
// as byte offsets of the input, and enforces the HTML parse limits.
//
// Every reported span is checked against the source bytes: gumbo's string
// pieces point into the buffer it parsed, so offsets are derived from those
// pointers and cross-checked with gumbo's own source positions.
#include <gumbo.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/strings.h"
#include "rewrite/html_guard.h"
#include "rewrite/link_scanner.h"

namespace trackrelay::rewrite {
namespace {

struct GumboOutputDeleter {
  void operator()(GumboOutput* p) const { gumbo_destroy_output(&kGumboDefaultOptions, p); }
};
using GumboOutputPtr = std::unique_ptr<GumboOutput, GumboOutputDeleter>;

std::size_t ifind(std::string_view s, std::string_view needle) {
  if (needle.size() > s.size()) return std::string_view::npos;
  for (std::size_t i = 0; i + needle.size() <= s.size(); ++i) {
    if (istarts_with(s.substr(i), needle)) return i;
  }
  return std::string_view::npos;
}

constexpr bool is_html_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

// Where a gumbo string piece lies in `html`, if it lies there at all.
std::optional<std::size_t> offset_in(std::string_view html, const GumboStringPiece& piece) {
  if (piece.data == nullptr) return std::nullopt;
  auto base = reinterpret_cast<std::uintptr_t>(html.data());
  auto p = reinterpret_cast<std::uintptr_t>(piece.data);
  if (p < base || p - base > html.size() || piece.length > html.size() - (p - base)) {
    return std::nullopt;
  }
  return static_cast<std::size_t>(p - base);
}

std::string tag_name(const GumboElement& element) {
  if (element.tag != GUMBO_TAG_UNKNOWN) return gumbo_normalized_tagname(element.tag);
  GumboStringPiece piece = element.original_tag;
  if (piece.data == nullptr || piece.length == 0) return "";
  gumbo_tag_from_original_text(&piece);
  std::string name(piece.data, piece.length);
  for (char& c : name) c = ascii_lower(c);
  return name;
}

class GumboScanner final : public LinkScanner {
 public:
  explicit GumboScanner(const conf::RewriteLimits& limits) : limits_(limits) {}

  Result<HtmlScan> scan(std::string_view html) override {
    if (html.size() > limits_.max_html_part_bytes) {
      return Error{"HTML part is " + std::to_string(html.size()) + " bytes, over the limit of " +
                   std::to_string(limits_.max_html_part_bytes)};
    }
    HtmlGuardFindings findings;
    if (auto checked = check_html_complexity(html, guard(), &findings); !checked) {
      return checked.failure();
    }

    HtmlScan scan;
    std::size_t errors = 0;
    // (Copied: pre-scans of conditional comments reuse `findings`.)
    const std::optional<std::size_t> body_tag_start = findings.body_tag_start;
    const std::optional<std::size_t> body_tag_end = findings.body_tag_end;
    Pass pass{html, 0, scan, errors, findings, /*in_conditional=*/false, body_tag_start};
    if (auto error = parse_and_walk(pass, html)) return Error{*error};
    // Content before <body ...> (an <img> in <head>, say) makes gumbo imply the
    // body early and drop the real tag's position: use the pre-scan's, unless
    // gumbo saw those bytes as a comment, raw text or inside another tag.
    if (!scan.body_start_end && pass.saw_body && body_tag_start && !pass.body_candidate_covered) {
      scan.body_start_end = body_tag_end;
    }
    if (scan.body_start_end && scan.body_end_start && *scan.body_end_start < *scan.body_start_end) {
      scan.body_end_start.reset();
    }

    // Source order; a span reported twice (gumbo clones formatting elements
    // such as <a> when markup is misnested) or overlapping is kept once.
    std::stable_sort(
        scan.links.begin(), scan.links.end(),
        [](const HtmlLink& a, const HtmlLink& b) { return a.value_offset < b.value_offset; });
    std::vector<HtmlLink> unique;
    unique.reserve(scan.links.size());
    for (HtmlLink& link : scan.links) {
      if (!unique.empty() &&
          link.attr_offset < unique.back().value_offset + unique.back().value_length) {
        continue;
      }
      unique.push_back(std::move(link));
    }
    scan.links = std::move(unique);
    return scan;
  }

 private:
  struct Pass {
    std::string_view html;  // the whole part: all offsets are relative to it
    std::size_t base;       // offset in html of the buffer gumbo parsed
    HtmlScan& out;
    std::size_t& errors;       // parse errors so far, over all parses of the part
    HtmlGuardFindings& guard;  // pre-scan budgets, shared with conditional comments
    bool in_conditional;
    std::optional<std::size_t> body_candidate;  // '<' of the pre-scan's <body ...>
    bool body_candidate_covered = false;        // ... which gumbo saw as something else
    bool saw_body = false;
  };

  static bool in_raw_text(const GumboNode* node) {
    const GumboNode* parent = node->parent;
    if (node->type == GUMBO_NODE_DOCUMENT || parent == nullptr ||
        parent->type != GUMBO_NODE_ELEMENT) {
      return false;
    }
    switch (parent->v.element.tag) {
      case GUMBO_TAG_SCRIPT:
      case GUMBO_TAG_STYLE:
      case GUMBO_TAG_TEXTAREA:
      case GUMBO_TAG_TITLE:
      case GUMBO_TAG_XMP:
      case GUMBO_TAG_IFRAME:
      case GUMBO_TAG_NOEMBED:
      case GUMBO_TAG_NOFRAMES:
      case GUMBO_TAG_NOSCRIPT:
      case GUMBO_TAG_PLAINTEXT:
        return true;
      default:
        return false;
    }
  }

  // Whether gumbo's node covers the pre-scan's <body> candidate.
  static void cover(Pass& pass, const GumboNode* node) {
    std::optional<std::size_t> at;
    std::size_t length = 0;
    std::size_t from_inside = 0;  // a tag may start at the candidate: only its inside covers
    if (node->type == GUMBO_NODE_ELEMENT || node->type == GUMBO_NODE_TEMPLATE) {
      at = offset_in(pass.html, node->v.element.original_tag);
      length = node->v.element.original_tag.length;
      from_inside = 1;
    } else if (node->type == GUMBO_NODE_COMMENT || in_raw_text(node)) {
      // (Other text nodes' original_text runs on over tokens gumbo ignored,
      // such as a late <body> tag itself, so only raw text counts.)
      at = offset_in(pass.html, node->v.text.original_text);
      length = node->v.text.original_text.length;
    }
    std::size_t c = *pass.body_candidate;
    if (at && c >= *at + from_inside && c < *at + length) pass.body_candidate_covered = true;
  }

  // Parses `source` (the whole part, or the inside of a conditional comment,
  // which lies within pass.html) and records what it finds.
  std::optional<std::string> parse_and_walk(Pass& pass, std::string_view source) {
    GumboOptions options = kGumboDefaultOptions;
    options.max_errors = limits_.max_html_parse_errors > 0 ? limits_.max_html_parse_errors : -1;
    GumboOutputPtr output(gumbo_parse_with_options(&options, source.data(), source.size()));
    if (!output || !output->document) return "the HTML parser gave up on this part";
    pass.errors += output->errors.length;
    if (limits_.max_html_parse_errors > 0 &&
        pass.errors >= static_cast<std::size_t>(limits_.max_html_parse_errors)) {
      return "too many HTML parse errors (limit " + std::to_string(limits_.max_html_parse_errors) +
             ")";
    }

    struct Frame {
      const GumboNode* node;
      int depth;
    };
    std::vector<Frame> stack{{output->document, 0}};
    while (!stack.empty()) {
      Frame frame = stack.back();
      stack.pop_back();
      const GumboNode* node = frame.node;
      if (pass.body_candidate && !pass.in_conditional) cover(pass, node);
      if (node->type == GUMBO_NODE_COMMENT) {
        if (!pass.in_conditional) {
          if (auto error = conditional_comment(pass, node->v.text)) return error;
        }
        continue;
      }
      const GumboVector* children = nullptr;
      if (node->type == GUMBO_NODE_DOCUMENT) {
        children = &node->v.document.children;
      } else if (node->type == GUMBO_NODE_ELEMENT || node->type == GUMBO_NODE_TEMPLATE) {
        if (frame.depth > limits_.max_html_depth) {
          return "HTML elements nested deeper than " + std::to_string(limits_.max_html_depth) +
                 " levels";
        }
        element(pass, node->v.element);
        children = &node->v.element.children;
      }
      if (children == nullptr) continue;
      for (unsigned int i = children->length; i-- > 0;) {
        stack.push_back({static_cast<const GumboNode*>(children->data[i]), frame.depth + 1});
      }
    }
    return std::nullopt;
  }

  void element(Pass& pass, const GumboElement& element) {
    std::string_view html = pass.html;
    if (element.tag == GUMBO_TAG_BODY && !pass.in_conditional) body(pass, element);
    std::string tag;
    if (element.tag_namespace == GUMBO_NAMESPACE_HTML &&
        (element.tag == GUMBO_TAG_A || element.tag == GUMBO_TAG_AREA)) {
      tag = gumbo_normalized_tagname(element.tag);
    } else if (pass.in_conditional && element.tag == GUMBO_TAG_UNKNOWN) {
      tag = tag_name(element);
      if (!tag.starts_with("v:")) return;
    } else {
      return;
    }
    const GumboAttribute* href = gumbo_get_attribute(&element.attributes, "href");
    if (href == nullptr || href->original_value.length == 0) return;  // no value to splice
    std::optional<std::size_t> raw = offset_in(html, href->original_value);
    std::optional<std::size_t> name = offset_in(html, href->original_name);
    // Cross-check gumbo's pointers with its own source positions.
    if (!raw || !name || *name >= *raw || href->name_start.offset + pass.base != *name ||
        href->value_start.offset + pass.base != *raw) {
      return;
    }
    std::string_view original(href->original_value.data, href->original_value.length);
    // Between the name and the value: [space] '=' [space]. gumbo 0.10.1 starts
    // an unquoted value after a leading character reference (for
    // `href=&#104;ttps://x` it reports `ttps://x`): then the value starts at
    // the '&' and runs to where gumbo's ends.
    std::size_t start = *name + href->original_name.length;
    while (start < *raw && is_html_space(html[start])) ++start;
    if (start == *raw || html[start] != '=') return;
    ++start;
    while (start < *raw && is_html_space(html[start])) ++start;
    if (start != *raw) {
      // Anything but a character reference there is not a span we can splice.
      std::string_view lead = html.substr(start, *raw - start);
      constexpr std::string_view kRefChars =
          "#;0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
      if (lead.front() != '&' || lead.find_first_not_of(kRefChars, 1) != std::string_view::npos) {
        return;
      }
      original = html.substr(start, *raw + original.size() - start);
      raw = start;
    }
    HtmlLink link;
    link.attr_offset = *name;
    link.value_offset = *raw;
    link.value_length = original.size();
    char first = original.front();
    if ((first == '"' || first == '\'') && original.size() >= 2 && original.back() == first) {
      link.quote = first;
      link.value_offset += 1;
      link.value_length -= 2;
    } else if (first == '"' || first == '\'') {
      return;  // an unterminated quote: not a span we can splice safely
    }
    // The span must be the attribute's bytes, and the name must be `href`.
    if (html.substr(link.value_offset, link.value_length) !=
            original.substr(link.quote ? 1 : 0, link.value_length) ||
        !istarts_with(html.substr(link.attr_offset), "href")) {
      return;
    }
    link.value = href->value;
    link.tag = std::move(tag);
    if (const GumboAttribute* ct =
            gumbo_get_attribute(&element.attributes, "data-msys-clicktrack")) {
      link.clicktrack_off = std::string_view(ct->value) == "0";
    }
    if (const GumboAttribute* ln = gumbo_get_attribute(&element.attributes, "data-msys-linkname")) {
      link.link_name = ln->value;
    }
    link.in_conditional_comment = pass.in_conditional;
    pass.out.links.push_back(std::move(link));
  }

  // <body ...> and </body> positions, only when the source really has them.
  static void body(Pass& pass, const GumboElement& element) {
    std::string_view html = pass.html;
    pass.saw_body = true;
    if (element.original_tag.length != 0 && !pass.out.body_start_end) {
      std::optional<std::size_t> at = offset_in(html, element.original_tag);
      std::size_t end = at ? *at + element.original_tag.length : 0;
      if (at && istarts_with(html.substr(*at), "<body") && html[end - 1] == '>') {
        pass.out.body_start_end = end;
      }
    }
    if (element.original_end_tag.length != 0 && !pass.out.body_end_start) {
      std::optional<std::size_t> at = offset_in(html, element.original_end_tag);
      if (at && istarts_with(html.substr(*at), "</body")) pass.out.body_end_start = *at;
    }
  }

  // <!--[if mso]> ... <![endif]-->: parse the inside as its own document.
  std::optional<std::string> conditional_comment(Pass& pass, const GumboText& comment) {
    std::optional<std::size_t> at = offset_in(pass.html, comment.original_text);
    if (!at) return std::nullopt;
    std::string_view raw = pass.html.substr(*at, comment.original_text.length);
    if (!raw.starts_with("<!--")) return std::nullopt;
    std::size_t content = 4;
    std::size_t content_end = raw.ends_with("-->") ? raw.size() - 3 : raw.size();
    if (content_end < content) return std::nullopt;
    std::string_view text = raw.substr(content, content_end - content);
    std::size_t lead = 0;
    while (lead < text.size() && (text[lead] == ' ' || text[lead] == '\t' || text[lead] == '\r' ||
                                  text[lead] == '\n' || text[lead] == '\f')) {
      ++lead;
    }
    if (!istarts_with(text.substr(lead), "[if")) return std::nullopt;
    std::size_t open = text.find("]>", lead);
    if (open == std::string_view::npos) return std::nullopt;
    std::string_view inner = text.substr(open + 2);
    inner = inner.substr(0, std::min(inner.size(), ifind(inner, "<![endif]")));
    if (inner.find('<') == std::string_view::npos) return std::nullopt;
    // The pre-scan skipped comments: check their content before gumbo sees it.
    if (auto checked = check_html_complexity(inner, guard(), &pass.guard); !checked) {
      return checked.error() + " (in a conditional comment)";
    }
    Pass nested{pass.html,   static_cast<std::size_t>(inner.data() - pass.html.data()),
                pass.out,    pass.errors,
                pass.guard,  /*in_conditional=*/true,
                std::nullopt};
    return parse_and_walk(nested, inner);
  }

  HtmlGuardLimits guard() const {
    HtmlGuardLimits guard;
    guard.max_depth = limits_.max_html_depth;
    return guard;
  }

  const conf::RewriteLimits limits_;
};

}  // namespace

std::unique_ptr<LinkScanner> make_gumbo_scanner(const conf::RewriteLimits& limits) {
  return std::make_unique<GumboScanner>(limits);
}

}  // namespace trackrelay::rewrite
