// base/crypto.cc — random bytes and PBKDF2 password hashes (see crypto.h).
#include "base/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "base/encoding.h"

namespace trackrelay {

std::optional<std::string> random_bytes(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    return std::nullopt;
  }
  return raw;
}

std::string random_hex(std::size_t bytes) {
  auto raw = random_bytes(bytes);
  return raw ? hex_encode(*raw) : std::string();
}

std::string make_password_hash(std::string_view password, std::string_view salt, int iterations) {
  std::string out(32, '\0');
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                    reinterpret_cast<const unsigned char*>(salt.data()),
                    static_cast<int>(salt.size()), iterations, EVP_sha256(), 32,
                    reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

bool verify_password(const PasswordHash& h, std::string_view password) {
  const std::string got = make_password_hash(password, h.salt, h.iterations);
  return got.size() == h.hash.size() && CRYPTO_memcmp(got.data(), h.hash.data(), got.size()) == 0;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

}  // namespace trackrelay
