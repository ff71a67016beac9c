// acme/ocsp.cc — see ocsp.h. May call: acme/key.h (the OpenSSL deleter), base/, OpenSSL.
#include "acme/ocsp.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/http.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "acme/key.h"

namespace trackrelay::acme {
namespace {

using X509Ptr = std::unique_ptr<X509, Free<X509_free>>;
using BioPtr = std::unique_ptr<BIO, Free<BIO_free>>;
using StorePtr = std::unique_ptr<X509_STORE, Free<X509_STORE_free>>;
using CertIdPtr = std::unique_ptr<OCSP_CERTID, Free<OCSP_CERTID_free>>;
using RequestPtr = std::unique_ptr<OCSP_REQUEST, Free<OCSP_REQUEST_free>>;
using ResponsePtr = std::unique_ptr<OCSP_RESPONSE, Free<OCSP_RESPONSE_free>>;
using BasicPtr = std::unique_ptr<OCSP_BASICRESP, Free<OCSP_BASICRESP_free>>;
struct StackFree {
  void operator()(STACK_OF(X509) * s) const { sk_X509_pop_free(s, X509_free); }
};
using StackPtr = std::unique_ptr<STACK_OF(X509), StackFree>;
struct CharFree {
  void operator()(char* p) const { OPENSSL_free(p); }
};
using CharPtr = std::unique_ptr<char, CharFree>;

std::string ssl_error(std::string what) {
  if (unsigned long e = ERR_get_error(); e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    what += ": ";
    what += buf;
  }
  ERR_clear_error();
  return what;
}

std::int64_t ms_of(const ASN1_GENERALIZEDTIME* t) {
  if (t == nullptr) return 0;
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<std::int64_t>(timegm(&tm)) * 1000;
}

// The chain's certificates, leaf first; at least a leaf and its issuer.
Result<StackPtr> read_chain(std::string_view chain_pem) {
  BioPtr bio(BIO_new_mem_buf(chain_pem.data(), static_cast<int>(chain_pem.size())));
  StackPtr chain(sk_X509_new_null());
  if (!bio || !chain) return Error{"out of memory"};
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    sk_X509_push(chain.get(), x);
  }
  ERR_clear_error();
  if (sk_X509_num(chain.get()) == 0) return Error{"no certificate in the chain"};
  if (sk_X509_num(chain.get()) < 2) {
    return Error{"the chain has no issuer certificate to ask OCSP about the leaf with"};
  }
  return chain;
}

std::string responder_of(X509* leaf) {
  std::string url;
  STACK_OF(OPENSSL_STRING)* list = X509_get1_ocsp(leaf);
  if (list != nullptr && sk_OPENSSL_STRING_num(list) > 0) url = sk_OPENSSL_STRING_value(list, 0);
  X509_email_free(list);
  return url;
}

// One POST of the DER request; the DER response.
Result<std::string> post(const std::string& url, OCSP_REQUEST* req, std::chrono::seconds timeout) {
  char *host = nullptr, *port = nullptr, *path = nullptr;
  int use_ssl = 0;
  if (OSSL_HTTP_parse_url(url.c_str(), &use_ssl, nullptr, &host, &port, nullptr, &path, nullptr,
                          nullptr) != 1) {
    return Error{ssl_error("OCSP responder URL '" + url + "' cannot be parsed")};
  }
  CharPtr h(host), p(port), pa(path);
  if (use_ssl) return Error{"OCSP responder " + url + ": only http:// responders are supported"};
  BioPtr body(ASN1_item_i2d_mem_bio(ASN1_ITEM_rptr(OCSP_REQUEST),
                                    reinterpret_cast<const ASN1_VALUE*>(req)));
  if (!body) return Error{ssl_error("OCSP request")};
  BioPtr answer(OSSL_HTTP_transfer(nullptr, host, port, path, 0, nullptr, nullptr, nullptr, nullptr,
                                   nullptr, nullptr, 0, nullptr, "application/ocsp-request",
                                   body.get(), "application/ocsp-response", 1, 100000,
                                   static_cast<int>(timeout.count()), 0));
  if (!answer) return Error{ssl_error("OCSP responder " + url)};
  std::string der;
  char buf[4096];
  for (int n; (n = BIO_read(answer.get(), buf, sizeof buf)) > 0;) der.append(buf, buf + n);
  if (der.empty()) return Error{"OCSP responder " + url + ": empty response"};
  return der;
}

const char* reason_name(int reason) {
  switch (reason) {
    case OCSP_REVOKED_STATUS_KEYCOMPROMISE:
      return "keyCompromise";
    case OCSP_REVOKED_STATUS_CACOMPROMISE:
      return "cACompromise";
    case OCSP_REVOKED_STATUS_AFFILIATIONCHANGED:
      return "affiliationChanged";
    case OCSP_REVOKED_STATUS_SUPERSEDED:
      return "superseded";
    case OCSP_REVOKED_STATUS_CESSATIONOFOPERATION:
      return "cessationOfOperation";
    case OCSP_REVOKED_STATUS_CERTIFICATEHOLD:
      return "certificateHold";
    case OCSP_REVOKED_STATUS_REMOVEFROMCRL:
      return "removeFromCRL";
    default:
      return "unspecified";
  }
}

// Signed by the issuer or by a responder it delegated to; issuer is trusted
// as an anchor (it may be an intermediate).
Result<bool> verify_signature(OCSP_BASICRESP* basic, STACK_OF(X509) * chain, X509* issuer) {
  StorePtr store(X509_STORE_new());
  if (!store || X509_STORE_add_cert(store.get(), issuer) != 1) {
    return Error{ssl_error("OCSP trust store")};
  }
  X509_STORE_set_flags(store.get(), X509_V_FLAG_PARTIAL_CHAIN);
  if (OCSP_basic_verify(basic, chain, store.get(), 0) != 1) {
    return Error{ssl_error("the OCSP response's signature does not verify against the issuer")};
  }
  return true;
}

Result<OcspAnswer> check_basic(OCSP_BASICRESP* basic, STACK_OF(X509) * chain, OCSP_CERTID* id,
                               std::int64_t now_ms) {
  X509* issuer = sk_X509_value(chain, 1);
  if (auto v = verify_signature(basic, chain, issuer); !v) return Error{v.error()};
  int status = 0, reason = 0;
  ASN1_GENERALIZEDTIME *revoked = nullptr, *this_update = nullptr, *next_update = nullptr;
  if (OCSP_resp_find_status(basic, id, &status, &reason, &revoked, &this_update, &next_update) !=
      1) {
    return Error{"the OCSP response is not about this certificate"};
  }
  OcspAnswer a;
  a.this_update_ms = ms_of(this_update);
  a.next_update_ms = ms_of(next_update);
  constexpr std::int64_t kSkewMs = 300000;
  if (a.this_update_ms > now_ms + kSkewMs) return Error{"the OCSP response is from the future"};
  if (a.next_update_ms != 0 && a.next_update_ms <= now_ms) {
    return Error{"the OCSP response is out of date (nextUpdate passed)"};
  }
  if (status == V_OCSP_CERTSTATUS_GOOD) a.status = OcspAnswer::Status::kGood;
  if (status == V_OCSP_CERTSTATUS_REVOKED) {
    a.status = OcspAnswer::Status::kRevoked;
    a.revoked_ms = ms_of(revoked);
    a.reason = reason_name(reason);
  }
  return a;
}

Result<OcspAnswer> check(STACK_OF(X509) * chain, std::string_view der, std::int64_t now_ms) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ResponsePtr resp(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
  if (!resp) return Error{ssl_error("the OCSP response cannot be parsed")};
  const int rs = OCSP_response_status(resp.get());
  if (rs != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    return Error{std::string("the OCSP responder answered ") + OCSP_response_status_str(rs)};
  }
  BasicPtr basic(OCSP_response_get1_basic(resp.get()));
  if (!basic) return Error{ssl_error("the OCSP response has no basic response")};
  CertIdPtr id(OCSP_cert_to_id(nullptr, sk_X509_value(chain, 0), sk_X509_value(chain, 1)));
  if (!id) return Error{ssl_error("OCSP certificate ID")};
  auto a = check_basic(basic.get(), chain, id.get(), now_ms);
  if (a) a->der = std::string(der);
  return a;
}

std::int64_t now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string_view status_name(OcspAnswer::Status s) {
  switch (s) {
    case OcspAnswer::Status::kGood:
      return "good";
    case OcspAnswer::Status::kRevoked:
      return "revoked";
    case OcspAnswer::Status::kUnknown:
      break;
  }
  return "unknown";
}

std::string ocsp_responder(std::string_view chain_pem) {
  BioPtr bio(BIO_new_mem_buf(chain_pem.data(), static_cast<int>(chain_pem.size())));
  if (!bio) return {};
  X509Ptr leaf(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  return leaf ? responder_of(leaf.get()) : std::string();
}

Result<OcspAnswer> check_ocsp(std::string_view chain_pem, std::string_view der,
                              std::int64_t now_ms) {
  auto chain = read_chain(chain_pem);
  if (!chain) return Error{chain.error()};
  return check(chain->get(), der, now_ms);
}

Result<OcspAnswer> query_ocsp(std::string_view chain_pem, std::chrono::seconds timeout) {
  auto chain = read_chain(chain_pem);
  if (!chain) return Error{chain.error()};
  STACK_OF(X509)* c = chain->get();
  const std::string url = responder_of(sk_X509_value(c, 0));
  if (url.empty()) return Error{"the certificate names no OCSP responder"};
  RequestPtr req(OCSP_REQUEST_new());
  OCSP_CERTID* id = OCSP_cert_to_id(nullptr, sk_X509_value(c, 0), sk_X509_value(c, 1));
  if (!req || id == nullptr || OCSP_request_add0_id(req.get(), id) == nullptr) {
    OCSP_CERTID_free(id);
    return Error{ssl_error("OCSP request")};
  }
  auto der = post(url, req.get(), timeout);
  if (!der) return Error{der.error()};
  auto a = check(c, *der, now());
  if (!a) return Error{"OCSP responder " + url + ": " + a.error()};
  return a;
}

std::int64_t ocsp_refresh_at(const OcspAnswer& a, std::int64_t now_ms, std::int64_t max_ms) {
  std::int64_t at = now_ms + max_ms;
  if (a.next_update_ms > a.this_update_ms) {
    at = std::min(at, a.this_update_ms + (a.next_update_ms - a.this_update_ms) / 2);
  }
  return std::max(at, now_ms + 10000);
}

}  // namespace trackrelay::acme
