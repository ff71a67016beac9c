// rewrite/html_tokenizer.cc — the byte-level WHATWG-style tokenizer behind
// the fast LinkScanner (attribute decoding is html_attribute_value.cc). See
// html_tokenizer.h for what it owns and what not.
//
// States follow the spec's names. Every byte that ends a state is ASCII, so
// bytes >= 0x80 (valid UTF-8 or not) are ordinary characters here, as they
// are for gumbo, whose UTF-8 decoder never swallows an ASCII byte.
#include "rewrite/html_tokenizer.h"

#include <cstring>

#include "base/strings.h"

namespace trackrelay::rewrite {
namespace {

constexpr std::size_t npos = std::string_view::npos;

constexpr bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
// The tokenizer's whitespace; gumbo turns CR into LF before tokenizing.
constexpr bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}
constexpr bool ends_tag_name(char c) {
  return is_space(c) || c == '/' || c == '>';
}

std::size_t find_char(std::string_view s, std::size_t from, char c) {
  if (from >= s.size()) return npos;
  const void* p = std::memchr(s.data() + from, c, s.size() - from);
  return p == nullptr ? npos : static_cast<std::size_t>(static_cast<const char*>(p) - s.data());
}

// The attribute name state, from its first character at i: appends the
// attribute to attrs and counts parse errors in errors.
void attribute_name(std::string_view html, std::size_t& i, std::vector<HtmlAttribute>& attrs,
                    std::size_t& errors) {
  const std::size_t n = html.size();
  std::size_t start = i;
  for (; i < n; ++i) {
    char c = html[i];
    if (is_space(c) || c == '/' || c == '>' || (c == '=' && i != start)) break;
    if (c == '"' || c == '\'' || c == '<' || c == '=') ++errors;
  }
  HtmlAttribute a;
  a.name_offset = start;
  a.name_length = i - start;
  std::string_view nm = html.substr(start, a.name_length);
  for (const HtmlAttribute& b : attrs) {  // a duplicate is dropped by gumbo: an error
    if (b.name_length == a.name_length && iequals(html.substr(b.name_offset, b.name_length), nm)) {
      ++errors;
      break;
    }
  }
  attrs.push_back(a);
}

// How the before-attribute-value state ended.
enum class ValueEnd { kQuoted, kUnquoted, kTagEnd, kEof };

// The before-attribute-value state at html[i] (not whitespace): sets a's
// value; kTagEnd after a '>' with the value missing (consumed).
ValueEnd attribute_value(std::string_view html, std::size_t& i, HtmlAttribute& a,
                         std::size_t& errors) {
  const std::size_t n = html.size();
  const char c = html[i];
  if (c == '"' || c == '\'') {
    std::size_t close = find_char(html, i + 1, c);
    if (close == npos) return ValueEnd::kEof;
    a.value_offset = i + 1;
    a.value_length = close - i - 1;
    a.quote = c;
    a.has_value = true;
    i = close + 1;
    return ValueEnd::kQuoted;
  }
  if (c == '>') {
    ++errors;  // missing value
    ++i;
    return ValueEnd::kTagEnd;
  }
  a.value_offset = i;
  for (; i < n && !is_space(html[i]) && html[i] != '>'; ++i) {
    char v = html[i];
    if (v == '"' || v == '\'' || v == '<' || v == '=' || v == '`') ++errors;
  }
  if (i >= n) return ValueEnd::kEof;
  a.value_length = i - a.value_offset;
  a.has_value = true;
  return ValueEnd::kUnquoted;
}

// A token with no name or attributes, [begin, end).
void set_token(HtmlToken* token, HtmlTokenKind kind, std::size_t begin, std::size_t end) {
  token->kind = kind;
  token->begin = begin;
  token->end = end;
  token->name.clear();
  token->attributes.clear();
  token->self_closing = false;
}

// The comment states after "<!--" (kComment skips to the next '-' in the caller).
enum class CommentState { kStart, kStartDash, kComment, kEndDash, kEnd, kEndBang };

// The state after byte `c` in state `s` (not kComment); `*done` when `c` is
// the '>' that closes the comment; parse errors counted into *errors.
CommentState comment_step(CommentState s, char c, bool* done, std::size_t* errors) {
  using S = CommentState;
  switch (s) {
    case S::kStart:
    case S::kStartDash:
      if (c == '-') return s == S::kStart ? S::kStartDash : S::kEnd;
      if (c != '>') return S::kComment;
      ++*errors;  // <!--> or <!--->
      *done = true;
      return s;
    case S::kEndDash:
      return c == '-' ? S::kEnd : S::kComment;
    case S::kEnd:
      if (c == '>') {
        *done = true;
        return s;
      }
      ++*errors;
      if (c == '!') return S::kEndBang;
      return c == '-' ? S::kEnd : S::kComment;
    case S::kEndBang:
      if (c == '-') return S::kEndDash;
      if (c != '>') return S::kComment;
      *done = true;
      return s;
    case S::kComment:
      break;
  }
  return s;
}

// The script data states script_end() walks (the spec's "script data
// escaped" and "double escaped" families).
enum class ScriptState {
  kData,
  kEscaped,
  kEscapedDash,
  kEscapedDashDash,
  kDouble,
  kDoubleDash,
  kDoubleDashDash
};

// The state after byte `c` (not '<') in an escaped or double-escaped state.
ScriptState script_step(ScriptState s, char c) {
  using S = ScriptState;
  switch (s) {
    case S::kEscaped:
      return c == '-' ? S::kEscapedDash : s;
    case S::kEscapedDash:
      return c == '-' ? S::kEscapedDashDash : S::kEscaped;
    case S::kEscapedDashDash:
      return c == '>' ? S::kData : c == '-' ? s : S::kEscaped;
    case S::kDouble:
      return c == '-' ? S::kDoubleDash : s;
    case S::kDoubleDash:
      return c == '-' ? S::kDoubleDashDash : S::kDouble;
    case S::kDoubleDashDash:
      return c == '>' ? S::kData : c == '-' ? s : S::kDouble;
    case S::kData:
      break;
  }
  return s;
}

}  // namespace

bool HtmlTokenizer::next(HtmlToken* token) {
  const std::size_t n = html_.size();
  while (pos_ < n) {
    if (mode_ == HtmlTextMode::kPlaintext) {
      ++text_runs_;
      pos_ = n;
      return false;
    }
    if (mode_ != HtmlTextMode::kData) {
      std::size_t lt = mode_ == HtmlTextMode::kScriptData ? script_end(pos_) : raw_end(pos_);
      mode_ = HtmlTextMode::kData;
      if (lt == npos) {
        ++text_runs_;
        ++errors_;  // the end of the input inside the element
        pos_ = n;
        return false;
      }
      if (lt > pos_) ++text_runs_;
      return tag(lt, /*end_tag=*/true, token);
    }
    std::size_t lt = find_char(html_, pos_, '<');
    if (lt == npos) {
      ++text_runs_;
      pos_ = n;
      return false;
    }
    if (lt > pos_) ++text_runs_;
    if (lt + 1 >= n) {  // a '<' at the very end is text
      ++errors_;
      ++text_runs_;
      pos_ = n;
      return false;
    }
    char c = html_[lt + 1];
    if (is_alpha(c)) return tag(lt, /*end_tag=*/false, token);
    if (c == '/') {
      if (lt + 2 >= n) {  // "</" at the end: text
        ++errors_;
        ++text_runs_;
        pos_ = n;
        return false;
      }
      char d = html_[lt + 2];
      if (is_alpha(d)) return tag(lt, /*end_tag=*/true, token);
      ++errors_;
      if (d == '>') {  // "</>" is dropped
        pos_ = lt + 3;
        continue;
      }
      until_gt(lt, lt + 2, HtmlTokenKind::kBogusComment, token);
      return true;
    }
    if (c == '!') {
      if (html_.substr(lt + 2, 2) == "--") return comment(lt, token);
      if (istarts_with(html_.substr(lt + 2), "doctype")) {
        until_gt(lt, lt + 2, HtmlTokenKind::kDoctype, token);
        errors_ += token->end - token->begin;  // generous: a doctype is one small token
        return true;
      }
      // Also `<![CDATA[`: only foreign content has CDATA sections, and the
      // scanner leaves SVG and MathML to gumbo.
      ++errors_;
      until_gt(lt, lt + 2, HtmlTokenKind::kBogusComment, token);
      return true;
    }
    if (c == '?') {
      ++errors_;
      until_gt(lt, lt + 1, HtmlTokenKind::kBogusComment, token);
      return true;
    }
    ++errors_;  // '<' followed by anything else is text
    ++text_runs_;
    pos_ = lt + 1;
  }
  return false;
}

void HtmlTokenizer::set_text_mode(HtmlTextMode mode, std::string_view name) {
  mode_ = mode;
  end_name_.assign(name);
}

void HtmlTokenizer::until_gt(std::size_t lt, std::size_t from, HtmlTokenKind kind,
                             HtmlToken* token) {
  std::size_t gt = find_char(html_, from, '>');
  set_token(token, kind, lt, gt == npos ? html_.size() : gt + 1);
  pos_ = token->end;
}

bool HtmlTokenizer::comment(std::size_t lt, HtmlToken* token) {
  const std::size_t n = html_.size();
  CommentState s = CommentState::kStart;
  std::size_t end = n;
  bool closed = false;
  for (std::size_t i = lt + 4; i < n; ++i) {
    if (s == CommentState::kComment) {  // skip to the next '-'
      std::size_t dash = find_char(html_, i, '-');
      if (dash == npos) break;
      i = dash;
      s = CommentState::kEndDash;
      continue;
    }
    bool done = false;
    s = comment_step(s, html_[i], &done, &errors_);
    if (done) {
      end = i + 1;
      closed = true;
      break;
    }
  }
  if (!closed) ++errors_;  // the end of the input
  set_token(token, HtmlTokenKind::kComment, lt, end);
  pos_ = end;
  return true;
}

bool HtmlTokenizer::tag(std::size_t lt, bool end_tag, HtmlToken* token) {
  const std::size_t n = html_.size();
  std::size_t i = lt + (end_tag ? 2 : 1);
  std::size_t name_start = i;
  while (i < n && !ends_tag_name(html_[i])) ++i;
  if (i >= n) {  // the end of the input inside the tag: dropped
    ++errors_;
    pos_ = n;
    return false;
  }
  token->kind = end_tag ? HtmlTokenKind::kEndTag : HtmlTokenKind::kStartTag;
  token->name.assign(html_.substr(name_start, i - name_start));
  for (char& c : token->name) c = ascii_lower(c);
  token->attributes.clear();
  token->self_closing = false;
  if (!attributes(i, token)) {
    ++errors_;
    pos_ = n;
    return false;
  }
  if (end_tag && (!token->attributes.empty() || token->self_closing)) ++errors_;
  token->begin = lt;
  token->end = i;
  pos_ = i;
  return true;
}

// From the end of the tag name to just after the '>'. False at the end of the input.
bool HtmlTokenizer::attributes(std::size_t& i, HtmlToken* token) {
  enum class S { kBeforeName, kAfterName, kBeforeValue, kAfterQuoted, kSelfClosing };
  const std::size_t n = html_.size();
  auto& attrs = token->attributes;
  S s = S::kBeforeName;
  while (true) {
    while (i < n && is_space(html_[i])) ++i;
    if (i >= n) return false;
    char c = html_[i];
    switch (s) {
      case S::kBeforeName:
        if (c == '/') {
          ++i;
          s = S::kSelfClosing;
        } else if (c == '>') {
          ++i;
          return true;
        } else {
          attribute_name(html_, i, attrs, errors_);
          if (i >= n) return false;
          if (html_[i] == '=') {
            ++i;
            s = S::kBeforeValue;
          } else {
            s = is_space(html_[i]) ? S::kAfterName : S::kBeforeName;
          }
        }
        break;
      case S::kAfterName:
        if (c == '=') {
          ++i;
          s = S::kBeforeValue;
        } else {
          s = S::kBeforeName;  // '/', '>' or the next attribute's name
        }
        break;
      case S::kBeforeValue:
        switch (attribute_value(html_, i, attrs.back(), errors_)) {
          case ValueEnd::kEof:
            return false;
          case ValueEnd::kTagEnd:
            return true;
          case ValueEnd::kQuoted:
            s = S::kAfterQuoted;
            break;
          case ValueEnd::kUnquoted:
            s = S::kBeforeName;
            break;
        }
        break;
      case S::kAfterQuoted:
        // (Whitespace was skipped above; a character right after the quote is an error.)
        if (!is_space(html_[i - 1]) && c != '/' && c != '>') ++errors_;
        s = S::kBeforeName;
        break;
      case S::kSelfClosing:
        if (html_[i - 1] == '/' && c == '>') {
          token->self_closing = true;
          ++i;
          return true;
        }
        ++errors_;
        s = S::kBeforeName;
        break;
    }
  }
}

bool HtmlTokenizer::is_end_tag_here(std::size_t lt) const {
  std::size_t after = lt + 2 + end_name_.size();
  return after < html_.size() && html_[lt + 1] == '/' &&
         iequals(html_.substr(lt + 2, end_name_.size()), end_name_) && ends_tag_name(html_[after]);
}

std::size_t HtmlTokenizer::raw_end(std::size_t from) const {
  for (std::size_t lt = find_char(html_, from, '<'); lt != npos;
       lt = find_char(html_, lt + 1, '<')) {
    if (is_end_tag_here(lt)) return lt;
  }
  return npos;
}

// Script data with its escaped and double-escaped states (`<!-- <script>`).
std::size_t HtmlTokenizer::script_end(std::size_t from) {
  const std::size_t n = html_.size();
  ScriptState s = ScriptState::kData;
  // Letters after i, and whether they spell "script" followed by a tag-name end.
  auto script_word = [&](std::size_t at, std::size_t* end) {
    std::size_t j = at;
    while (j < n && is_alpha(html_[j])) ++j;
    *end = j;
    return j < n && ends_tag_name(html_[j]) && iequals(html_.substr(at, j - at), "script");
  };
  std::size_t i = from;
  while (i < n) {
    if (s == ScriptState::kData) {
      std::size_t lt = find_char(html_, i, '<');
      if (lt == npos) return npos;
      if (is_end_tag_here(lt)) return lt;
      if (html_.substr(lt, 4) == "<!--") {
        s = ScriptState::kEscapedDashDash;
        i = lt + 4;
      } else {
        i = lt + 1;
      }
      continue;
    }
    char c = html_[i];
    bool escaped = s == ScriptState::kEscaped || s == ScriptState::kEscapedDash ||
                   s == ScriptState::kEscapedDashDash;
    if (c == '<') {
      if (escaped) {
        if (is_end_tag_here(i)) return i;
        std::size_t end = 0;
        if (i + 1 < n && is_alpha(html_[i + 1]) && script_word(i + 1, &end)) {
          s = ScriptState::kDouble;
          i = end + 1;
        } else {
          s = ScriptState::kEscaped;
          i = i + 1;
        }
      } else {
        std::size_t end = 0;
        if (i + 1 < n && html_[i + 1] == '/' && script_word(i + 2, &end)) {
          s = ScriptState::kEscaped;
          i = end + 1;
        } else {
          s = ScriptState::kDouble;
          i = i + 1;
        }
      }
      continue;
    }
    s = script_step(s, c);
    ++i;
  }
  return npos;
}

}  // namespace trackrelay::rewrite
