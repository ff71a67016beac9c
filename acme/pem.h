// acme/pem.h — certificate signing requests and what a certificate says.
//
// Owns: the CSR of an order (RFC 8555 §7.4: DER, the names as
// subjectAltName dNSNames), reading a PEM chain's leaf (names, validity,
// serial, OCSP responder), and the checks an uploaded certificate must pass
// (key matches, the name is covered, not expired). No I/O. May call: acme/key.h,
// base/, OpenSSL.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "acme/key.h"
#include "base/result.h"

namespace trackrelay::acme {

struct CertInfo {
  std::vector<std::string> names;  // subjectAltName dNSNames, lower-case
  std::int64_t not_before_ms = 0;
  std::int64_t not_after_ms = 0;
  std::string serial;    // upper-case hex
  std::string ocsp_url;  // "" when the certificate names no OCSP responder
};

// A DER CSR for `names` (the first is also the subject CN), signed by `key`.
Result<std::string> make_csr(const Key& key, const std::vector<std::string>& names);

// The leaf (first certificate) of a PEM chain.
Result<CertInfo> inspect(std::string_view chain_pem);

// `pattern` covers `name`: equal, or "*.example.com" for one more label.
bool name_matches(std::string_view pattern, std::string_view name);

// An operator's certificate for `domain`: the chain parses, the key parses
// and is the leaf's, the leaf names `domain` and is valid at `now_ms`. The
// error says which check failed ("the key does not match the certificate").
Result<CertInfo> check_certificate(std::string_view domain, std::string_view chain_pem,
                                   std::string_view key_pem, std::int64_t now_ms);

}  // namespace trackrelay::acme
