// tests/acme/key_test.cc — P-256 keys, the JWK and its thumbprint, ES256
// JWS: signatures verified independently with OpenSSL, the protected
// header's jwk/kid rule (RFC 8555 §6.2), PEM round trips, key authorizations.
#include "acme/key.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include <boost/json.hpp>

#include "base/encoding.h"

namespace trackrelay::acme {
namespace {

namespace json = boost::json;

json::object decode_object(const std::string& b64) {
  auto raw = base64url_decode(b64);
  EXPECT_TRUE(raw.ok());
  return json::parse(raw.ok() ? *raw : "{}").as_object();
}

// Verifies a raw r||s ES256 signature with OpenSSL's own DER path.
bool verifies(const Key& key, const std::string& data, const std::string& sig64) {
  auto raw = base64url_decode(sig64);
  if (!raw || raw->size() != 64) return false;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  const auto* p = reinterpret_cast<const unsigned char*>(raw->data());
  ECDSA_SIG_set0(sig, BN_bin2bn(p, 32, nullptr), BN_bin2bn(p + 32, 32, nullptr));
  unsigned char* der = nullptr;
  const int der_len = i2d_ECDSA_SIG(sig, &der);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
      EVP_DigestVerify(ctx, der, static_cast<std::size_t>(der_len),
                       reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  OPENSSL_free(der);
  ECDSA_SIG_free(sig);
  return ok;
}

TEST(AcmeKey, JwkIsCanonicalAndThumbprintIsItsHash) {
  auto key = Key::generate();
  ASSERT_TRUE(key.ok()) << key.error();
  const std::string jwk = key->jwk();
  ASSERT_TRUE(jwk.starts_with(R"({"crv":"P-256","kty":"EC","x":")")) << jwk;
  const json::object o = json::parse(jwk).as_object();
  EXPECT_EQ(o.at("x").as_string().size(), 43u);  // 32 bytes, base64url without padding
  EXPECT_EQ(o.at("y").as_string().size(), 43u);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(jwk.data()), jwk.size(), digest);
  EXPECT_EQ(key->thumbprint(),
            base64url_encode(std::string_view(reinterpret_cast<char*>(digest), sizeof digest)));
  EXPECT_EQ(key_authorization(*key, "tok123"), "tok123." + key->thumbprint());
}

TEST(AcmeKey, PemRoundTripKeepsTheKey) {
  auto key = Key::generate();
  ASSERT_TRUE(key.ok());
  auto again = Key::from_pem(key->private_pem());
  ASSERT_TRUE(again.ok()) << again.error();
  EXPECT_EQ(again->jwk(), key->jwk());
  auto other = Key::generate();
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->jwk(), key->jwk());
}

TEST(AcmeKey, RejectsGarbageAndOtherKeyTypes) {
  EXPECT_FALSE(Key::from_pem("not a key").ok());
  EVP_PKEY* rsa = EVP_RSA_gen(2048);
  ASSERT_NE(rsa, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, rsa, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  auto r = Key::from_pem(std::string(data, static_cast<std::size_t>(n)));
  BIO_free(bio);
  EVP_PKEY_free(rsa);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("P-256"), std::string::npos) << r.error();
}

TEST(AcmeJws, SignsWithJwkOrKidAndVerifies) {
  auto key = Key::generate();
  ASSERT_TRUE(key.ok());
  auto jws = sign_request(*key, "", "nonce-1", "https://ca.test/new-acct", R"({"a":1})");
  ASSERT_TRUE(jws.ok()) << jws.error();
  json::object o = json::parse(*jws).as_object();
  const std::string prot(o.at("protected").as_string());
  const std::string payload(o.at("payload").as_string());
  json::object header = decode_object(prot);
  EXPECT_EQ(header.at("alg").as_string(), "ES256");
  EXPECT_EQ(header.at("nonce").as_string(), "nonce-1");
  EXPECT_EQ(header.at("url").as_string(), "https://ca.test/new-acct");
  EXPECT_EQ(json::serialize(header.at("jwk")), key->jwk());
  EXPECT_FALSE(header.contains("kid"));
  EXPECT_EQ(*base64url_decode(payload), R"({"a":1})");
  EXPECT_TRUE(verifies(*key, prot + "." + payload, std::string(o.at("signature").as_string())));
  // A tampered payload does not verify: the check can fail.
  EXPECT_FALSE(verifies(*key, prot + "." + base64url_encode("{}"),
                        std::string(o.at("signature").as_string())));

  auto kid = sign_request(*key, "https://ca.test/acct/7", "n2", "https://ca.test/order/1", "");
  ASSERT_TRUE(kid.ok());
  json::object k = json::parse(*kid).as_object();
  json::object kh = decode_object(std::string(k.at("protected").as_string()));
  EXPECT_EQ(kh.at("kid").as_string(), "https://ca.test/acct/7");
  EXPECT_FALSE(kh.contains("jwk"));
  EXPECT_EQ(k.at("payload").as_string(), "");  // POST-as-GET
}

}  // namespace
}  // namespace trackrelay::acme
