// base/password_hash.h — the format of a PBKDF2 password hash,
// "pbkdf2-sha256$ITERATIONS$SALT$HASH" with SALT and HASH in standard base64
// (Django's and passlib's format). Parsing only: conf/ validates relay.auth
// and dashboard.admin_password_hash with it, base/crypto.h verifies passwords
// against what it returns. May call: base/encoding.h.
#pragma once

#include <charconv>
#include <string>
#include <string_view>

#include "base/encoding.h"
#include "base/result.h"

namespace trackrelay {

struct PasswordHash {
  int iterations = 0;
  std::string salt;  // raw bytes
  std::string hash;  // raw bytes
};

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
  auto salt = base64_decode(text.substr(a + 1, b - a - 1));
  auto hash = base64_decode(text.substr(b + 1));
  if (!salt || salt->size() < 8) return Error{"the salt must be base64 of at least 8 bytes"};
  if (!hash || hash->size() != 32) return Error{"the hash must be base64 of 32 bytes"};
  h.salt = std::move(*salt);
  h.hash = std::move(*hash);
  return h;
}

}  // namespace trackrelay
