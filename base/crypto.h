// base/crypto.h — the cryptography several libraries share: random bytes and
// random hex identifiers, and PBKDF2-HMAC-SHA256 password hashes (relay.auth
// and dashboard.admin_password_hash; their text format is password_hash.h),
// and HMAC-SHA256 (webhook signatures).
// May call: base/encoding.h, OpenSSL (libcrypto).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "base/password_hash.h"

namespace trackrelay {

// `bytes` cryptographically random bytes; nullopt when OpenSSL has none.
std::optional<std::string> random_bytes(std::size_t bytes);

// `bytes` random bytes as lower-case hex (2 * bytes digits); "" when OpenSSL
// has no randomness.
std::string random_hex(std::size_t bytes);

// PBKDF2-HMAC-SHA256 of `password`: 32 raw bytes.
std::string make_password_hash(std::string_view password, std::string_view salt, int iterations);

// Whether `password` hashes to `h` (compared in constant time).
bool verify_password(const PasswordHash& h, std::string_view password);

// HMAC-SHA256 of `data` under `key`: 32 raw bytes (webhook signatures).
std::string hmac_sha256(std::string_view key, std::string_view data);

}  // namespace trackrelay
