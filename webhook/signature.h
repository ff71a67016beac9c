// webhook/signature.h — the X-Trackrelay-Signature header of every webhook
// POST: "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>".
// A receiver recomputes the HMAC over the exact body it got and rejects a
// `t` too far from its clock (replays); docs/webhooks.md shows how.
// May call: base/ (hmac_sha256, hex). Called by webhook/dispatcher, api/.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace trackrelay::webhook {

inline constexpr std::string_view kSignatureHeader = "X-Trackrelay-Signature";

// "t=1700000000,v1=5f0c…" (64 lower-case hex digits).
std::string signature(std::string_view secret, std::int64_t unix_seconds, std::string_view body);

// Whether `header` signs `body` under `secret` with a t within `tolerance_s`
// of `now_s` (constant-time comparison). For tests and Go/C++ receivers.
bool verify_signature(std::string_view secret, std::string_view header, std::string_view body,
                      std::int64_t now_s, std::int64_t tolerance_s);

// A new signing secret: 32 random bytes as 64 hex digits ("" without randomness).
std::string new_secret();

}  // namespace trackrelay::webhook
