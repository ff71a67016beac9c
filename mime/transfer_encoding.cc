// mime/transfer_encoding.cc — see transfer_encoding.h.
#include "mime/transfer_encoding.h"

#include <array>
#include <utility>

#include "base/strings.h"

namespace trackrelay::mime {
namespace {

// Step 1: comments out, quotes off. nullopt when unbalanced.
std::optional<std::string> without_comments(std::string_view v) {
  std::string out;
  int depth = 0;
  bool quoted = false;
  for (char c : v) {
    if (quoted) {
      if (c == '"') {
        quoted = false;
      } else {
        out.push_back(c);
      }
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      if (depth == 0) return std::nullopt;
      --depth;
    } else if (depth == 0 && c == '"') {
      quoted = true;
    } else if (depth == 0) {
      out.push_back(c);
    }
  }
  if (depth != 0 || quoted) return std::nullopt;
  return out;
}

constexpr std::array<std::pair<std::string_view, TransferEncoding>, 5> kTable = {{
    {"7bit", TransferEncoding::kSevenBit},
    {"8bit", TransferEncoding::kEightBit},
    {"binary", TransferEncoding::kBinary},
    {"quotedprintable", TransferEncoding::kQuotedPrintable},
    {"base64", TransferEncoding::kBase64},
}};

}  // namespace

std::optional<std::string> transfer_encoding_key(std::string_view field_value) {
  auto v = without_comments(field_value);
  if (!v) return std::nullopt;
  std::string_view s = trim(*v);
  while (!s.empty() && (s.back() == ';' || s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  std::string key;
  for (char c : to_lower(s)) {
    if (c != ' ' && c != '\t' && c != '-' && c != '_') key.push_back(c);
  }
  if (key == "7bits" || key == "8bits") key.pop_back();
  return key;
}

std::optional<TransferEncoding> transfer_encoding_of(std::string_view field_value) {
  auto key = transfer_encoding_key(field_value);
  if (!key) return std::nullopt;
  if (key->empty()) return TransferEncoding::kSevenBit;
  for (const auto& [name, encoding] : kTable) {
    if (*key == name) return encoding;
  }
  return std::nullopt;
}

std::string_view transfer_encoding_name(TransferEncoding e) {
  switch (e) {
    case TransferEncoding::kSevenBit:
      return "7bit";
    case TransferEncoding::kEightBit:
      return "8bit";
    case TransferEncoding::kBinary:
      return "binary";
    case TransferEncoding::kQuotedPrintable:
      return "quoted-printable";
    case TransferEncoding::kBase64:
      return "base64";
  }
  return "7bit";
}

}  // namespace trackrelay::mime
