// fuzz/fuzz_ari.h — fuzz target body for what an ACME server's renewalInfo
// answer (RFC 9773) can make the manager believe (acme/ari.h): the Retry-After
// header, RFC 3339 date-times, the suggestedWindow body, and a certificate's
// ARI identifier.
//
// Input: line 0 is a Retry-After header value, line 1 an RFC 3339
// date-time, the rest a renewalInfo body (any bytes; when it holds a PEM
// certificate, its ARI identifier is computed too).
//
// Invariants:
//  * Retry-After is always inside [kAriMinRetry, kAriMaxRetry];
//  * an accepted date-time is a real instant: printed back in UTC with its
//    milliseconds it parses to the same value, and a date-time already in
//    that canonical form ("YYYY-MM-DDTHH:MM:SS[.mmm]Z", seconds < 60) prints
//    back to exactly its own text (so "2025-02-31" is refused, not moved to
//    March);
//  * an accepted window has start <= end, both accepted date-times, and
//    choose_in_window() stays inside it for any random number;
//  * an identifier is two non-empty base64url halves joined by one '.'.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <limits>
#include <string>
#include <string_view>

#include "acme/ari.h"
#include "fuzz/fuzz_common.h"

namespace trackrelay::fuzz {
namespace ari_detail {

// "YYYY-MM-DDTHH:MM:SS.mmmZ" of `ms` (UTC); "" when gmtime cannot say.
inline std::string utc_text(std::int64_t ms, bool with_ms) {
  std::int64_t secs = ms / 1000;
  std::int64_t frac = ms % 1000;
  if (frac < 0) {
    frac += 1000;
    secs -= 1;
  }
  const auto t = static_cast<std::time_t>(secs);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return "";
  char buf[64];
  const int n =
      with_ms ? std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                              tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                              tm.tm_sec, static_cast<int>(frac))
              : std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                              tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

inline bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// "YYYY-MM-DDTHH:MM:SSZ" or "YYYY-MM-DDTHH:MM:SS.mmmZ", seconds below 60.
inline bool canonical(std::string_view s) {
  if (s.size() != 20 && s.size() != 24) return false;
  const std::string_view shape =
      s.size() == 20 ? "dddd-dd-ddTdd:dd:ddZ" : std::string_view("dddd-dd-ddTdd:dd:dd.dddZ");
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (shape[i] == 'd' ? !is_digit(s[i]) : s[i] != shape[i]) return false;
  }
  return s[17] < '6';
}

inline void check_date_time(std::string_view text) {
  auto ms = acme::parse_rfc3339(text);
  if (!ms) return;
  const std::string back = utc_text(*ms, true);
  FUZZ_CHECK(!back.empty(), "an accepted date-time gmtime cannot print: " + escaped(text));
  auto again = acme::parse_rfc3339(back);
  FUZZ_CHECK(again && *again == *ms,
             "printed back, it parses differently: " + escaped(text) + " -> " + back);
  if (canonical(text)) {
    FUZZ_CHECK(utc_text(*ms, text.size() == 24) == text,
               "a canonical date-time is not the instant it names: " + escaped(text) + " -> " +
                   utc_text(*ms, text.size() == 24));
  }
}

inline bool base64url(std::string_view s) {
  for (const char c : s) {
    const bool ok =
        is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return !s.empty();
}

}  // namespace ari_detail

inline int check_ari(const std::uint8_t* data, std::size_t size) {
  using namespace ari_detail;
  std::string_view in = as_view(data, size);
  std::string_view f[3];
  for (int i = 0; i < 2; ++i) {
    const auto nl = in.find('\n');
    f[i] = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  }
  f[2] = in;
  constexpr std::int64_t kNow = 1795000000000;  // 2026-11-18

  const auto retry = acme::ari_retry_after(f[0], kNow);
  FUZZ_CHECK(retry >= acme::kAriMinRetry && retry <= acme::kAriMaxRetry,
             "Retry-After outside the clamp: " + escaped(f[0]));

  check_date_time(f[1]);

  if (auto w = acme::parse_renewal_window(f[2]); w) {
    FUZZ_CHECK(w->start_ms <= w->end_ms, "a window that ends before it starts");
    const std::uint64_t seed = size * 0x9e3779b97f4a7c15ULL;
    for (const std::uint64_t r :
         {std::uint64_t{0}, std::uint64_t{1}, seed, std::numeric_limits<std::uint64_t>::max()}) {
      const std::int64_t t = acme::choose_in_window(*w, r);
      FUZZ_CHECK(t >= w->start_ms && t <= w->end_ms, "a renewal time outside the window");
    }
  }

  if (f[2].find("-----BEGIN CERTIFICATE-----") != std::string_view::npos) {
    if (auto id = acme::ari_cert_id(f[2]); id) {
      const auto dot = id->find('.');
      FUZZ_CHECK(dot != std::string::npos && id->find('.', dot + 1) == std::string::npos &&
                     base64url(std::string_view(*id).substr(0, dot)) &&
                     base64url(std::string_view(*id).substr(dot + 1)),
                 "a malformed ARI identifier: " + escaped(*id));
    }
  }
  return 0;
}

}  // namespace trackrelay::fuzz
