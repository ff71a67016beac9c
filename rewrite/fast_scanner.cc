// rewrite/fast_scanner.cc — the fast LinkScanner: one linear tokenizer pass
// (html_tokenizer.h) that reports exactly what the gumbo scanner reports —
// links, their spans and decoded values, per-link controls, conditional
// comments, <body> and </body> — without building a tree.
//
// Owns: the rules that decide, from tokens alone, what gumbo's tree builder
// would make of them, and when tokens alone are not enough. Then the part is
// delegated to an internal gumbo scanner instead of guessed: SVG/MathML
// (foreign content, CDATA), <template>, <frameset>, <select> (it drops tags),
// scope boundaries (<object>, <applet>, <marquee>), a first <body> tag the
// complexity guard places elsewhere, a </body> whose scope the table model
// cannot tell, character references other than numeric ones and
// amp/lt/gt/quot/apos/nbsp, bytes gumbo replaces (NUL, controls, invalid
// UTF-8) in a value, and a part whose parse-error or depth estimate comes
// near the configured limits. The size limit and the complexity guard run
// first, as in the gumbo scanner, with the same messages; every other error
// is gumbo's to give, so those cases are delegated too.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/strings.h"
#include "rewrite/html_guard.h"
#include "rewrite/html_tokenizer.h"
#include "rewrite/link_scanner.h"

namespace trackrelay::rewrite {
namespace {

constexpr std::size_t npos = std::string_view::npos;

// What a start or end tag means to the scanner's models.
enum class Tag : std::uint8_t {
  kOther,
  kVoid,      // never on the stack of open elements
  kDocument,  // html, head, body: never nested by gumbo
  kA,
  kArea,
  kRawtext,
  kRcdata,
  kScript,
  kPlaintext,
  kNoscript,
  kTable,
  kCell,
  kCaption,
  kRowish,      // tr, tbody, thead, tfoot, colgroup
  kFormatting,  // end tags that run the adoption agency
  kDelegate,
};

Tag classify(std::string_view n) {
  switch (n.size()) {
    case 1:
      if (n == "a") return Tag::kA;
      if (n == "b" || n == "i" || n == "s" || n == "u") return Tag::kFormatting;
      return Tag::kOther;
    case 2:
      if (n == "br" || n == "hr") return Tag::kVoid;
      if (n == "td" || n == "th") return Tag::kCell;
      if (n == "tr") return Tag::kRowish;
      if (n == "em" || n == "tt") return Tag::kFormatting;
      return Tag::kOther;
    case 3:
      if (n == "img" || n == "col" || n == "wbr") return Tag::kVoid;
      if (n == "xmp") return Tag::kRawtext;
      if (n == "svg") return Tag::kDelegate;
      if (n == "big") return Tag::kFormatting;
      return Tag::kOther;
    case 4:
      if (n == "meta" || n == "link" || n == "base") return Tag::kVoid;
      if (n == "area") return Tag::kArea;
      if (n == "body" || n == "html" || n == "head") return Tag::kDocument;
      if (n == "math") return Tag::kDelegate;
      if (n == "font" || n == "nobr" || n == "code") return Tag::kFormatting;
      return Tag::kOther;
    case 5:
      if (n == "input" || n == "embed" || n == "param" || n == "track" || n == "frame" ||
          n == "image") {
        return Tag::kVoid;
      }
      if (n == "style") return Tag::kRawtext;
      if (n == "title") return Tag::kRcdata;
      if (n == "table") return Tag::kTable;
      if (n == "tbody" || n == "thead" || n == "tfoot") return Tag::kRowish;
      if (n == "small") return Tag::kFormatting;
      return Tag::kOther;
    case 6:
      if (n == "source" || n == "keygen") return Tag::kVoid;
      if (n == "iframe") return Tag::kRawtext;
      if (n == "script") return Tag::kScript;
      if (n == "select" || n == "object" || n == "applet") return Tag::kDelegate;
      if (n == "strike" || n == "strong") return Tag::kFormatting;
      return Tag::kOther;
    case 7:
      if (n == "bgsound" || n == "isindex") return Tag::kVoid;
      if (n == "noembed") return Tag::kRawtext;
      if (n == "caption") return Tag::kCaption;
      if (n == "marquee") return Tag::kDelegate;
      return Tag::kOther;
    case 8:
      if (n == "basefont") return Tag::kVoid;
      if (n == "noframes") return Tag::kRawtext;
      if (n == "textarea") return Tag::kRcdata;
      if (n == "noscript") return Tag::kNoscript;
      if (n == "template" || n == "frameset") return Tag::kDelegate;
      if (n == "colgroup") return Tag::kRowish;
      return Tag::kOther;
    case 9:
      if (n == "plaintext") return Tag::kPlaintext;
      return Tag::kOther;
    default:
      return Tag::kOther;
  }
}

// FNV-1a of a lower-case tag name: the depth model's key.
std::uint64_t key_of(std::string_view name) {
  std::uint64_t h = 14695981039346656037ull;
  for (char c : name) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

// An estimate, meant to stay above it, of the depth of gumbo's tree: the
// open-element stack with end tags popping to the nearest match, where every
// element popped other than by its own end tag as the current node is kept as
// "debt" (gumbo may still have it open), and a table counts for table, tbody
// and tr.
class DepthModel {
 public:
  void start(std::string_view name, Tag tag) {
    if (tag == Tag::kVoid || tag == Tag::kDocument) return;
    std::size_t weight = tag == Tag::kTable ? 3 : 1;
    stack_.push_back({key_of(name), weight});
    depth_ += weight;
    peak_ = std::max(peak_, depth_ + debt_);
  }
  void end(std::string_view name) {
    std::uint64_t key = key_of(name);
    for (std::size_t i = stack_.size(); i-- > 0;) {
      if (stack_[i].key != key) continue;
      bool top = i + 1 == stack_.size();
      while (stack_.size() > i) {
        if (!top) debt_ += stack_.back().weight;
        depth_ -= stack_.back().weight;
        stack_.pop_back();
      }
      return;
    }
  }
  std::size_t peak() const { return peak_; }

 private:
  struct Open {
    std::uint64_t key;
    std::size_t weight;
  };
  std::vector<Open> stack_;
  std::size_t depth_ = 0;
  std::size_t debt_ = 0;
  std::size_t peak_ = 0;
};

// Whether </body> reaches the body: gumbo ignores it while a table, cell or
// caption is open. Tracks just those; anything irregular makes it unsure.
class TableModel {
 public:
  void start(Tag tag) {
    Entry top = stack_.empty() ? Entry::kNone : stack_.back();
    switch (tag) {
      case Tag::kTable:
        if (top == Entry::kTable) unsure_ = true;  // closes the open table
        stack_.push_back(Entry::kTable);
        break;
      case Tag::kCell:
        if (top == Entry::kTable) stack_.push_back(Entry::kCell);
        if (top == Entry::kCaption) unsure_ = true;
        break;
      case Tag::kCaption:
        if (top == Entry::kCell) {
          stack_.pop_back();
          top = Entry::kTable;
        }
        if (top == Entry::kTable) stack_.push_back(Entry::kCaption);
        if (top == Entry::kCaption) unsure_ = true;
        break;
      case Tag::kRowish:
        if (top == Entry::kCell || top == Entry::kCaption) stack_.pop_back();
        break;
      default:
        break;
    }
  }
  void end(std::string_view name, Tag tag) {
    Entry top = stack_.empty() ? Entry::kNone : stack_.back();
    switch (tag) {
      case Tag::kTable:
        if (top == Entry::kCell || top == Entry::kCaption) stack_.pop_back();
        if (top != Entry::kNone) stack_.pop_back();
        break;
      case Tag::kCell:
        if (top == Entry::kCell) stack_.pop_back();
        if (top == Entry::kCaption) unsure_ = true;
        break;
      case Tag::kCaption:
        if (top == Entry::kCaption) stack_.pop_back();
        if (top == Entry::kCell) unsure_ = true;
        break;
      case Tag::kRowish:
        if (top == Entry::kCell && name == "tr") {
          stack_.pop_back();
        } else if (top == Entry::kCell || top == Entry::kCaption) {
          unsure_ = true;
        }
        break;
      default:
        break;
    }
  }
  bool open() const { return !stack_.empty(); }
  bool unsure() const { return unsure_; }

 private:
  enum class Entry : std::uint8_t { kNone, kTable, kCell, kCaption };
  std::vector<Entry> stack_;
  bool unsure_ = false;
};

std::size_t ifind(std::string_view s, std::string_view needle) {
  if (needle.size() > s.size()) return npos;
  for (std::size_t i = 0; i + needle.size() <= s.size(); ++i) {
    if (istarts_with(s.substr(i), needle)) return i;
  }
  return npos;
}

constexpr bool is_html_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

// Bytes that may cost gumbo one parse error each: bytes >= 0x80 (invalid
// UTF-8, C1 controls, noncharacters), C0 controls and DEL, and '&'
// (character references).
std::size_t risky_bytes(std::string_view s) {
  std::size_t count = 0;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    count +=
        (c >= 0x7F) | (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f') | (c == '&');
  }
  return count;
}

HtmlGuardLimits guard_limits(const conf::RewriteLimits& limits) {
  HtmlGuardLimits guard;
  guard.max_depth = limits.max_html_depth;
  return guard;
}

// One part (or one conditional comment's inside, parsed as its own document
// as the gumbo scanner does). Returns a reason to delegate, or nullptr.
class Walk {
 public:
  struct Shared {
    std::string_view html;  // the whole part
    const conf::RewriteLimits& limits;
    HtmlGuardFindings& guard;  // budgets, continued by conditional comments
    HtmlScan& out;
    std::size_t errors = 0;  // parse-error estimate over every parse
  };

  Walk(Shared& shared, std::size_t base, std::size_t length, bool in_conditional)
      : shared_(shared),
        source_(shared.html.substr(base, length)),
        base_(base),
        in_conditional_(in_conditional),
        tokenizer_(source_) {}

  const char* run() {
    HtmlToken token;
    std::size_t tree_errors = 8;  // the end of the input, the doctype's absence
    while (tokenizer_.next(&token)) {
      if (token.kind == HtmlTokenKind::kStartTag) {
        Tag tag = classify(token.name);
        tree_errors += (tag == Tag::kA || token.name == "nobr") ? 14 : 4;
        if (const char* reason = start_tag(token, tag)) return reason;
      } else if (token.kind == HtmlTokenKind::kEndTag) {
        Tag tag = classify(token.name);
        tree_errors += (tag == Tag::kFormatting || tag == Tag::kA) ? 12 : 4;
        if (const char* reason = end_tag(token, tag)) return reason;
      } else {
        tree_errors += 1;
        if (token.kind == HtmlTokenKind::kComment && !in_conditional_) {
          if (const char* reason = comment(token)) return reason;
        }
      }
    }
    shared_.errors +=
        tokenizer_.error_bound() + 2 * tokenizer_.text_runs() + tree_errors + risky_bytes(source_);
    int max_errors = shared_.limits.max_html_parse_errors;
    if (max_errors > 0 && shared_.errors >= static_cast<std::size_t>(max_errors)) {
      return "parse-error estimate near the limit";
    }
    // The walk's depth counts the document, <html> and <body>; keep a margin.
    if (depth_.peak() + 4 > static_cast<std::size_t>(std::max(0, shared_.limits.max_html_depth))) {
      return "depth estimate near the limit";
    }
    return nullptr;
  }

  std::optional<std::pair<std::size_t, std::size_t>> body_tag() const { return body_tag_; }
  std::optional<std::size_t> body_end() const { return body_end_; }

 private:
  const char* start_tag(const HtmlToken& token, Tag tag) {
    switch (tag) {
      case Tag::kDelegate:
        return "foreign content, template, frameset, select or a scope boundary";
      case Tag::kA:
      case Tag::kArea:
        if (const char* reason = link(token, token.name)) return reason;
        break;
      case Tag::kDocument:
        if (!in_conditional_ && !body_tag_ && token.name == "body") {
          // A text node inside an open <noscript> may run on over a late
          // <body> tag, and the gumbo scanner then ignores the tag.
          if (noscript_seen_) return "a <body> tag after a <noscript>";
          body_tag_.emplace(base_ + token.begin, base_ + token.end);
        }
        break;
      case Tag::kRawtext:
        tokenizer_.set_text_mode(HtmlTextMode::kRawtext, token.name);
        break;
      case Tag::kRcdata:
        tokenizer_.set_text_mode(HtmlTextMode::kRcdata, token.name);
        break;
      case Tag::kScript:
        tokenizer_.set_text_mode(HtmlTextMode::kScriptData, token.name);
        break;
      case Tag::kPlaintext:
        tokenizer_.set_text_mode(HtmlTextMode::kPlaintext, token.name);
        break;
      case Tag::kNoscript:
        ++noscripts_;  // scripting is off in gumbo: its content is markup
        noscript_seen_ = true;
        break;
      default:
        if (in_conditional_ && token.name.starts_with("v:")) {
          // gumbo names unknown elements from the source up to a space, \v included.
          std::string_view name = token.name;
          if (const char* reason = link(token, name.substr(0, name.find('\v')))) return reason;
        }
        break;
    }
    table_.start(tag);
    depth_.start(token.name, tag);
    return nullptr;
  }

  const char* end_tag(const HtmlToken& token, Tag tag) {
    if (tag == Tag::kNoscript && noscripts_ > 0) --noscripts_;
    if (!in_conditional_ && token.name == "body") {
      // In <head>'s <noscript> gumbo ignores it; inside a table too.
      if (table_.unsure() || noscripts_ > 0) return "a </body> whose scope is unclear";
      if (!table_.open()) body_end_ = base_ + token.begin;
    }
    table_.end(token.name, tag);
    depth_.end(token.name);
    return nullptr;
  }

  static const HtmlAttribute* attribute(std::string_view source, const HtmlToken& token,
                                        std::string_view name) {
    for (const HtmlAttribute& a : token.attributes) {  // the first one wins, as in gumbo
      if (a.name_length == name.size() &&
          iequals(source.substr(a.name_offset, a.name_length), name)) {
        return &a;
      }
    }
    return nullptr;
  }

  // The decoded value of an attribute ("" without a value), or false to delegate.
  bool value_of(const HtmlAttribute* a, std::string* out) const {
    out->clear();
    if (a == nullptr || !a->has_value) return true;
    return decode_attribute_value(source_.substr(a->value_offset, a->value_length), out);
  }

  const char* link(const HtmlToken& token, std::string_view tag) {
    const HtmlAttribute* href = attribute(source_, token, "href");
    if (href == nullptr || !href->has_value) return nullptr;  // no value to splice
    HtmlLink link;
    std::size_t first_ref_end = 0;
    if (!decode_attribute_value(source_.substr(href->value_offset, href->value_length), &link.value,
                                &first_ref_end)) {
      return "a character reference or byte gumbo may decode differently";
    }
    // gumbo starts an unquoted value after a leading character reference; the
    // gumbo scanner widens it back, unless nothing is left after it.
    if (href->quote == 0 && first_ref_end == href->value_length) {
      return "an unquoted value that is one character reference";
    }
    std::string clicktrack;
    if (!value_of(attribute(source_, token, "data-msys-clicktrack"), &clicktrack) ||
        !value_of(attribute(source_, token, "data-msys-linkname"), &link.link_name)) {
      return "a character reference or byte gumbo may decode differently";
    }
    link.attr_offset = base_ + href->name_offset;
    link.value_offset = base_ + href->value_offset;
    link.value_length = href->value_length;
    link.quote = href->quote;
    link.tag.assign(tag);
    link.clicktrack_off = clicktrack == "0";
    link.in_conditional_comment = in_conditional_;
    shared_.out.links.push_back(std::move(link));
    return nullptr;
  }

  // <!--[if mso]> ... <![endif]-->: the inside as its own document, exactly
  // where the gumbo scanner takes it.
  const char* comment(const HtmlToken& token) {
    std::string_view raw = source_.substr(token.begin, token.end - token.begin);
    if (!raw.starts_with("<!--")) return nullptr;
    std::size_t content = 4;
    std::size_t content_end = raw.ends_with("-->") ? raw.size() - 3 : raw.size();
    if (content_end < content) return nullptr;
    std::string_view text = raw.substr(content, content_end - content);
    std::size_t lead = 0;
    while (lead < text.size() && is_html_space(text[lead])) ++lead;
    if (!istarts_with(text.substr(lead), "[if")) return nullptr;
    std::size_t open = text.find("]>", lead);
    if (open == npos) return nullptr;
    std::string_view inner = text.substr(open + 2);
    inner = inner.substr(0, std::min(inner.size(), ifind(inner, "<![endif]")));
    if (inner.find('<') == npos) return nullptr;
    if (!check_html_complexity(inner, guard_limits(shared_.limits), &shared_.guard).ok()) {
      return "a conditional comment over a complexity limit";
    }
    Walk nested(shared_, static_cast<std::size_t>(inner.data() - shared_.html.data()), inner.size(),
                /*in_conditional=*/true);
    return nested.run();
  }

  Shared& shared_;
  std::string_view source_;
  std::size_t base_;
  bool in_conditional_;
  HtmlTokenizer tokenizer_;
  TableModel table_;
  DepthModel depth_;
  int noscripts_ = 0;
  bool noscript_seen_ = false;
  std::optional<std::pair<std::size_t, std::size_t>> body_tag_;  // '<' and after '>'
  std::optional<std::size_t> body_end_;
};

class FastScanner final : public LinkScanner {
 public:
  explicit FastScanner(const conf::RewriteLimits& limits)
      : limits_(limits), gumbo_(make_gumbo_scanner(limits)) {}

  Result<HtmlScan> scan(std::string_view html) override {
    FastScanOutcome outcome = fast_scan(html, limits_);
    if (outcome.result) return std::move(*outcome.result);
    return gumbo_->scan(html);
  }

 private:
  const conf::RewriteLimits limits_;
  std::unique_ptr<LinkScanner> gumbo_;
};

}  // namespace

FastScanOutcome fast_scan(std::string_view html, const conf::RewriteLimits& limits) {
  FastScanOutcome outcome;
  // The gumbo scanner's own first checks, with its messages.
  if (html.size() > limits.max_html_part_bytes) {
    outcome.result.emplace(Error{"HTML part is " + std::to_string(html.size()) +
                                 " bytes, over the limit of " +
                                 std::to_string(limits.max_html_part_bytes)});
    return outcome;
  }
  HtmlGuardFindings findings;
  if (auto checked = check_html_complexity(html, guard_limits(limits), &findings); !checked) {
    outcome.result.emplace(checked.failure());
    return outcome;
  }
  if (html.find('\0') != npos) {
    outcome.delegated = "a NUL byte";
    return outcome;
  }
  // (Copied: conditional comments' guard calls continue the same findings.)
  const std::optional<std::size_t> guard_body_start = findings.body_tag_start;
  const std::optional<std::size_t> guard_body_end = findings.body_tag_end;

  HtmlScan scan;
  Walk::Shared shared{html, limits, findings, scan};
  Walk walk(shared, 0, html.size(), /*in_conditional=*/false);
  if (const char* reason = walk.run()) {
    outcome.delegated = reason;
    return outcome;
  }
  // gumbo reports the first real <body> tag, or (when content implied the
  // body before it) the guard's candidate: the same tag, or gumbo decides.
  auto body = walk.body_tag();
  if (body.has_value() != guard_body_start.has_value() ||
      (body && (body->first != *guard_body_start || body->second != *guard_body_end))) {
    outcome.delegated = "the guard and the tokenizer disagree on the <body> tag";
    return outcome;
  }
  if (body) scan.body_start_end = body->second;
  scan.body_end_start = walk.body_end();
  if (scan.body_start_end && scan.body_end_start && *scan.body_end_start < *scan.body_start_end) {
    scan.body_end_start.reset();
  }
  outcome.result.emplace(std::move(scan));
  return outcome;
}

std::unique_ptr<LinkScanner> make_fast_scanner(const conf::RewriteLimits& limits) {
  return std::make_unique<FastScanner>(limits);
}

std::unique_ptr<LinkScanner> make_scanner(const conf::RewriteLimits& limits) {
  if (limits.html_scanner == "gumbo") return make_gumbo_scanner(limits);
  return make_fast_scanner(limits);
}

}  // namespace trackrelay::rewrite
