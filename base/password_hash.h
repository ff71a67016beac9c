// base/password_hash.h — the format of a PBKDF2 password hash,
// "pbkdf2-sha256$ITERATIONS$SALT$HASH" with SALT and HASH in standard base64
// (Django's and passlib's format). Pure parsing, no crypto: conf/ validates
// relay.auth and dashboard.admin_password_hash with it, relay/auth.h verifies
// passwords against what it returns. Calls nothing.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace trackrelay {

struct PasswordHash {
  int iterations = 0;
  std::string salt;  // raw bytes
  std::string hash;  // raw bytes
};

// Standard base64 (RFC 4648 section 4) with padding; the error says why not.
inline Result<std::string> base64_decode_strict(std::string_view text) {
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
      const char c = text[i + j];
      const bool padding = i + 4 == text.size() && j >= 4 - pad;
      const int v = padding ? 0 : value(c);
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

// Parses "pbkdf2-sha256$ITER$SALT$HASH"; the error says what is wrong.
inline Result<PasswordHash> parse_password_hash_format(std::string_view text) {
  constexpr std::string_view kPrefix = "pbkdf2-sha256$";
  constexpr std::string_view kExpected = "expected pbkdf2-sha256$ITERATIONS$SALT$HASH";
  if (!text.starts_with(kPrefix)) return Error{std::string(kExpected)};
  text.remove_prefix(kPrefix.size());
  const std::size_t a = text.find('$');
  const std::size_t b = a == std::string_view::npos ? a : text.find('$', a + 1);
  if (b == std::string_view::npos) return Error{std::string(kExpected)};
  PasswordHash h;
  const std::string_view iter = text.substr(0, a);
  const auto [end, ec] = std::from_chars(iter.data(), iter.data() + iter.size(), h.iterations);
  if (ec != std::errc() || end != iter.data() + iter.size() || h.iterations < 1000) {
    return Error{"iterations must be a number >= 1000"};
  }
  auto salt = base64_decode_strict(text.substr(a + 1, b - a - 1));
  auto hash = base64_decode_strict(text.substr(b + 1));
  if (!salt || salt->size() < 8) return Error{"the salt must be base64 of at least 8 bytes"};
  if (!hash || hash->size() != 32) return Error{"the hash must be base64 of 32 bytes"};
  h.salt = std::move(*salt);
  h.hash = std::move(*hash);
  return h;
}

}  // namespace trackrelay
