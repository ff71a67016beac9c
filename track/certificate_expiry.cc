// track/certificate_expiry.cc — see certificate_expiry.h. May call: conf/,
// metrics/, base/, OpenSSL.
#include "track/certificate_expiry.h"

#include <openssl/asn1.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <ctime>
#include <memory>

namespace trackrelay::track {

std::optional<std::int64_t> certificate_not_after(const std::string& pem_path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(pem_path.c_str(), "rb"), &std::fclose);
  if (!f) return std::nullopt;
  std::unique_ptr<X509, void (*)(X509*)> cert(PEM_read_X509(f.get(), nullptr, nullptr, nullptr),
                                              &X509_free);
  if (!cert) return std::nullopt;
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert.get()), &tm) != 1) return std::nullopt;
  return static_cast<std::int64_t>(timegm(&tm));
}

void report_certificate_expiry(const std::vector<conf::TrackCertificate>& certs,
                               metrics::Instruments* metrics) {
  if (metrics == nullptr) return;
  for (const conf::TrackCertificate& c : certs) {
    if (c.domains.empty()) continue;
    if (auto t = certificate_not_after(c.cert)) {
      metrics->certificate_expiry(c.domains.front(), static_cast<double>(*t));
    }
  }
}

}  // namespace trackrelay::track
