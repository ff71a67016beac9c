// relay/auth.cc — PBKDF2 password hashes, the credential table, base64 and
// AUTH PLAIN decoding (see auth.h).
// May call: base/, OpenSSL.
#include "relay/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace trackrelay::relay {

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
  std::string out(text.size() / 4 * 3 + 1, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return Error{"bad base64"};
  std::size_t len = static_cast<std::size_t>(n);
  // EVP_DecodeBlock counts padding as zero bytes.
  if (text.ends_with("==")) {
    len -= 2;
  } else if (text.ends_with("=")) {
    len -= 1;
  }
  out.resize(len);
  return out;
}

std::string make_password_hash(std::string_view password, std::string_view salt, int iterations) {
  std::string out(32, '\0');
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                    reinterpret_cast<const unsigned char*>(salt.data()),
                    static_cast<int>(salt.size()), iterations, EVP_sha256(), 32,
                    reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

Result<PasswordHash> parse_password_hash(std::string_view text) {
  return parse_password_hash_format(text);
}

bool verify_password(const PasswordHash& h, std::string_view password) {
  const std::string got = make_password_hash(password, h.salt, h.iterations);
  return got.size() == h.hash.size() && CRYPTO_memcmp(got.data(), h.hash.data(), got.size()) == 0;
}

Result<Credentials> Credentials::parse(const std::vector<std::string>& entries) {
  Credentials c;
  for (const std::string& e : entries) {
    const std::size_t colon = e.find(':');
    if (colon == std::string::npos || colon == 0) {
      return Error{"relay.auth: expected 'user:pbkdf2-sha256$...' entries"};
    }
    auto h = parse_password_hash(std::string_view(e).substr(colon + 1));
    if (!h) return Error{"relay.auth: user '" + e.substr(0, colon) + "': " + h.error()};
    c.users_.push_back(User{e.substr(0, colon), std::move(*h)});
  }
  return c;
}

bool Credentials::check(std::string_view user, std::string_view password) const {
  for (const User& u : users_) {
    if (u.name == user) return verify_password(u.hash, password);
  }
  // Same work for an unknown user, so timing does not tell which users exist.
  if (!users_.empty()) (void)verify_password(users_.front().hash, password);
  return false;
}

Result<PlainCredentials> decode_plain(std::string_view base64_response) {
  auto raw = base64_decode(base64_response);
  if (!raw) return Error{raw.error()};
  const std::size_t a = raw->find('\0');
  const std::size_t b = a == std::string::npos ? a : raw->find('\0', a + 1);
  if (b == std::string::npos) return Error{"malformed PLAIN response"};
  PlainCredentials c;
  c.user = raw->substr(a + 1, b - a - 1);
  c.password = raw->substr(b + 1);
  const std::string authzid = raw->substr(0, a);
  if (!authzid.empty() && authzid != c.user) return Error{"authorization identity not allowed"};
  return c;
}

}  // namespace trackrelay::relay
