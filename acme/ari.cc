// acme/ari.cc — see ari.h. May call: acme/https, base/, Boost.JSON, OpenSSL.
#include "acme/ari.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <ctime>
#include <memory>

#include "base/encoding.h"

namespace trackrelay::acme {
namespace {

namespace json = boost::json;

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};

// The content octets of an INTEGER's DER encoding (tag and length removed).
Result<std::string> serial_der(const ASN1_INTEGER* serial) {
  const int n = i2d_ASN1_INTEGER(serial, nullptr);
  if (n <= 2) return Error{"the certificate's serial cannot be encoded"};
  std::string der(static_cast<std::size_t>(n), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_ASN1_INTEGER(serial, &p);
  const auto len = static_cast<unsigned char>(der[1]);
  const std::size_t skip = 2 + ((len & 0x80) != 0 ? (len & 0x7f) : 0);
  if (skip >= der.size()) return Error{"the certificate's serial cannot be encoded"};
  return der.substr(skip);
}

bool digits(std::string_view s, std::size_t at, std::size_t n) {
  if (at + n > s.size()) return false;
  return std::all_of(s.begin() + at, s.begin() + at + n,
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; });
}

int num(std::string_view s, std::size_t at, std::size_t n) {
  int v = 0;
  for (std::size_t i = at; i < at + n; ++i) v = v * 10 + (s[i] - '0');
  return v;
}

// RFC 3339 §5.7's table; `month` 0-11.
int days_in_month(int year, int month) {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 1 && leap ? 29 : kDays[month];
}

// Milliseconds of the fraction at s[at] ('.' digits), advancing `at`.
std::int64_t fraction_ms(std::string_view s, std::size_t& at) {
  if (at >= s.size() || s[at] != '.') return 0;
  std::int64_t ms = 0;
  int scale = 100;
  for (++at; at < s.size() && std::isdigit(static_cast<unsigned char>(s[at])) != 0; ++at) {
    ms += (s[at] - '0') * scale;
    scale /= 10;
  }
  return ms;
}

}  // namespace

std::string ari_id(std::string_view key_identifier, std::string_view serial) {
  return base64url_encode(key_identifier) + "." + base64url_encode(serial);
}

Result<std::string> ari_cert_id(std::string_view chain_pem) {
  std::unique_ptr<BIO, BioFree> bio(
      BIO_new_mem_buf(chain_pem.data(), static_cast<int>(chain_pem.size())));
  if (!bio) return Error{"out of memory"};
  std::unique_ptr<X509, X509Free> leaf(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!leaf) return Error{"the chain has no PEM certificate"};
  const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(leaf.get());
  if (aki == nullptr || ASN1_STRING_length(aki) <= 0) {
    return Error{"the certificate has no authority key identifier"};
  }
  auto serial = serial_der(X509_get0_serialNumber(leaf.get()));
  if (!serial) return Error{serial.error()};
  const std::string key_id(reinterpret_cast<const char*>(ASN1_STRING_get0_data(aki)),
                           static_cast<std::size_t>(ASN1_STRING_length(aki)));
  return ari_id(key_id, *serial);
}

Result<std::int64_t> parse_rfc3339(std::string_view s) {
  const Error bad{"not an RFC 3339 date-time: \"" + std::string(s.substr(0, 64)) + "\""};
  if (!digits(s, 0, 4) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2) || s[7] != '-' ||
      !digits(s, 8, 2) || (s[10] != 'T' && s[10] != 't') || !digits(s, 11, 2) || s[13] != ':' ||
      !digits(s, 14, 2) || s[16] != ':' || !digits(s, 17, 2)) {
    return bad;
  }
  struct tm tm {};
  tm.tm_year = num(s, 0, 4) - 1900;
  tm.tm_mon = num(s, 5, 2) - 1;
  tm.tm_mday = num(s, 8, 2);
  tm.tm_hour = num(s, 11, 2);
  tm.tm_min = num(s, 14, 2);
  tm.tm_sec = num(s, 17, 2);
  if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 ||
      tm.tm_mday > days_in_month(tm.tm_year + 1900, tm.tm_mon) || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60) {
    return bad;  // §5.7: no "February 31" (timegm would move it into March)
  }
  std::size_t at = 19;
  if (at < s.size() && s[at] == '.' && !digits(s, at + 1, 1)) return bad;  // "." needs a digit
  const std::int64_t ms = fraction_ms(s, at);
  std::int64_t offset_s = 0;
  if (at + 1 == s.size() && (s[at] == 'Z' || s[at] == 'z')) {
    offset_s = 0;
  } else if (at + 6 == s.size() && (s[at] == '+' || s[at] == '-') && digits(s, at + 1, 2) &&
             s[at + 3] == ':' && digits(s, at + 4, 2)) {
    offset_s = (num(s, at + 1, 2) * 3600 + num(s, at + 4, 2) * 60) * (s[at] == '-' ? -1 : 1);
  } else {
    return bad;
  }
  const std::int64_t secs = static_cast<std::int64_t>(timegm(&tm)) - offset_s;
  return secs * 1000 + ms;
}

Result<RenewalWindow> parse_renewal_window(std::string_view body) {
  boost::system::error_code ec;
  const json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return Error{"renewalInfo: the answer is not a JSON object"};
  const json::value* w = v.as_object().if_contains("suggestedWindow");
  if (w == nullptr || !w->is_object()) return Error{"renewalInfo: no suggestedWindow object"};
  const json::value* start = w->as_object().if_contains("start");
  const json::value* end = w->as_object().if_contains("end");
  if (start == nullptr || !start->is_string() || end == nullptr || !end->is_string()) {
    return Error{"renewalInfo: suggestedWindow lacks start or end"};
  }
  auto s = parse_rfc3339(start->as_string());
  auto e = parse_rfc3339(end->as_string());
  if (!s || !e) return Error{"renewalInfo: suggestedWindow: " + (!s ? s.error() : e.error())};
  if (*e < *s) return Error{"renewalInfo: suggestedWindow ends before it starts"};
  RenewalWindow out{*s, *e, {}};
  if (const json::value* u = v.as_object().if_contains("explanationURL");
      u != nullptr && u->is_string()) {
    out.explanation_url = std::string(u->as_string());
  }
  return out;
}

std::chrono::seconds ari_retry_after(std::string_view header, std::int64_t now_ms) {
  std::int64_t secs = 0;
  if (header.empty()) return kAriDefaultRetry;
  if (std::all_of(header.begin(), header.end(),
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; })) {
    secs = header.size() > 9 ? kAriMaxRetry.count() : std::stoll(std::string(header));
  } else {
    struct tm tm {};
    const std::string h(header);
    const char* end = strptime(h.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (end == nullptr || *end != '\0') return kAriDefaultRetry;  // unreadable
    secs = std::max<std::int64_t>(0, timegm(&tm) - now_ms / 1000);
  }
  return std::clamp(std::chrono::seconds(secs), kAriMinRetry, kAriMaxRetry);
}

std::int64_t choose_in_window(const RenewalWindow& w, std::uint64_t random) {
  if (w.end_ms <= w.start_ms) return w.start_ms;
  const auto span = static_cast<std::uint64_t>(w.end_ms - w.start_ms) + 1;
  return w.start_ms + static_cast<std::int64_t>(random % span);
}

Result<std::string> fetch_renewal_info_url(const HttpsOptions& https,
                                           const std::string& directory_url) {
  auto r = https_request(https, "GET", directory_url);
  if (!r) return Error{r.error()};
  if (r->status != 200) {
    return Error{"directory " + directory_url + ": HTTP " + std::to_string(r->status)};
  }
  boost::system::error_code ec;
  const json::value v = json::parse(r->body, ec);
  if (ec || !v.is_object()) return Error{"directory " + directory_url + ": not a JSON object"};
  const json::value* u = v.as_object().if_contains("renewalInfo");
  return u != nullptr && u->is_string() ? std::string(u->as_string()) : std::string();
}

Result<RenewalInfo> fetch_renewal_info(const HttpsOptions& https,
                                       const std::string& renewal_info_url, const std::string& id,
                                       std::int64_t now_ms) {
  std::string url = renewal_info_url;
  if (url.empty() || url.back() != '/') url += '/';
  url += id;
  auto r = https_request(https, "GET", url);
  if (!r) return Error{r.error()};
  if (r->status != 200) return Error{"GET " + url + ": HTTP " + std::to_string(r->status)};
  auto w = parse_renewal_window(r->body);
  if (!w) return Error{"GET " + url + ": " + w.error()};
  return RenewalInfo{std::move(w).value(), ari_retry_after(r->retry_after, now_ms)};
}

}  // namespace trackrelay::acme
