// relay/auth.cc — the credential table and AUTH PLAIN decoding (see auth.h).
// May call: base/.
#include "relay/auth.h"

#include "base/crypto.h"
#include "base/encoding.h"

namespace trackrelay::relay {

Result<Credentials> Credentials::parse(const std::vector<std::string>& entries) {
  Credentials c;
  for (const std::string& e : entries) {
    const std::size_t colon = e.find(':');
    if (colon == std::string::npos || colon == 0) {
      return Error{"relay.auth: expected 'user:pbkdf2-sha256$...' entries"};
    }
    auto h = parse_password_hash_format(std::string_view(e).substr(colon + 1));
    if (!h) return Error{"relay.auth: user '" + e.substr(0, colon) + "': " + h.error()};
    c.users_.push_back(User{e.substr(0, colon), std::move(*h)});
  }
  return c;
}

bool Credentials::check(std::string_view user, std::string_view password) const {
  for (const User& u : users_) {
    if (u.name == user) return verify_password(u.hash, password);
  }
  // Same work for an unknown user, so timing does not tell which users exist.
  if (!users_.empty()) (void)verify_password(users_.front().hash, password);
  return false;
}

Result<PlainCredentials> decode_plain(std::string_view base64_response) {
  auto raw = base64_decode(base64_response);
  if (!raw) return Error{raw.error()};
  const std::size_t a = raw->find('\0');
  const std::size_t b = a == std::string::npos ? a : raw->find('\0', a + 1);
  if (b == std::string::npos) return Error{"malformed PLAIN response"};
  PlainCredentials c;
  c.user = raw->substr(a + 1, b - a - 1);
  c.password = raw->substr(b + 1);
  const std::string authzid = raw->substr(0, a);
  if (!authzid.empty() && authzid != c.user) return Error{"authorization identity not allowed"};
  return c;
}

}  // namespace trackrelay::relay
