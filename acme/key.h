// acme/key.h — P-256 keys and RFC 7515 JWS (ES256) for ACME requests.
//
// Owns: generating and reading P-256 keys (PEM, PKCS#8), the public key as a
// JWK (RFC 7517) and its thumbprint (RFC 7638), and signing a flattened JWS
// whose protected header carries either the JWK (newAccount) or the
// account URL (KID), as RFC 8555 §6.2 asks. No I/O. May call: base/
// (base64url), Boost.JSON, OpenSSL.
#pragma once

#include <openssl/evp.h>

#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"

namespace trackrelay::acme {

// A deleter calling OpenSSL's free function F: std::unique_ptr<X509, Free<X509_free>>.
template <auto F>
struct Free {
  template <typename T>
  void operator()(T* p) const {
    F(p);
  }
};

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

// The newest OpenSSL error as text ("" when none); clears the queue.
std::string openssl_error();

class Key {
 public:
  static Result<Key> generate();  // P-256
  // Reads a PEM private key; only P-256 keys are accepted.
  static Result<Key> from_pem(std::string_view pem);

  std::string private_pem() const;  // PKCS#8
  // {"crv":"P-256","kty":"EC","x":…,"y":…} with the members in lexicographic
  // order, as the thumbprint needs.
  std::string jwk() const;
  // base64url(SHA-256(jwk())): the thumbprint an HTTP-01 key authorization ends with.
  std::string thumbprint() const;
  // base64url of the raw 64-byte r||s ES256 signature of `data`.
  Result<std::string> sign(std::string_view data) const;
  EVP_PKEY* get() const { return pkey_.get(); }

 private:
  explicit Key(Pkey k) : pkey_(std::move(k)) {}
  Pkey pkey_;
};

// A flattened JWS JSON object (RFC 7515 §7.2.2) for an ACME POST to `url`:
// protected header {"alg":"ES256","nonce","url", and "kid" when `kid` is
// non-empty, else "jwk"}; `payload` is the JSON text, or "" for POST-as-GET.
Result<std::string> sign_request(const Key& key, std::string_view kid, std::string_view nonce,
                                 std::string_view url, std::string_view payload);

// token + "." + thumbprint (RFC 8555 §8.1).
std::string key_authorization(const Key& key, std::string_view token);

}  // namespace trackrelay::acme
