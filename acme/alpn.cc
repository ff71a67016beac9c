// acme/alpn.cc — see alpn.h. May call: acme/key.h, base/, OpenSSL.
#include "acme/alpn.h"

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "acme/key.h"

namespace trackrelay::acme {
namespace {

std::string pem_of(X509* x) {
  std::unique_ptr<BIO, Free<BIO_free>> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), x) != 1) return {};
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

// id-pe-acmeIdentifier (1.3.6.1.5.5.7.1.31), critical: OCTET STRING (SHA-256).
bool add_acme_identifier(X509* x, std::string_view key_authorization) {
  unsigned char der[2 + SHA256_DIGEST_LENGTH] = {0x04, SHA256_DIGEST_LENGTH};
  SHA256(reinterpret_cast<const unsigned char*>(key_authorization.data()), key_authorization.size(),
         der + 2);
  std::unique_ptr<ASN1_OBJECT, Free<ASN1_OBJECT_free>> oid(OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1));
  std::unique_ptr<ASN1_OCTET_STRING, Free<ASN1_OCTET_STRING_free>> value(ASN1_OCTET_STRING_new());
  if (!oid || !value || ASN1_OCTET_STRING_set(value.get(), der, sizeof der) != 1) return false;
  std::unique_ptr<X509_EXTENSION, Free<X509_EXTENSION_free>> ext(
      X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), 1, value.get()));
  return ext && X509_add_ext(x, ext.get(), -1) == 1;
}

bool add_name(X509* x, std::string_view domain) {
  const std::string san = "DNS:" + std::string(domain);
  std::unique_ptr<X509_EXTENSION, Free<X509_EXTENSION_free>> ext(
      X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str()));
  return ext && X509_add_ext(x, ext.get(), -1) == 1;
}

}  // namespace

std::string alpn_challenge_token(std::string_view domain) {
  return "tls-alpn-01:" + std::string(domain);
}

Result<AlpnCertificate> alpn_certificate(std::string_view domain,
                                         std::string_view key_authorization) {
  auto key = Key::generate();
  if (!key) return Error{key.error()};
  std::unique_ptr<X509, Free<X509_free>> x(X509_new());
  if (!x) return Error{"out of memory"};
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 7 * 86400);
  X509_NAME* name = X509_get_subject_name(x.get());
  const std::string cn(domain.substr(0, 64));
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  if (X509_set_pubkey(x.get(), key->get()) != 1 || !add_name(x.get(), domain) ||
      !add_acme_identifier(x.get(), key_authorization) ||
      X509_sign(x.get(), key->get(), EVP_sha256()) == 0) {
    return Error{"cannot make the tls-alpn-01 certificate for " + std::string(domain)};
  }
  return AlpnCertificate{pem_of(x.get()), key->private_pem()};
}

}  // namespace trackrelay::acme
