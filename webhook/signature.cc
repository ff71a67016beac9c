// webhook/signature.cc — see signature.h. May call: base/, OpenSSL.
#include "webhook/signature.h"

#include <openssl/crypto.h>

#include <charconv>

#include "base/crypto.h"
#include "base/encoding.h"

namespace trackrelay::webhook {

std::string signature(std::string_view secret, std::int64_t unix_seconds, std::string_view body) {
  const std::string t = std::to_string(unix_seconds);
  std::string signed_text = t;
  signed_text += '.';
  signed_text.append(body);
  return "t=" + t + ",v1=" + hex_encode(hmac_sha256(secret, signed_text));
}

bool verify_signature(std::string_view secret, std::string_view header, std::string_view body,
                      std::int64_t now_s, std::int64_t tolerance_s) {
  if (!header.starts_with("t=")) return false;
  const auto comma = header.find(",v1=");
  if (comma == std::string_view::npos) return false;
  std::int64_t t = 0;
  const std::string_view ts = header.substr(2, comma - 2);
  auto [end, ec] = std::from_chars(ts.data(), ts.data() + ts.size(), t);
  if (ec != std::errc() || end != ts.data() + ts.size()) return false;
  if (t > now_s + tolerance_s || t < now_s - tolerance_s) return false;
  const std::string want = signature(secret, t, body);
  const std::string_view got = header;
  return got.size() == want.size() && CRYPTO_memcmp(got.data(), want.data(), want.size()) == 0;
}

std::string new_secret() {
  return random_hex(32);
}

}  // namespace trackrelay::webhook
