// tests/acme/alpn_ocsp_test.cc — the TLS-ALPN-01 validation certificate (RFC
// 8737: the one name, the critical acmeIdentifier holding SHA-256 of the key
// authorization), which challenge types acme.challenge picks, names whose
// certificate is pending under https_pending still wanted, and what OCSP
// checking refuses without a network (a chain without its issuer, a response
// that is not OCSP). The responder conversation itself runs against
// `openssl ocsp` in tests/acme/ocsp_test.py.
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include <cstring>
#include <memory>

#include "acme/alpn.h"
#include "acme/manager.h"
#include "acme/ocsp.h"

namespace trackrelay::acme {
namespace {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};

std::unique_ptr<X509, X509Free> parse(const std::string& pem) {
  BIO* b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  std::unique_ptr<X509, X509Free> x(PEM_read_bio_X509(b, nullptr, nullptr, nullptr));
  BIO_free(b);
  return x;
}

TEST(AcmeAlpn, CertificateCarriesTheCriticalIdentifier) {
  const std::string ka = "token123.thumbprint456";
  auto cert = alpn_certificate("one.example.com", ka);
  ASSERT_TRUE(cert) << cert.error();
  auto x = parse(cert->cert_pem);
  ASSERT_TRUE(x);
  ASN1_OBJECT* oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
  const int at = X509_get_ext_by_OBJ(x.get(), oid, -1);
  ASN1_OBJECT_free(oid);
  ASSERT_GE(at, 0);
  X509_EXTENSION* ext = X509_get_ext(x.get(), at);
  EXPECT_EQ(X509_EXTENSION_get_critical(ext), 1);
  const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(ext);
  unsigned char want[2 + SHA256_DIGEST_LENGTH] = {0x04, 0x20};
  SHA256(reinterpret_cast<const unsigned char*>(ka.data()), ka.size(), want + 2);
  ASSERT_EQ(ASN1_STRING_length(value), static_cast<int>(sizeof want));
  EXPECT_EQ(0, std::memcmp(ASN1_STRING_get0_data(value), want, sizeof want));
  EXPECT_EQ(X509_check_host(x.get(), "one.example.com", 0, 0, nullptr), 1);
  EXPECT_NE(X509_check_host(x.get(), "two.example.com", 0, 0, nullptr), 1);
  EXPECT_EQ(alpn_challenge_token("one.example.com"), "tls-alpn-01:one.example.com");
  EXPECT_FALSE(cert->key_pem.empty());
}

TEST(AcmeChallenge, TypesFollowTheConfiguration) {
  conf::Config cfg;
  cfg.track.listen = {"127.0.0.1:80"};
  cfg.track.tls_listen = {"127.0.0.1:443"};
  EXPECT_EQ(challenge_types(cfg), (std::vector<std::string>{"http-01", "tls-alpn-01"}));
  cfg.track.listen.clear();
  EXPECT_EQ(challenge_types(cfg), (std::vector<std::string>{"tls-alpn-01"}));
  cfg.acme.challenge = "http-01";
  EXPECT_EQ(challenge_types(cfg), (std::vector<std::string>{"http-01"}));
  cfg.acme.challenge = "tls-alpn-01";
  cfg.track.listen = {"127.0.0.1:80"};
  EXPECT_EQ(challenge_types(cfg), (std::vector<std::string>{"tls-alpn-01"}));
}

TEST(AcmeWanted, FileDomainsWaitingForACertificateAreStillWanted) {
  conf::Config cfg;  // the effective configuration: secure cleared until a certificate is live
  cfg.system_domain = "t.operator.test";
  cfg.system_https_pending = true;
  conf::TrackingDomain t;
  t.domain = "f.example.net";
  t.https_pending = true;
  cfg.tracking_domains.push_back(t);
  EXPECT_EQ(wanted_names(cfg, {}), (std::vector<std::string>{"f.example.net", "t.operator.test"}));
}

TEST(AcmeOcsp, RefusesWhatItCannotCheck) {
  auto cert = alpn_certificate("one.example.com", "x.y");
  ASSERT_TRUE(cert);
  EXPECT_EQ(ocsp_responder(cert->cert_pem), "");  // names no responder: nothing to staple
  auto lone = check_ocsp(cert->cert_pem, "\x30\x03\x0a\x01\x00", 0);
  ASSERT_FALSE(lone);
  EXPECT_NE(lone.error().find("no issuer"), std::string::npos) << lone.error();
  const std::string chain = cert->cert_pem + cert->cert_pem;
  auto garbage = check_ocsp(chain, "not DER", 0);
  ASSERT_FALSE(garbage);
  EXPECT_NE(garbage.error().find("cannot be parsed"), std::string::npos) << garbage.error();
  // OCSPResponse { responseStatus tryLater (3) }: an answer, but no status to believe.
  auto later = check_ocsp(chain, std::string("\x30\x03\x0a\x01\x03", 5), 0);
  ASSERT_FALSE(later);
  EXPECT_NE(later.error().find("trylater"), std::string::npos) << later.error();
  auto q = query_ocsp(chain);
  ASSERT_FALSE(q);
  EXPECT_NE(q.error().find("names no OCSP responder"), std::string::npos) << q.error();
}

TEST(AcmeOcsp, RefreshesHalfwayToNextUpdate) {
  OcspAnswer a;
  a.this_update_ms = 1000000;
  a.next_update_ms = 1000000 + 3600000;
  EXPECT_EQ(ocsp_refresh_at(a, 1000000), 1000000 + 1800000);
  EXPECT_EQ(ocsp_refresh_at(a, 1000000, 60000), 1000000 + 60000);  // at most max_ms away
  a.next_update_ms = 0;                                            // none given: the max
  EXPECT_EQ(ocsp_refresh_at(a, 1000000), 1000000 + 3600000);
  a.next_update_ms = 1000000 + 2000;  // nearly stale: not sooner than 10 s
  EXPECT_EQ(ocsp_refresh_at(a, 1000000), 1000000 + 10000);
}

}  // namespace
}  // namespace trackrelay::acme
