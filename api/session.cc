// api/session.cc — see session.h. May call: base/, OpenSSL.
#include "api/session.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>

#include "base/strings.h"

namespace trackrelay::api {
namespace {

constexpr char kHex[] = "0123456789abcdef";

std::string hex(const unsigned char* p, std::size_t n) {
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(kHex[p[i] >> 4]);
    out.push_back(kHex[p[i] & 15]);
  }
  return out;
}

// 256 random bits in hex; "" when there is no randomness (no session then).
std::string random_hex() {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) return {};
  return hex(raw, sizeof raw);
}

std::string digest(std::string_view id) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(id.data()), id.size(), md);
  return hex(md, sizeof md);
}

}  // namespace

Sessions::Sessions(Clock clock) : clock_(std::move(clock)) {}

std::chrono::steady_clock::time_point Sessions::now() const {
  return clock_ ? clock_() : std::chrono::steady_clock::now();
}

std::optional<Sessions::Opened> Sessions::open(Identity who) {
  Opened out{random_hex(), random_hex()};
  if (out.id.empty() || out.csrf.empty()) return std::nullopt;
  std::lock_guard lock(mu_);
  if (by_hash_.size() >= kMaxSessions) {
    auto oldest = std::min_element(
        by_hash_.begin(), by_hash_.end(),
        [](const auto& a, const auto& b) { return a.second.used < b.second.used; });
    by_hash_.erase(oldest);
  }
  by_hash_[digest(out.id)] = Entry{std::move(who), out.csrf, now()};
  return out;
}

std::optional<Sessions::Found> Sessions::find(std::string_view id, std::chrono::seconds timeout) {
  if (id.size() != 64) return std::nullopt;
  const std::string h = digest(id);
  std::lock_guard lock(mu_);
  auto it = by_hash_.find(h);
  if (it == by_hash_.end()) return std::nullopt;
  const auto t = now();
  if (t - it->second.used > timeout) {
    by_hash_.erase(it);
    return std::nullopt;
  }
  it->second.used = t;
  return Found{it->second.who, it->second.csrf};
}

void Sessions::close(std::string_view id) {
  const std::string h = digest(id);
  std::lock_guard lock(mu_);
  by_hash_.erase(h);
}

bool Sessions::may_try() {
  std::lock_guard lock(mu_);
  const auto t = now();
  while (!failures_.empty() && t - failures_.front() > std::chrono::minutes(1)) {
    failures_.pop_front();
  }
  return failures_.size() < static_cast<std::size_t>(kMaxFailuresPerMinute);
}

void Sessions::failed() {
  std::lock_guard lock(mu_);
  failures_.push_back(now());
}

std::string_view cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const auto semi = header.find(';');
    const std::string_view item = trim(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    const auto eq = item.find('=');
    if (eq != std::string_view::npos && trim(item.substr(0, eq)) == name) {
      std::string_view v = trim(item.substr(eq + 1));
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      return v;
    }
  }
  return {};
}

bool equal_secrets(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace trackrelay::api
