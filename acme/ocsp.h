// acme/ocsp.h — asking a certificate's OCSP responder whether it still holds.
//
// Owns: the OCSP conversation (RFC 6960) for the leaf of a PEM chain: the
// request (the leaf's ID under its issuer, the chain's second certificate),
// one HTTP POST to the responder the leaf names (Authority Information
// Access), bounded in time, and the checks before an answer is believed: a
// successful response signed by the issuer or by a responder the issuer
// delegated (OCSP signing), about this very certificate, current
// (thisUpdate not in the future, nextUpdate not past). Used by the tracker
// (track/tls_ocsp.h: stapling) and the issuer (acme/manager.h: a revoked
// certificate is replaced). Blocking: call it on a worker thread. May call:
// base/, OpenSSL.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace trackrelay::acme {

struct OcspAnswer {
  enum class Status { kGood, kRevoked, kUnknown };
  Status status = Status::kUnknown;
  std::string der;  // the whole response, as stapled
  std::int64_t this_update_ms = 0;
  std::int64_t next_update_ms = 0;  // 0 when the responder gave none
  std::int64_t revoked_ms = 0;      // kRevoked only
  std::string reason;               // kRevoked only: "keyCompromise", ... or "unspecified"
};

std::string_view status_name(OcspAnswer::Status s);

// The responder the chain's leaf names; "" when none.
std::string ocsp_responder(std::string_view chain_pem);

// Asks the leaf's responder. Errors: no responder named, no issuer in the
// chain, the responder unreachable or answering an error, a response that
// does not verify, is about another certificate, or is out of date.
Result<OcspAnswer> query_ocsp(std::string_view chain_pem,
                              std::chrono::seconds timeout = std::chrono::seconds(10));

// Checks a response (DER) for the chain's leaf at `now_ms`, as query_ocsp
// does; exposed for tests and for a response obtained another way.
Result<OcspAnswer> check_ocsp(std::string_view chain_pem, std::string_view der,
                              std::int64_t now_ms);

// When to ask again: halfway between thisUpdate and nextUpdate, at most
// `max_ms` after now, at least 10 seconds after now.
std::int64_t ocsp_refresh_at(const OcspAnswer& a, std::int64_t now_ms,
                             std::int64_t max_ms = 3600000);

}  // namespace trackrelay::acme
