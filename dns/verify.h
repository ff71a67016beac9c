// dns/verify.h — verifying that a tracking domain points at the tracker.
//
// Owns: what a CNAME lookup means for a tracking domain (valid / invalid /
// pending, and the sentence that says what was found and what was expected),
// the HTTP challenge for domains whose CNAME a CDN flattens, and the state
// rules of manual and periodic verification (flap protection: a verified
// domain turns invalid only after N consecutive definite failures in
// periodic checks, never because of a timeout or SERVFAIL).
// May call: dns/resolver.h, net/address.h, base/, Boost.Beast (the challenge's HTTP GET).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "dns/resolver.h"

namespace trackrelay::dns {

// How a domain was checked: its CNAME, or the HTTP challenge.
enum class Method { kCname, kHttp };

struct Check {
  std::string cname_status;  // "valid", "invalid" (definite), "pending" (no definite answer)
  std::string found;         // the CNAME found ("" when none)
  std::string
      message;  // "click.example.com has CNAME spgo.example.net; expected track.example.net"
  // For the operator's log only, never for the tenant: the HTTP challenge's
  // addresses, status and connection error ("" when there is nothing more).
  std::string detail;
  Method method = Method::kCname;  // last: Check{status, found, message, detail} stays valid
};

// Looks up `domain`'s CNAME and compares it with `expected` (the system
// domain), case-insensitively, trailing dots ignored. Both are A-labels.
Check check_cname(Resolver& resolver, std::string_view domain, std::string_view expected);

// The HTTP challenge: GET http://<domain>:<port>/.well-known/trackrelay/<token>
// through the addresses `resolver` gives for `domain`; valid when the body
// is the token. Any failure to get an answer is "pending"; a wrong body or
// status "invalid".
//
// SSRF: the name is the tenant's, so it connects only to the resolved
// addresses that are global unicast (net::is_global_unicast) unless
// `allow_private` (dns.allow_private_addresses); a name with none of those
// is "invalid" without any connection. It connects to the checked addresses
// themselves (no second resolution: DNS rebinding), follows no redirect, and
// `timeout_ms` bounds connecting, sending and reading together. The message
// says only "could not fetch the challenge" (never an address, status or
// error); `detail` has those for the log.
Check check_http(Resolver& resolver, std::string_view domain, std::uint16_t port,
                 std::string_view token, int timeout_ms, bool allow_private);

// What check_http puts in Check::found: the stored row keeps it, and
// method_of() reads the method of the last check back from it.
inline constexpr std::string_view kFoundHttpAnswered = "HTTP challenge answered";
inline constexpr std::string_view kFoundHttpNotAnswered = "HTTP challenge not answered";

// The method of the check that wrote `found` (a stored Check::found): kHttp
// for exactly check_http's two values above, kCname for anything else.
Method method_of(std::string_view found);

// The path the tracker answers the challenge on.
std::string challenge_path(std::string_view token);
inline constexpr std::string_view kChallengePrefix = "/.well-known/trackrelay/";

// The stored verification state of one domain.
struct State {
  bool verified = false;
  std::string cname_status = "unverified";
  int failures = 0;  // consecutive definite failures seen by periodic checks
};

// A verification the operator asked for (API verify): definite results apply
// at once; a pending result never un-verifies a verified domain.
State after_manual(const State& before, const Check& check);
// A periodic re-verification: valid verifies; a definite failure of a
// verified domain counts, and only the `threshold`-th in a row makes it
// invalid; pending changes nothing (and does not reset the count).
State after_periodic(const State& before, const Check& check, int threshold);

}  // namespace trackrelay::dns
