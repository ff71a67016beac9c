// tests/track/tls_handshake_test.cc — whole TLS handshakes in memory (a BIO
// pair, no sockets) against a CertificateSet: TLS-ALPN-01 (RFC 8737) — a
// client offering "acme-tls/1" gets the validation certificate only for a
// name with a validation in progress, and ordinary clients never see it —
// and OCSP stapling: a current response is stapled, a stale one is not.
#include <gtest/gtest.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>

#include "acme/alpn.h"
#include "track/tls.h"
#include "track/tls_ocsp.h"

namespace trackrelay::track {
namespace {

struct Shake {
  bool ok = false;
  std::string alpn;
  std::string staple;
  bool acme_identifier = false;  // the served certificate carries id-pe-acmeIdentifier
  std::string served_for;        // the name the served certificate is valid for, of those asked
};

bool has_acme_identifier(X509* x, std::string_view key_authorization) {
  ASN1_OBJECT* oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
  const int at = X509_get_ext_by_OBJ(x, oid, -1);
  ASN1_OBJECT_free(oid);
  if (at < 0) return false;
  X509_EXTENSION* ext = X509_get_ext(x, at);
  const ASN1_OCTET_STRING* v = X509_EXTENSION_get_data(ext);
  unsigned char want[34] = {0x04, 0x20};
  SHA256(reinterpret_cast<const unsigned char*>(key_authorization.data()), key_authorization.size(),
         want + 2);
  return X509_EXTENSION_get_critical(ext) == 1 && ASN1_STRING_length(v) == 34 &&
         std::memcmp(ASN1_STRING_get0_data(v), want, 34) == 0;
}

Shake shake(CertificateSet& set, const std::string& sni, bool acme_alpn, bool want_status) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> cctx(SSL_CTX_new(TLS_client_method()),
                                                         SSL_CTX_free);
  std::unique_ptr<SSL, decltype(&SSL_free)> c(SSL_new(cctx.get()), SSL_free);
  std::unique_ptr<SSL, decltype(&SSL_free)> s(SSL_new(set.context().native_handle()), SSL_free);
  BIO *bc = nullptr, *bs = nullptr;
  BIO_new_bio_pair(&bc, 0, &bs, 0);
  SSL_set_bio(c.get(), bc, bc);
  SSL_set_bio(s.get(), bs, bs);
  SSL_set_connect_state(c.get());
  SSL_set_accept_state(s.get());
  SSL_set_tlsext_host_name(c.get(), sni.c_str());
  if (acme_alpn)
    SSL_set_alpn_protos(c.get(),
                        reinterpret_cast<const unsigned char*>("\x0a"
                                                               "acme-tls/1"),
                        11);
  if (want_status) SSL_set_tlsext_status_type(c.get(), TLSEXT_STATUSTYPE_ocsp);
  Shake out;
  for (int i = 0; i < 50; ++i) {
    const int rc = SSL_do_handshake(c.get());
    const int rs = SSL_do_handshake(s.get());
    if (rc == 1 && rs == 1) {
      out.ok = true;
      break;
    }
    const int ec = SSL_get_error(c.get(), rc), es = SSL_get_error(s.get(), rs);
    if ((rc != 1 && ec != SSL_ERROR_WANT_READ && ec != SSL_ERROR_WANT_WRITE) ||
        (rs != 1 && es != SSL_ERROR_WANT_READ && es != SSL_ERROR_WANT_WRITE)) {
      break;
    }
  }
  ERR_clear_error();
  if (!out.ok) return out;
  const unsigned char* p = nullptr;
  unsigned int n = 0;
  SSL_get0_alpn_selected(c.get(), &p, &n);
  out.alpn.assign(reinterpret_cast<const char*>(p), n);
  const unsigned char* resp = nullptr;
  const long len = SSL_get_tlsext_status_ocsp_resp(c.get(), &resp);
  if (len > 0 && resp != nullptr) out.staple.assign(reinterpret_cast<const char*>(resp), len);
  X509* peer = SSL_get0_peer_certificate(c.get());
  out.acme_identifier = peer != nullptr && has_acme_identifier(peer, "token.thumb");
  if (peer != nullptr && X509_check_host(peer, sni.c_str(), 0, 0, nullptr) == 1) {
    out.served_for = sni;
  }
  return out;
}

CertificateSet::Entry entry(const std::string& name) {
  auto pem = acme::alpn_certificate(name, "unused");  // any self-signed certificate for `name`
  EXPECT_TRUE(pem);
  auto e = CertificateSet::from_pem({name, pem->cert_pem, pem->key_pem});
  EXPECT_TRUE(e) << e.error();
  return std::move(e).value();
}

TEST(TlsHandshake, AcmeTlsAlpnAnsweredOnlyWhileAValidationIsPending) {
  TlsHelpers helpers;
  helpers.alpn_challenge = [](const std::string& d) -> std::optional<std::string> {
    if (d == "one.example.com") return "token.thumb";
    return std::nullopt;
  };
  std::vector<CertificateSet::Entry> stored;
  stored.push_back(entry("click.example.com"));
  auto set = CertificateSet::make({}, std::move(stored), helpers);

  Shake v = shake(*set, "one.example.com", true, false);
  ASSERT_TRUE(v.ok);
  EXPECT_EQ(v.alpn, "acme-tls/1");
  EXPECT_TRUE(v.acme_identifier);
  EXPECT_EQ(v.served_for, "one.example.com");

  EXPECT_FALSE(shake(*set, "two.example.com", true, false).ok);  // no validation: refused
  Shake plain = shake(*set, "click.example.com", false, false);
  ASSERT_TRUE(plain.ok);
  EXPECT_EQ(plain.alpn, "");
  EXPECT_FALSE(plain.acme_identifier);
  EXPECT_EQ(plain.served_for, "click.example.com");
  EXPECT_FALSE(shake(*set, "one.example.com", false, false).ok);  // no certificate, no ALPN
}

TEST(TlsHandshake, StaplesOnlyACurrentResponse) {
  CertificateSet::Entry e = entry("click.example.com");
  auto slot = std::make_shared<StapleSlot>(e.chain_pem, "click.example.com");
  staple_from(e.ctx->native_handle(), slot.get());
  std::vector<CertificateSet::Entry> stored;
  stored.push_back(std::move(e));
  auto set = CertificateSet::make({}, std::move(stored));
  const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();

  EXPECT_EQ(shake(*set, "click.example.com", false, true).staple, "");  // nothing fetched yet
  slot->set(std::make_shared<Staple>(Staple{"ocsp-response-der", now + 60000}));
  Shake fresh = shake(*set, "click.example.com", false, true);
  ASSERT_TRUE(fresh.ok);
  EXPECT_EQ(fresh.staple, "ocsp-response-der");
  EXPECT_EQ(shake(*set, "click.example.com", false, false).staple, "");  // not asked for
  slot->set(std::make_shared<Staple>(Staple{"ocsp-response-der", now - 1}));
  Shake stale = shake(*set, "click.example.com", false, true);
  ASSERT_TRUE(stale.ok);
  EXPECT_EQ(stale.staple, "");
}

}  // namespace
}  // namespace trackrelay::track
