// base/encoding.cc — base64, base64url and hex (see encoding.h).
#include "base/encoding.h"

#include <openssl/evp.h>

#include <cctype>
#include <cstdint>

namespace trackrelay {

std::string base64_encode(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(raw.data()),
                                static_cast<int>(raw.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return Error{"bad base64 length"};
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::size_t pad = 0;
  if (text.ends_with("==")) {
    pad = 2;
  } else if (text.ends_with("=")) {
    pad = 1;
  }
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    std::uint32_t group = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const bool padding = i + 4 == text.size() && j >= 4 - pad;
      const int v = padding ? 0 : value(text[i + j]);
      if (v < 0) return Error{"bad base64"};
      group = (group << 6) | static_cast<std::uint32_t>(v);
    }
    out.push_back(static_cast<char>((group >> 16) & 0xFF));
    out.push_back(static_cast<char>((group >> 8) & 0xFF));
    out.push_back(static_cast<char>(group & 0xFF));
  }
  out.resize(out.size() - pad);
  return out;
}

std::string base64url_encode(std::string_view raw) {
  std::string out = base64_encode(raw);
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

Result<std::string> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return Error{"bad base64url length"};
  std::string std64(text);
  for (char& c : std64) {
    if (c == '-') {
      c = '+';
    } else if (c == '_') {
      c = '/';
    } else if (!std::isalnum(static_cast<unsigned char>(c))) {
      return Error{"character outside the base64url alphabet"};
    }
  }
  std64.append((4 - std64.size() % 4) % 4, '=');
  auto out = base64_decode(std64);
  if (!out) return Error{"invalid base64url"};
  if (base64url_encode(*out) != text) return Error{"non-canonical base64url"};
  return out;
}

std::string hex_encode(const unsigned char* raw, std::size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(kHex[raw[i] >> 4]);
    out.push_back(kHex[raw[i] & 15]);
  }
  return out;
}

std::string hex_encode(std::string_view raw) {
  return hex_encode(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
}

}  // namespace trackrelay
