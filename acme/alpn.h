// acme/alpn.h — TLS-ALPN-01 (RFC 8737): the validation certificate.
//
// Owns: the name under which a TLS-ALPN-01 key authorization is kept in the
// store's challenge table (so every tracker sharing the store can answer),
// the ALPN protocol id, and the self-signed certificate a tracker presents
// to the CA: subjectAltName = the one name, and the critical
// id-pe-acmeIdentifier extension holding SHA-256 of the key authorization.
// No I/O. May call: acme/key.h, base/, OpenSSL.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace trackrelay::acme {

inline constexpr std::string_view kAcmeTlsProtocol = "acme-tls/1";

// The store's challenge "token" for `domain` ("tls-alpn-01:<domain>"; real
// HTTP-01 tokens are base64url and never contain ':').
std::string alpn_challenge_token(std::string_view domain);

struct AlpnCertificate {
  std::string cert_pem;
  std::string key_pem;
};

// A fresh P-256 key and its self-signed validation certificate for `domain`.
Result<AlpnCertificate> alpn_certificate(std::string_view domain,
                                         std::string_view key_authorization);

}  // namespace trackrelay::acme
