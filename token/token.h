// token/token.h — self-contained, signed tracking tokens.
//
// Owns: the token format and its signature. A token carries everything the
// tracking endpoint needs to redirect and record an event, so a redirect needs
// no database and survives its loss; it is signed with HMAC-SHA256 so nobody
// can mint a token for an arbitrary destination (unsigned redirect targets are
// how tracking domains end up on phishing block lists).
//
// Format (before URL-safe base64 without padding):
//   byte 0      version (high nibble, = 1) | flags (bit 0: body is raw-deflated,
//               bit 1: the body ends with the message fields, see below)
//   byte 1      key id length L (1..16), then L bytes of key id
//   body        (deflated when that is shorter)
//                 kind (1 byte), issued_at (LEB128 varint, unix seconds),
//                 then 7 length-prefixed (varint) strings: target, link_name,
//                 tracking_domain, message_id, rcpt_to, campaign_id,
//                 sending_domain, then — only when it is not 0 — the
//                 subaccount id (varint, > 0). Tokens issued before it
//                 existed end after sending_domain and decode as 0, and a
//                 primary-account token is byte for byte what it always was.
//                 With flag bit 1 (set exactly when transmission_id is not
//                 empty) the body ends instead with the subaccount id
//                 (varint, 0 allowed, shortest form) and the transmission
//                 id (length-prefixed, 1..32 decimal digits).
//   mac         16 bytes: HMAC-SHA256(secret, "trackrelay/token/1\0" || all
//               bytes above), truncated to 128 bits
// The tracking domain is inside the signed bytes: a token presented on any
// other host does not verify. Verification checks the MAC (constant time,
// CRYPTO_memcmp) before it inflates or parses anything, and rejects any
// encoding that is not the canonical one (so a re-encoded token is not valid).
//
// May call: base/, OpenSSL, zlib.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/encoding.h"
#include "base/result.h"

namespace trackrelay::token {

enum class Kind : std::uint8_t { kClick = 1, kOpen = 2, kInitialOpen = 3 };
std::string_view kind_name(Kind);  // "click", "open", "initial_open"

struct Claims {
  Kind kind = Kind::kClick;
  std::string target;  // clicks only: the exact URL to redirect to
  std::string link_name;
  std::string tracking_domain;  // lower-case A-label, no port
  std::string message_id;
  std::string rcpt_to;  // only when the message had exactly one recipient
  std::string campaign_id;
  std::string sending_domain;
  std::int64_t issued_at = 0;  // unix seconds
  // The (sub)account whose mail carried the link; 0: the primary account.
  // The tracker records it on the event; event visibility follows it.
  std::int64_t subaccount_id = 0;
  // The relayed message (rewrite::Envelope::transmission_id): decimal digits,
  // "" in tokens issued before it existed. The tracker joins the message's
  // metadata, tags and sender by it (store/event_store.h); never needed to redirect.
  std::string transmission_id;
  std::string key_id;  // filled in by verify(); ignored by encode()
};

struct Key {
  std::string id;      // 1..16 bytes
  std::string secret;  // >= 32 bytes
};

inline constexpr std::size_t kMaxTokenLength = 4096;

std::string encode(const Claims& claims, const Key& key);

// Verifies `token` with whichever of `keys` its key id names and checks that
// it was issued for `host` (compared case-insensitively; a ":port" suffix is
// ignored). The error text says why, for logs; never show it to the public.
Result<Claims> verify(std::string_view token, std::span<const Key> keys, std::string_view host);

// URL-safe base64 without padding (RFC 4648 §5): base/encoding.h. decode
// rejects non-canonical input (padding, stray bits, foreign characters).
using trackrelay::base64url_decode;
using trackrelay::base64url_encode;

namespace internal {
// verify()'s decoder: exactly the inputs base64url_decode accepts, with the
// same bytes, into `out` (a reused buffer) in one pass, without its copies
// and re-encoding; false for any other input. Exposed for its test.
bool decode_base64url(std::string_view text, std::string& out);
}  // namespace internal

}  // namespace trackrelay::token
