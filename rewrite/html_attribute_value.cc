// rewrite/html_attribute_value.cc — attribute values decoded exactly as
// gumbo 0.10.1 decodes them, for the character references and bytes this
// file can decode exactly; everything else is refused so that the fast
// scanner hands the part to gumbo. (Declared in html_tokenizer.h.)
//
// Measured against gumbo: bytes it replaces with U+FFFD (C0/C1 controls,
// noncharacters, surrogates, invalid UTF-8) are refused; CR LF and CR become
// LF; a legacy reference without ';' stays as written before '=' or an
// alphanumeric (the spec's attribute rule: `&ampx`, `&copy=`, `&notit;`).
#include <array>
#include <cstdint>

#include "base/strings.h"
#include "rewrite/html_tokenizer.h"

namespace trackrelay::rewrite {
namespace {

constexpr bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
constexpr bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
constexpr bool is_alnum(char c) {
  return is_alpha(c) || is_digit(c);
}
constexpr bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

namespace {

// Named references the spec matches without a ';' (legacy), longest first is
// not needed: the caller looks for the longest prefix.
constexpr std::array<std::string_view, 106> kLegacy = {
    "AElig",  "AMP",    "Aacute", "Acirc",  "Agrave", "Aring",  "Atilde", "Auml",   "COPY",
    "Ccedil", "ETH",    "Eacute", "Ecirc",  "Egrave", "Euml",   "GT",     "Iacute", "Icirc",
    "Igrave", "Iuml",   "LT",     "Ntilde", "Oacute", "Ocirc",  "Ograve", "Oslash", "Otilde",
    "Ouml",   "QUOT",   "REG",    "THORN",  "Uacute", "Ucirc",  "Ugrave", "Uuml",   "Yacute",
    "aacute", "acirc",  "acute",  "aelig",  "agrave", "amp",    "aring",  "atilde", "auml",
    "brvbar", "ccedil", "cedil",  "cent",   "copy",   "curren", "deg",    "divide", "eacute",
    "ecirc",  "egrave", "eth",    "euml",   "frac12", "frac14", "frac34", "gt",     "iacute",
    "icirc",  "iexcl",  "igrave", "iquest", "iuml",   "laquo",  "lt",     "macr",   "micro",
    "middot", "nbsp",   "not",    "ntilde", "oacute", "ocirc",  "ograve", "ordf",   "ordm",
    "oslash", "otilde", "ouml",   "para",   "plusmn", "pound",  "quot",   "raquo",  "reg",
    "sect",   "shy",    "sup1",   "sup2",   "sup3",   "szlig",  "thorn",  "times",  "uacute",
    "ucirc",  "ugrave", "uml",    "uuml",   "yacute", "yen",    "yuml"};

struct Known {
  std::string_view name;
  std::string_view text;
  bool legacy;  // also without ';'
};
constexpr std::array<Known, 10> kKnown = {{{"amp", "&", true},
                                           {"AMP", "&", true},
                                           {"lt", "<", true},
                                           {"LT", "<", true},
                                           {"gt", ">", true},
                                           {"GT", ">", true},
                                           {"quot", "\"", true},
                                           {"QUOT", "\"", true},
                                           {"nbsp", "\xC2\xA0", true},
                                           {"apos", "'", false}}};

const Known* known(std::string_view name) {
  for (const Known& k : kKnown) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

// Code points gumbo passes through unchanged (no replacement, no remapping).
constexpr bool ordinary(std::uint32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\f') return true;
  if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) return false;
  if (cp >= 0xD800 && cp <= 0xDFFF) return false;
  if (cp >= 0xFDD0 && cp <= 0xFDEF) return false;
  if ((cp & 0xFFFE) == 0xFFFE) return false;
  return cp <= 0x10FFFF;
}

void append_utf8(std::uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// A strict UTF-8 sequence at raw[i] whose code point is ordinary: its length, else 0.
std::size_t utf8_length(std::string_view raw, std::size_t i) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(raw[k]); };
  unsigned char c = b(i);
  std::size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
  if (len == 0 || c > 0xF4 || i + len > raw.size()) return 0;
  std::uint32_t cp = c & (0x7F >> len);
  for (std::size_t k = 1; k < len; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return 0;  // overlong
  return ordinary(cp) ? len : 0;
}

// What became of one character reference.
enum class Ref { kDecoded, kAsWritten, kRefused };

// "&#..." at raw[amp]: decoded onto *out with *next just after it; as written
// ("&#" without digits); or refused (a code point gumbo would replace).
Ref numeric_reference(std::string_view raw, std::size_t amp, std::string* out, std::size_t* next) {
  const std::size_t n = raw.size();
  std::size_t k = amp + 2;
  bool hex = k < n && (raw[k] == 'x' || raw[k] == 'X');
  if (hex) ++k;
  std::size_t digits = k;
  while (k < n && (hex ? is_hex(raw[k]) : is_digit(raw[k]))) ++k;
  if (k == digits) return Ref::kAsWritten;
  if (k - digits > 6) return Ref::kRefused;
  std::uint32_t cp = 0;
  for (std::size_t d = digits; d < k; ++d) {
    char h = raw[d];
    std::uint32_t v = is_digit(h) ? h - '0' : (ascii_lower(h) - 'a' + 10);
    cp = cp * (hex ? 16 : 10) + v;
  }
  if (!ordinary(cp)) return Ref::kRefused;
  if (k < n && raw[k] == ';') ++k;
  append_utf8(cp, out);
  *next = k;
  return Ref::kDecoded;
}

// "&name;" or a legacy "&name" at raw[amp] (an alphanumeric follows the '&'):
// decoded onto *out with *next just after it; as written (no legacy name, or
// one followed by an alphanumeric or '='); or refused (a name this file does
// not know, maybe one of the ~2,200 others).
Ref named_reference(std::string_view raw, std::size_t amp, std::string* out, std::size_t* next) {
  const std::size_t n = raw.size();
  const std::size_t j = amp + 1;
  std::size_t r = j;
  while (r < n && is_alnum(raw[r])) ++r;
  std::string_view run = raw.substr(j, r - j);
  if (r < n && raw[r] == ';') {
    const Known* k = known(run);
    if (k == nullptr) return Ref::kRefused;
    out->append(k->text);
    *next = r + 1;
    return Ref::kDecoded;
  }
  std::size_t longest = 0;
  for (std::string_view name : kLegacy) {
    if (name.size() > longest && run.starts_with(name)) longest = name.size();
  }
  if (longest == 0 || longest < run.size() || (r < n && raw[r] == '=')) return Ref::kAsWritten;
  const Known* k = known(run);
  if (k == nullptr || !k->legacy) return Ref::kRefused;
  out->append(k->text);
  *next = r;
  return Ref::kDecoded;
}

}  // namespace

bool decode_attribute_value(std::string_view raw, std::string* out, std::size_t* first_ref_end) {
  out->clear();
  if (first_ref_end != nullptr) *first_ref_end = 0;
  const std::size_t n = raw.size();
  std::size_t i = 0;
  while (i < n) {
    char c = raw[i];
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) {
      std::size_t len = utf8_length(raw, i);
      if (len == 0) return false;
      out->append(raw.substr(i, len));
      i += len;
      continue;
    }
    if (c == '\r') {
      out->push_back('\n');
      i += (i + 1 < n && raw[i + 1] == '\n') ? 2 : 1;
      continue;
    }
    if ((u < 0x20 && c != '\t' && c != '\n' && c != '\f') || u == 0x7F) return false;
    Ref ref = Ref::kAsWritten;
    std::size_t next = i + 1;
    if (c == '&' && i + 1 < n && raw[i + 1] == '#') {
      ref = numeric_reference(raw, i, out, &next);
    } else if (c == '&' && i + 1 < n && is_alnum(raw[i + 1])) {
      ref = named_reference(raw, i, out, &next);
    }
    if (ref == Ref::kRefused) return false;
    if (ref == Ref::kAsWritten) {
      out->push_back(c);  // an ordinary byte, or a '&' that starts no reference
      ++i;
      continue;
    }
    if (i == 0 && first_ref_end != nullptr) *first_ref_end = next;
    i = next;
  }
  return true;
}

}  // namespace trackrelay::rewrite
