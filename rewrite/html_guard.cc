// rewrite/html_guard.cc — the linear pre-check in front of gumbo: a byte-level
// tag tokenizer that models the open-element stack (with the common implied
// end tags) and counts attributes per tag. See html_guard.h for why.
#include "rewrite/html_guard.h"

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "base/strings.h"

namespace trackrelay::rewrite {
namespace {

constexpr bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
constexpr bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

// FNV-1a of the lower-cased tag name: a cheap key for the modelled stack.
constexpr std::uint64_t key_of(std::string_view name) {
  std::uint64_t h = 14695981039346656037ull;
  for (char c : name) {
    h ^= static_cast<unsigned char>(ascii_lower(c));
    h *= 1099511628211ull;
  }
  return h;
}

using Keys = std::initializer_list<std::uint64_t>;

bool in(std::uint64_t key, Keys keys) {
  for (std::uint64_t k : keys) {
    if (k == key) return true;
  }
  return false;
}

constexpr std::uint64_t kA = key_of("a"), kP = key_of("p"), kLi = key_of("li"), kDd = key_of("dd"),
                        kDt = key_of("dt"), kTd = key_of("td"), kTh = key_of("th"),
                        kTr = key_of("tr"), kTable = key_of("table"), kTbody = key_of("tbody"),
                        kThead = key_of("thead"), kTfoot = key_of("tfoot"),
                        kOption = key_of("option"), kOptgroup = key_of("optgroup"),
                        kSvg = key_of("svg"), kMath = key_of("math"), kBody = key_of("body"),
                        kPlaintext = key_of("plaintext");

// Elements the model never pushes: void elements, and the document's own
// <html>/<head>/<body>, which gumbo never nests.
const Keys kVoid = {
    key_of("area"),     key_of("base"),    key_of("br"),    key_of("col"),     key_of("embed"),
    key_of("hr"),       key_of("img"),     key_of("input"), key_of("link"),    key_of("meta"),
    key_of("param"),    key_of("source"),  key_of("track"), key_of("wbr"),     key_of("keygen"),
    key_of("basefont"), key_of("bgsound"), key_of("frame"), key_of("image"),   key_of("isindex"),
    key_of("html"),     key_of("head"),    kBody,           key_of("frameset")};
// Raw text / RCDATA: their content is not markup (outside SVG/MathML).
const Keys kRawText = {key_of("script"),  key_of("style"),    key_of("xmp"),      key_of("iframe"),
                       key_of("noembed"), key_of("noframes"), key_of("textarea"), key_of("title")};
// Start tags that close an open <p>.
const Keys kClosesP = {kP,
                       key_of("div"),
                       key_of("table"),
                       key_of("ul"),
                       key_of("ol"),
                       key_of("dl"),
                       key_of("h1"),
                       key_of("h2"),
                       key_of("h3"),
                       key_of("h4"),
                       key_of("h5"),
                       key_of("h6"),
                       key_of("pre"),
                       key_of("form"),
                       key_of("blockquote"),
                       key_of("center"),
                       key_of("section"),
                       key_of("article"),
                       key_of("aside"),
                       key_of("header"),
                       key_of("footer"),
                       key_of("nav"),
                       key_of("main"),
                       key_of("address"),
                       key_of("fieldset"),
                       key_of("figure"),
                       key_of("figcaption"),
                       key_of("menu"),
                       key_of("dir"),
                       key_of("details"),
                       key_of("summary"),
                       key_of("listing"),
                       key_of("hgroup"),
                       key_of("dialog"),
                       kLi,
                       kDd,
                       kDt};
// Scope boundaries: an implied end tag never reaches past these.
const Keys kBoundary = {kTable,
                        key_of("td"),
                        key_of("th"),
                        key_of("caption"),
                        key_of("applet"),
                        key_of("marquee"),
                        key_of("object"),
                        key_of("template"),
                        kSvg,
                        kMath,
                        key_of("button")};

class Model {
 public:
  explicit Model(const HtmlGuardLimits& limits) : limits_(limits) {}

  Result<void> start(std::uint64_t key, bool self_closing) {
    if (in(key, kVoid) || (foreign_ > 0 && self_closing)) return {};
    unsigned kind = kind_of(key);
    if (in(key, kClosesP)) close_nearest(kP_, 0);
    if (kind & kLi_) close_nearest(kLi_, kList_);
    if (kind & kDdDt_) close_nearest(kDdDt_, kDl_);
    if (kind & kCell_) close_nearest(kCell_, kTr_);
    // Table-structure tags close open cells: they search through <td>/<th>.
    if (kind & kTr_) close_nearest(kTr_, kSection_, kCell_);
    if (kind & kSection_) close_nearest(kSection_, 0, kCell_);
    // <table> directly in a table (not in a cell) ends the open table.
    if (kind & kTable_) close_nearest(kTable_, 0);
    if ((key == kOption || key == kOptgroup) && !stack_.empty() && stack_.back().key == kOption) {
      pop_to(stack_.size() - 1);
    }
    if (kind & kA_) close_nearest(kA_, 0);
    stack_.push_back({key, kind});
    if (kind & kForeign_) ++foreign_;
    if (stack_.size() > static_cast<std::size_t>(limits_.max_depth)) {
      return Error{"HTML elements nested deeper than " + std::to_string(limits_.max_depth) +
                       " levels (checked before parsing)",
                   Errc::kLimit};
    }
    return {};
  }

  std::size_t depth() const { return stack_.size(); }

  void end(std::uint64_t key) {
    for (std::size_t i = stack_.size(); i-- > 0;) {
      if (stack_[i].key == key) {
        pop_to(i);
        return;
      }
    }
  }

  bool foreign() const { return foreign_ > 0; }

 private:
  // Kinds of element the implied-end-tag rules care about (bit flags).
  static constexpr unsigned kP_ = 1, kLi_ = 2, kDdDt_ = 4, kCell_ = 8, kTr_ = 16, kSection_ = 32,
                            kTable_ = 64, kA_ = 128, kBoundary_ = 256, kList_ = 512, kDl_ = 1024,
                            kForeign_ = 2048;

  static unsigned kind_of(std::uint64_t key) {
    unsigned kind = 0;
    if (key == kP) kind |= kP_;
    if (key == kLi) kind |= kLi_;
    if (key == kDd || key == kDt) kind |= kDdDt_;
    if (key == kTd || key == kTh) kind |= kCell_;
    if (key == kTr) kind |= kTr_;
    if (key == kTbody || key == kThead || key == kTfoot) kind |= kSection_;
    if (key == kTable) kind |= kTable_;
    if (key == kA) kind |= kA_;
    if (in(key, kBoundary)) kind |= kBoundary_;
    if (key == key_of("ul") || key == key_of("ol")) kind |= kList_;
    if (key == key_of("dl")) kind |= kDl_;
    if (key == kSvg || key == kMath) kind |= kForeign_;
    return kind;
  }

  // Pops up to and including the nearest element of a `targets` kind, unless
  // a boundary (scope limit) or a `stops` kind not in `through` comes first.
  void close_nearest(unsigned targets, unsigned stops, unsigned through = 0) {
    for (std::size_t i = stack_.size(); i-- > 0;) {
      unsigned kind = stack_[i].kind;
      if (kind & targets) {
        pop_to(i);
        return;
      }
      if (kind & through) continue;
      if (kind & (kBoundary_ | stops)) return;
    }
  }

  void pop_to(std::size_t i) {
    while (stack_.size() > i) {
      if (stack_.back().kind & kForeign_) --foreign_;
      stack_.pop_back();
    }
  }

  struct Open {
    std::uint64_t key;
    unsigned kind;
  };
  const HtmlGuardLimits& limits_;
  std::vector<Open> stack_;
  int foreign_ = 0;
};

// Position just after the end tag `</name` closing a raw-text element, or npos.
std::size_t skip_raw_text(std::string_view html, std::size_t from, std::string_view name) {
  for (std::size_t i = html.find("</", from); i != std::string_view::npos;
       i = html.find("</", i + 2)) {
    std::size_t after = i + 2 + name.size();
    if (after <= html.size() && iequals(html.substr(i + 2, name.size()), name) &&
        (after == html.size() || is_space(html[after]) || html[after] == '/' ||
         html[after] == '>')) {
      return after;
    }
  }
  return std::string_view::npos;
}

// A tag's attributes, as the HTML tokenizer splits them.
struct TagAttributes {
  std::size_t count = 0;
  bool self_closing = false;
  bool closed = false;  // ended by '>' (not by the end of the input)
};

// Scans from the end of the tag name at i to just after its '>' (or the end).
TagAttributes scan_attributes(std::string_view html, std::size_t& i) {
  constexpr std::size_t npos = std::string_view::npos;
  const std::size_t n = html.size();
  TagAttributes t;
  while (i < n) {
    while (i < n && (is_space(html[i]) || html[i] == '/')) {
      t.self_closing = html[i] == '/' && i + 1 < n && html[i + 1] == '>';
      ++i;
    }
    if (i >= n) break;
    if (html[i] == '>') {
      ++i;
      t.closed = true;
      break;
    }
    t.self_closing = false;
    ++t.count;
    ++i;  // the first character of a name may be anything, even '='
    while (i < n && !is_space(html[i]) && html[i] != '/' && html[i] != '>' && html[i] != '=') ++i;
    while (i < n && is_space(html[i])) ++i;
    if (i < n && html[i] == '=') {
      ++i;
      while (i < n && is_space(html[i])) ++i;
      if (i < n && (html[i] == '"' || html[i] == '\'')) {
        std::size_t close = html.find(html[i], i + 1);
        i = close == npos ? n : close + 1;
      } else {
        while (i < n && !is_space(html[i]) && html[i] != '>') ++i;
      }
    }
  }
  return t;
}

}  // namespace

Result<void> check_html_complexity(std::string_view html, const HtmlGuardLimits& limits,
                                   HtmlGuardFindings* findings) {
  constexpr std::size_t npos = std::string_view::npos;
  const std::size_t n = html.size();
  Model model(limits);
  // Budgets carry over between calls for one part (its conditional comments).
  std::size_t pairs = findings != nullptr ? findings->attribute_pairs : 0;
  std::size_t work = findings != nullptr ? findings->depth_work : 0;
  std::size_t i = 0;
  while (i < n) {
    std::size_t lt = html.find('<', i);
    if (lt == npos || lt + 1 >= n) break;
    i = lt + 1;
    char c = html[i];
    if (c == '!' || c == '?') {
      std::size_t e = html.substr(i, 3) == "!--" ? html.find("-->", i + 1)
                      : (model.foreign() && html.substr(i, 8) == "![CDATA[") ? html.find("]]>", i)
                                                                             : html.find('>', i);
      i = e == npos ? n : e + 1;
      continue;
    }
    bool is_end = c == '/';
    if (is_end) ++i;
    if (i >= n || !is_alpha(html[i])) continue;  // text, or a bogus comment gumbo drops
    std::size_t name_start = i;
    while (i < n && !is_space(html[i]) && html[i] != '/' && html[i] != '>') ++i;
    std::string_view name = html.substr(name_start, i - name_start);
    const TagAttributes tag = scan_attributes(html, i);
    const std::size_t attrs = tag.count;
    const bool self_closing = tag.self_closing;
    const bool closed = tag.closed;
    if (attrs > limits.max_attributes_per_tag) {
      return Error{"an HTML tag has " + std::to_string(attrs) + " attributes (limit " +
                       std::to_string(limits.max_attributes_per_tag) + ")",
                   Errc::kLimit};
    }
    pairs += attrs * (attrs - (attrs > 0 ? 1 : 0)) / 2;
    if (pairs > limits.max_attribute_pairs) {
      return Error{"HTML tags carry too many attributes to parse in reasonable time", Errc::kLimit};
    }
    work += model.depth() + 1;
    if (work > limits.max_depth_work) {
      return Error{"HTML markup too deeply nested for its size to parse in reasonable time",
                   Errc::kLimit};
    }
    std::uint64_t key = key_of(name);
    if (is_end) {
      model.end(key);
      continue;
    }
    if (!model.foreign()) {
      if (key == kPlaintext) break;  // everything after it is text
      if (in(key, kRawText)) {
        i = skip_raw_text(html, i, name);
        if (i == npos) break;
        continue;
      }
    }
    if (key == kBody && closed && !model.foreign() && findings != nullptr &&
        !findings->body_tag_start) {
      findings->body_tag_start = lt;
      findings->body_tag_end = i;
    }
    if (auto started = model.start(key, self_closing); !started) return started;
  }
  if (findings != nullptr) {
    findings->attribute_pairs = pairs;
    findings->depth_work = work;
  }
  return {};
}

}  // namespace trackrelay::rewrite
