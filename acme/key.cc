// acme/key.cc — see key.h. May call: base/, Boost.JSON, OpenSSL.
#include "acme/key.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include <boost/json.hpp>

#include "base/encoding.h"

namespace trackrelay::acme {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
struct CtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct SigFree {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};

// A big number as exactly `width` big-endian bytes.
std::string fixed_bytes(const BIGNUM* n, int width) {
  std::string out(static_cast<std::size_t>(width), '\0');
  BN_bn2binpad(n, reinterpret_cast<unsigned char*>(out.data()), width);
  return out;
}

Result<std::string> coordinate(EVP_PKEY* k, const char* name) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(k, name, &raw) != 1) return Error{"no " + std::string(name)};
  std::unique_ptr<BIGNUM, BnFree> n(raw);
  return fixed_bytes(n.get(), 32);
}

bool is_p256(EVP_PKEY* k) {
  char group[64] = {};
  std::size_t len = 0;
  return EVP_PKEY_get_base_id(k) == EVP_PKEY_EC &&
         EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) ==
             1 &&
         std::string_view(group, len) == "prime256v1";
}

}  // namespace

std::string openssl_error() {
  const unsigned long e = ERR_get_error();
  std::string msg;
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    msg = buf;
  }
  ERR_clear_error();
  return msg;
}

Result<Key> Key::generate() {
  Pkey k(EVP_EC_gen("P-256"));
  if (!k) return Error{"cannot generate a P-256 key: " + openssl_error()};
  return Key(std::move(k));
}

Result<Key> Key::from_pem(std::string_view pem) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Pkey k(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!k) return Error{"not a PEM private key: " + openssl_error()};
  if (!is_p256(k.get())) return Error{"the account key is not a P-256 key"};
  return Key(std::move(k));
}

std::string Key::private_pem() const {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), pkey_.get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string Key::jwk() const {
  auto x = coordinate(pkey_.get(), OSSL_PKEY_PARAM_EC_PUB_X);
  auto y = coordinate(pkey_.get(), OSSL_PKEY_PARAM_EC_PUB_Y);
  if (!x || !y) return {};
  // Written by hand: RFC 7638 fixes member order and no whitespace.
  return R"({"crv":"P-256","kty":"EC","x":")" + base64url_encode(*x) + R"(","y":")" +
         base64url_encode(*y) + "\"}";
}

std::string Key::thumbprint() const {
  const std::string j = jwk();
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(j.data()), j.size(), digest);
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

Result<std::string> Key::sign(std::string_view data) const {
  std::unique_ptr<EVP_MD_CTX, CtxFree> ctx(EVP_MD_CTX_new());
  std::size_t len = 0;
  if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()),
                     data.size()) != 1) {
    return Error{"cannot sign: " + openssl_error()};
  }
  std::string der(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &len,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
    return Error{"cannot sign: " + openssl_error()};
  }
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<ECDSA_SIG, SigFree> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len)));
  if (!sig) return Error{"cannot decode the signature: " + openssl_error()};
  return base64url_encode(fixed_bytes(ECDSA_SIG_get0_r(sig.get()), 32) +
                          fixed_bytes(ECDSA_SIG_get0_s(sig.get()), 32));
}

Result<std::string> sign_request(const Key& key, std::string_view kid, std::string_view nonce,
                                 std::string_view url, std::string_view payload) {
  boost::json::object header;
  header["alg"] = "ES256";
  if (kid.empty()) {
    header["jwk"] = boost::json::parse(key.jwk());
  } else {
    header["kid"] = kid;
  }
  header["nonce"] = nonce;
  header["url"] = url;
  const std::string protected64 = base64url_encode(boost::json::serialize(header));
  const std::string payload64 = base64url_encode(payload);
  auto sig = key.sign(protected64 + "." + payload64);
  if (!sig) return Error{sig.error()};
  boost::json::object jws;
  jws["protected"] = protected64;
  jws["payload"] = payload64;
  jws["signature"] = *sig;
  return boost::json::serialize(jws);
}

std::string key_authorization(const Key& key, std::string_view token) {
  return std::string(token) + "." + key.thumbprint();
}

}  // namespace trackrelay::acme
