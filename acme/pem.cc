// acme/pem.cc — see pem.h. May call: acme/key.h, base/, OpenSSL.
#include "acme/pem.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "base/encoding.h"

namespace trackrelay::acme {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct ReqFree {
  void operator()(X509_REQ* r) const { X509_REQ_free(r); }
};
struct ExtsFree {
  void operator()(STACK_OF(X509_EXTENSION) * s) const {
    sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
  }
};
struct NamesFree {
  void operator()(GENERAL_NAMES* n) const { GENERAL_NAMES_free(n); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

Bio mem(std::string_view s) {
  return Bio(BIO_new_mem_buf(s.data(), static_cast<int>(s.size())));
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::int64_t to_ms(const ASN1_TIME* t) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<std::int64_t>(timegm(&tm)) * 1000;
}

std::string ocsp_url(X509* x) {
  std::string url;
  STACK_OF(OPENSSL_STRING)* list = X509_get1_ocsp(x);
  if (list != nullptr && sk_OPENSSL_STRING_num(list) > 0) url = sk_OPENSSL_STRING_value(list, 0);
  X509_email_free(list);
  return url;
}

CertInfo info_of(X509* x) {
  CertInfo info;
  std::unique_ptr<GENERAL_NAMES, NamesFree> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(names.get(), i);
    if (g->type != GEN_DNS) continue;
    const ASN1_IA5STRING* s = g->d.dNSName;
    info.names.push_back(
        lower(std::string_view(reinterpret_cast<const char*>(s->data), s->length)));
  }
  info.not_before_ms = to_ms(X509_get0_notBefore(x));
  info.not_after_ms = to_ms(X509_get0_notAfter(x));
  const ASN1_INTEGER* serial = X509_get0_serialNumber(x);
  std::string hex = hex_encode(serial->data, static_cast<std::size_t>(serial->length));
  for (char& c : hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  info.serial = hex;
  info.ocsp_url = ocsp_url(x);
  return info;
}

Result<X509Ptr> leaf(std::string_view chain_pem) {
  Bio bio = mem(chain_pem);
  X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!x) return Error{"not a PEM certificate: " + openssl_error()};
  return x;
}

}  // namespace

Result<std::string> make_csr(const Key& key, const std::vector<std::string>& names) {
  if (names.empty()) return Error{"a CSR needs a name"};
  std::unique_ptr<X509_REQ, ReqFree> req(X509_REQ_new());
  X509_NAME* subject = X509_REQ_get_subject_name(req.get());
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(names.front().c_str()), -1, -1,
                             0);
  std::string san;
  for (const std::string& n : names) san += (san.empty() ? "DNS:" : ",DNS:") + n;
  std::unique_ptr<STACK_OF(X509_EXTENSION), ExtsFree> exts(sk_X509_EXTENSION_new_null());
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str());
  if (ext == nullptr) return Error{"bad name for a CSR: " + openssl_error()};
  sk_X509_EXTENSION_push(exts.get(), ext);
  if (X509_REQ_set_version(req.get(), 0) != 1 || X509_REQ_set_pubkey(req.get(), key.get()) != 1 ||
      X509_REQ_add_extensions(req.get(), exts.get()) != 1 ||
      X509_REQ_sign(req.get(), key.get(), EVP_sha256()) <= 0) {
    return Error{"cannot build the CSR: " + openssl_error()};
  }
  const int len = i2d_X509_REQ(req.get(), nullptr);
  if (len <= 0) return Error{"cannot encode the CSR: " + openssl_error()};
  std::string der(static_cast<std::size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_X509_REQ(req.get(), &p);
  return der;
}

Result<CertInfo> inspect(std::string_view chain_pem) {
  auto x = leaf(chain_pem);
  if (!x) return Error{x.error()};
  return info_of(x->get());
}

bool name_matches(std::string_view pattern, std::string_view name) {
  if (pattern == name) return true;
  if (!pattern.starts_with("*.")) return false;
  const auto dot = name.find('.');
  return dot != std::string_view::npos && dot > 0 && name.substr(dot) == pattern.substr(1);
}

Result<CertInfo> check_certificate(std::string_view domain, std::string_view chain_pem,
                                   std::string_view key_pem, std::int64_t now_ms) {
  auto x = leaf(chain_pem);
  if (!x) return Error{"certificate: " + x.error()};
  Bio kb = mem(key_pem);
  Pkey key(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
  if (!key) return Error{"key: not a PEM private key: " + openssl_error()};
  if (X509_check_private_key(x->get(), key.get()) != 1) {
    openssl_error();
    return Error{"the key does not match the certificate"};
  }
  CertInfo info = info_of(x->get());
  const std::string name = lower(domain);
  bool covered = false;
  for (const std::string& n : info.names) covered = covered || name_matches(n, name);
  if (!covered) {
    std::string list;
    for (const std::string& n : info.names) list += (list.empty() ? "" : ", ") + n;
    return Error{"the certificate does not name " + name +
                 " (its names: " + (list.empty() ? "none" : list) + ")"};
  }
  if (info.not_after_ms <= now_ms) return Error{"the certificate has expired"};
  if (info.not_before_ms > now_ms) return Error{"the certificate is not valid yet"};
  return info;
}

}  // namespace trackrelay::acme
