// acme/ari.h — ACME Renewal Information (ARI, RFC 9773): when the CA wants a
// certificate renewed.
//
// Owns: a certificate's ARI identifier (§4.1: base64url of the issuer's
// Authority Key Identifier keyIdentifier, ".", base64url of the DER serial's
// bytes), the renewalInfo answer (§4.2: suggestedWindow {start, end} in RFC
// 3339, optional explanationURL) and its Retry-After (clamped to 1 h – 24 h,
// default 6 h), the uniformly random renewal time inside a window (§4.2), and
// the unauthenticated GET of `<renewalInfo>/<id>` and of the directory's
// `renewalInfo` URL. The manager (acme/manager.h) decides with these; a
// failed or malformed answer is an error the caller falls back from.
// May call: acme/https, base/, Boost.JSON, OpenSSL.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "acme/https.h"
#include "base/result.h"

namespace trackrelay::acme {

inline constexpr std::chrono::seconds kAriMinRetry{3600};
inline constexpr std::chrono::seconds kAriMaxRetry{86400};
inline constexpr std::chrono::seconds kAriDefaultRetry{6 * 3600};

struct RenewalWindow {
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  std::string explanation_url;  // "" when the CA gave none
};

struct RenewalInfo {
  RenewalWindow window;
  std::chrono::seconds retry_after = kAriDefaultRetry;  // when to ask again
};

// "<base64url(keyIdentifier)>.<base64url(serial DER bytes)>" from raw bytes.
std::string ari_id(std::string_view key_identifier, std::string_view serial_der);

// The ARI identifier of a PEM chain's leaf; an error when the leaf has no
// Authority Key Identifier keyIdentifier.
Result<std::string> ari_cert_id(std::string_view chain_pem);

// An RFC 3339 date-time ("2025-01-02T04:00:00Z", fractions, offsets) in ms.
Result<std::int64_t> parse_rfc3339(std::string_view text);

// A renewalInfo body: suggestedWindow with start <= end, explanationURL.
Result<RenewalWindow> parse_renewal_window(std::string_view body);

// Retry-After (delta-seconds or an HTTP-date, relative to `now_ms`) clamped
// to [kAriMinRetry, kAriMaxRetry]; kAriDefaultRetry when absent or unreadable.
std::chrono::seconds ari_retry_after(std::string_view header, std::int64_t now_ms);

// A time in [start, end] chosen by `random` (uniform when `random` is).
std::int64_t choose_in_window(const RenewalWindow& w, std::uint64_t random);

// The directory's renewalInfo URL ("" when the CA offers no ARI).
Result<std::string> fetch_renewal_info_url(const HttpsOptions& https,
                                           const std::string& directory_url);

// GET `<renewal_info_url>/<id>`: the window and when to ask again.
Result<RenewalInfo> fetch_renewal_info(const HttpsOptions& https,
                                       const std::string& renewal_info_url, const std::string& id,
                                       std::int64_t now_ms);

}  // namespace trackrelay::acme
