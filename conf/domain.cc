// conf/domain.cc — domain-name rules: A-label normalisation (IDNA2008 via
// libidn2, then a strict LDH host-name check) and the tracking-domain rule
// "a proper subdomain of a registrable domain" (Public Suffix List via libpsl).
#include <idn2.h>
#include <libpsl.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "conf/config.h"
#include "conf/internal.h"

namespace trackrelay::conf {
namespace {

constexpr std::size_t kMaxLabel = 63;
constexpr std::size_t kMaxName = 253;

bool is_ascii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Whether `name` (lower-case ASCII) is a valid LDH host name; the error says what is wrong.
Result<void> check_ldh(std::string_view name) {
  if (name.size() > kMaxName) {
    return Error{"longer than " + std::to_string(kMaxName) + " characters", Errc::kInvalid};
  }
  std::size_t start = 0;
  std::string_view last;
  while (true) {
    const std::size_t dot = name.find('.', start);
    const std::string_view label =
        name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty()) return Error{"empty label", Errc::kInvalid};
    if (label.size() > kMaxLabel) {
      return Error{"label " + internal::in_quotes(label) + " is longer than " +
                       std::to_string(kMaxLabel) + " characters",
                   Errc::kInvalid};
    }
    for (char c : label) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok)
        return Error{"invalid character " + internal::in_quotes(std::string(1, c)) + " in label " +
                         internal::in_quotes(label),
                     Errc::kInvalid};
    }
    if (label.front() == '-' || label.back() == '-') {
      return Error{"label " + internal::in_quotes(label) + " starts or ends with a hyphen",
                   Errc::kInvalid};
    }
    last = label;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (last.find_first_not_of("0123456789") == std::string_view::npos) {
    return Error{"the last label is numeric (IP addresses are not domain names)", Errc::kInvalid};
  }
  return {};
}

struct PslFree {
  void operator()(psl_ctx_t* p) const { psl_free(p); }
};

// The packaged Public Suffix List (Debian: publicsuffix) when it is newer than
// libpsl's built-in copy. Loaded once; read-only afterwards.
const psl_ctx_t* psl() {
  static const std::unique_ptr<psl_ctx_t, PslFree> latest(psl_latest(nullptr));
  return latest ? latest.get() : psl_builtin();
}

}  // namespace

namespace internal {

std::string lookup_form(std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (is_ascii(host)) return ascii_lower(host);
  Result<std::string> a = to_alabel(host);
  return a.ok() ? std::move(a).value() : std::string();
}

}  // namespace internal

Result<std::string> to_alabel(std::string_view domain) {
  const std::string shown = internal::in_quotes(domain);
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  if (domain.empty()) return Error{"empty domain name", Errc::kInvalid};
  if (domain.find('\0') != std::string_view::npos) {
    return Error{shown + " is not a valid domain name: it contains a NUL byte", Errc::kInvalid};
  }
  const std::string input(domain);
  uint8_t* raw = nullptr;
  const int rc = idn2_lookup_u8(reinterpret_cast<const uint8_t*>(input.c_str()), &raw,
                                IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
  const std::unique_ptr<uint8_t, decltype(&idn2_free)> owned(raw, &idn2_free);
  if (rc != IDN2_OK) {
    return Error{shown + " is not a valid domain name: " + idn2_strerror(rc), Errc::kInvalid};
  }
  std::string out = ascii_lower(reinterpret_cast<const char*>(raw));
  if (auto ldh = check_ldh(out); !ldh) {
    return Error{shown + " is not a valid domain name: " + ldh.error(), ldh.code()};
  }
  return out;
}

TrackingDomainCheck check_tracking_domain(std::string_view alabel) {
  const std::string name(alabel);
  if (name.empty() || !is_ascii(name) || name != ascii_lower(name) || !check_ldh(name).ok()) {
    return TrackingDomainCheck::kInvalid;
  }
  // Listed suffixes (com, co.uk, github.io), without the implicit "*" rule...
  if (psl_is_public_suffix2(psl(), name.c_str(), PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE)) {
    return TrackingDomainCheck::kPublicSuffix;
  }
  // ...which still decides the registrable domain: "localhost" has none (it
  // is a top-level name), "foo.internal" is its own.
  const char* registrable = psl_registrable_domain(psl(), name.c_str());
  if (registrable == nullptr) return TrackingDomainCheck::kPublicSuffix;
  if (name == registrable) return TrackingDomainCheck::kRegistrableRoot;
  return TrackingDomainCheck::kOk;
}

std::string_view describe(TrackingDomainCheck check) {
  switch (check) {
    case TrackingDomainCheck::kOk:
      return "a subdomain of a registrable domain";
    case TrackingDomainCheck::kPublicSuffix:
      return "is a public suffix (a name under which anyone can register domains)";
    case TrackingDomainCheck::kRegistrableRoot:
      return "is a root domain; use a subdomain";
    case TrackingDomainCheck::kInvalid:
      return "is not a valid lower-case A-label domain name";
  }
  return "?";
}

}  // namespace trackrelay::conf
