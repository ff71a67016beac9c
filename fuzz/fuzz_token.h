// fuzz/fuzz_token.h — fuzz target body for tracking tokens (token/token.h):
// encode, verify, and what must never verify.
//
// Input: lines. Line 0 is control bytes: kind, 5 bytes of issue time, 2 bytes
// of position and 1 byte of replacement for the mutation checks. Lines 1-7
// are target, link_name, tracking_domain, message_id, rcpt_to, campaign_id,
// sending_domain. The whole input is also tried as a token string.
//
// Invariants (fixed keys, the tracking domain as the host):
//  * verify(encode(claims)) gives back the same claims and the signing key id,
//    whenever the token is within kMaxTokenLength;
//  * the token does not verify on another host;
//  * one changed character anywhere, one changed byte of the decoded token,
//    truncation by a character and extension by a character: never verify;
//  * an arbitrary string that verifies (cannot happen without the key) is its
//    own canonical encoding.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/strings.h"
#include "fuzz/fuzz_common.h"
#include "token/token.h"

namespace trackrelay::fuzz {
namespace token_detail {

inline const std::array<token::Key, 2>& keys() {
  // Immutable after first use (a function-local constant, not mutable state).
  static const std::array<token::Key, 2> kKeys = {
      token::Key{"k1", "fuzz-secret-0123456789abcdef0123456789abcdef"},
      token::Key{"k2", "fuzz-other-secret-0123456789abcdef01234567"}};
  return kKeys;
}

inline std::string describe(const token::Claims& c) {
  return "kind " + std::to_string(static_cast<int>(c.kind)) + " issued " +
         std::to_string(c.issued_at) + " target " + escaped(c.target) + " domain " +
         escaped(c.tracking_domain);
}

inline bool same_claims(const token::Claims& a, const token::Claims& b) {
  return a.kind == b.kind && a.target == b.target && a.link_name == b.link_name &&
         a.tracking_domain == b.tracking_domain && a.message_id == b.message_id &&
         a.rcpt_to == b.rcpt_to && a.campaign_id == b.campaign_id &&
         a.sending_domain == b.sending_domain && a.issued_at == b.issued_at;
}

inline bool verifies(std::string_view tok, std::string_view host) {
  return token::verify(tok, keys(), host).ok();
}

}  // namespace token_detail

inline int check_token(const std::uint8_t* data, std::size_t size) {
  using namespace token_detail;
  const std::string_view whole = as_view(data, size);

  // Arbitrary text as a token: no crash; anything accepted is canonical.
  if (auto any = token::verify(whole, keys(), "click.example.com"); any.ok()) {
    const token::Key& key = any->key_id == keys()[0].id ? keys()[0] : keys()[1];
    FUZZ_CHECK(token::encode(*any, key) == whole,
               "a verified token is not its own canonical encoding: " + escaped(whole));
  }

  Reader in(whole);
  Reader control(in.line());
  token::Claims claims;
  claims.kind = static_cast<token::Kind>(control.byte() % 3 + 1);
  claims.issued_at = static_cast<std::int64_t>(control.uint(5));  // up to ~2^40: any real time
  const std::size_t position = control.uint(2);
  const std::uint8_t replacement = control.byte();
  for (std::string* s :
       {&claims.target, &claims.link_name, &claims.tracking_domain, &claims.message_id,
        &claims.rcpt_to, &claims.campaign_id, &claims.sending_domain}) {
    *s = std::string(in.line());
  }
  claims.target.append(in.rest());  // what is left belongs to the target (may hold '\n')
  // A tracking domain is a lower-case host name without a port (config rules).
  claims.tracking_domain = to_lower(claims.tracking_domain);
  for (char& c : claims.tracking_domain) {
    if (c == ':') c = '.';
  }

  const std::string tok = token::encode(claims, keys()[0]);
  const std::string& host = claims.tracking_domain;
  auto round = token::verify(tok, keys(), host);
  if (tok.size() > token::kMaxTokenLength) {
    FUZZ_CHECK(!round.ok(), "a token over kMaxTokenLength verified");
    return 0;
  }
  FUZZ_CHECK(round.ok(),
             "encode() output does not verify: " + (round.ok() ? std::string() : round.error()) +
                 "; " + describe(claims));
  FUZZ_CHECK(same_claims(*round, claims), "verified claims differ: " + describe(claims));
  FUZZ_CHECK(round->key_id == "k1", "wrong key id " + round->key_id);

  const std::string other_host = host == "other.example" ? "another.example" : "other.example";
  FUZZ_CHECK(!verifies(tok, other_host), "token verifies on another host: " + describe(claims));

  // One changed character of the token text (to another base64url character).
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const std::size_t at = position % tok.size();
  std::string changed = tok;
  changed[at] = kAlphabet[(kAlphabet.find(tok[at]) + 1 + replacement % 63) % 64];
  FUZZ_CHECK(!verifies(changed, host),
             "token verifies with character " + std::to_string(at) + " changed: " + changed);
  changed[at] = static_cast<char>(replacement);
  if (changed != tok) {
    FUZZ_CHECK(!verifies(changed, host), "token verifies with a foreign character: " + changed);
  }
  // First and last characters too (the last carries stray bits when padded).
  for (const std::size_t i : {std::size_t{0}, tok.size() - 1}) {
    std::string edge = tok;
    edge[i] = kAlphabet[(kAlphabet.find(tok[i]) + 1) % 64];
    FUZZ_CHECK(!verifies(edge, host),
               "token verifies with character " + std::to_string(i) + " changed: " + edge);
  }
  // Truncation and extension.
  FUZZ_CHECK(!verifies(std::string_view(tok).substr(0, tok.size() - 1), host),
             "truncated token verifies");
  FUZZ_CHECK(!verifies(tok + kAlphabet[replacement % 64], host), "extended token verifies");

  // One changed byte of the decoded token, re-encoded canonically.
  auto raw = token::base64url_decode(tok);
  FUZZ_CHECK(raw.ok(), "encode() output is not canonical base64url");
  std::string flipped = *raw;
  flipped[position % flipped.size()] ^= static_cast<char>(replacement == 0 ? 1 : replacement);
  FUZZ_CHECK(!verifies(token::base64url_encode(flipped), host),
             "token verifies with byte " + std::to_string(position % flipped.size()) + " changed");
  return 0;
}

}  // namespace trackrelay::fuzz
