// tests/acme/alpn_ocsp_test.cc — the TLS-ALPN-01 validation certificate (RFC
// 8737: the one name, the critical acmeIdentifier holding SHA-256 of the key
// authorization), which challenge types acme.challenge picks, names whose
// certificate is pending under https_pending still wanted, and what OCSP
// checking refuses without a network (a chain without its issuer, a response
// that is not OCSP), and which OCSP answers are believed (made offline by
// `openssl ocsp`). The responder conversation itself runs against a live
// `openssl ocsp` in tests/acme/ocsp_test.py.
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
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

// Responses made offline by `openssl ocsp` (the responder the end-to-end test
// runs): a verified current answer about this certificate is believed; a
// stale one, one about another certificate, and one signed by another CA are not.
class OcspAnswers : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tr-ocsp-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    ca("ca");
    ca("rogue");
    leaf("leaf");
    leaf("other");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void sh(const std::string& cmd) {
    const std::string full = "cd '" + dir_.string() + "' && " + cmd + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(full.c_str()), 0) << cmd;
  }
  void ca(const std::string& n) {
    sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=" +
       n + " -keyout " + n + ".key -out " + n + ".pem");
  }
  void leaf(const std::string& n) {
    sh("printf "
       "'subjectAltName=DNS:a.example.com\\nauthorityInfoAccess=OCSP;URI:http://127.0.0.1:9/\\n'"
       " > ext && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=" +
       n + " -keyout " + n + ".key -out " + n + ".csr && openssl x509 -req -in " + n +
       ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ext -out " + n + ".pem");
  }
  std::string read(const std::string& n) {
    std::ifstream in(dir_ / n, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  // `signer`'s answer about leaf.pem, with `status` V or R in the index.
  std::string respond(const std::string& signer, const std::string& status) {
    sh("S=$(openssl x509 -noout -serial -in leaf.pem | cut -d= -f2) && printf '" + status +
       "\\t301231235959Z\\t" + (status == "R" ? "201231235959Z,keyCompromise" : "") +
       "\\t'$S'\\tunknown\\t/CN=leaf\\n' > idx && : > idx.attr && "
       "openssl ocsp -issuer ca.pem -cert leaf.pem -reqout req.der -no_nonce && "
       "openssl ocsp -index idx -CA ca.pem -rsigner " +
       signer + ".pem -rkey " + signer + ".key -reqin req.der -respout resp.der -nmin 1");
    return read("resp.der");
  }
  std::string chain(const std::string& n) { return read(n + ".pem") + read("ca.pem"); }
  static std::int64_t now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  std::filesystem::path dir_;
};

TEST_F(OcspAnswers, BelievesOnlyAVerifiedCurrentAnswerAboutThisCertificate) {
  const std::string good = respond("ca", "V");
  ASSERT_FALSE(good.empty());
  EXPECT_EQ(ocsp_responder(chain("leaf")), "http://127.0.0.1:9/");
  auto a = check_ocsp(chain("leaf"), good, now());
  ASSERT_TRUE(a) << a.error();
  EXPECT_EQ(a->status, OcspAnswer::Status::kGood);
  EXPECT_EQ(a->der, good);
  EXPECT_GT(a->next_update_ms, now());
  EXPECT_LE(a->next_update_ms, now() + 61000);

  auto stale = check_ocsp(chain("leaf"), good, now() + 120000);
  ASSERT_FALSE(stale);
  EXPECT_NE(stale.error().find("out of date"), std::string::npos) << stale.error();
  auto other = check_ocsp(chain("other"), good, now());
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().find("not about this certificate"), std::string::npos) << other.error();
  auto forged = check_ocsp(chain("leaf"), respond("rogue", "V"), now());
  ASSERT_FALSE(forged);
  EXPECT_NE(forged.error().find("does not verify"), std::string::npos) << forged.error();

  auto revoked = check_ocsp(chain("leaf"), respond("ca", "R"), now());
  ASSERT_TRUE(revoked) << revoked.error();
  EXPECT_EQ(revoked->status, OcspAnswer::Status::kRevoked);
  EXPECT_EQ(revoked->reason, "keyCompromise");
  EXPECT_GT(revoked->revoked_ms, 0);
}

}  // namespace
}  // namespace trackrelay::acme
