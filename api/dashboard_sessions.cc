// api/dashboard_sessions.cc — see dashboard_sessions.h. May call: base/, net/ (addresses), OpenSSL.
#include "api/dashboard_sessions.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>

#include "base/crypto.h"
#include "base/encoding.h"
#include "base/strings.h"
#include "net/address.h"

namespace trackrelay::api {
namespace {

// 256 random bits in hex; "" when there is no randomness (no session then).
std::string random_id() {
  return random_hex(32);
}

std::string digest(std::string_view id) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(id.data()), id.size(), md);
  return hex_encode(md, sizeof md);
}

}  // namespace

Sessions::Sessions(Clock clock) : clock_(std::move(clock)) {}

std::chrono::steady_clock::time_point Sessions::now() const {
  return clock_ ? clock_() : std::chrono::steady_clock::now();
}

std::string Sessions::account_of(const Identity& who) {
  return who.admin ? "admin" : "account " + std::to_string(who.account);
}

void Sessions::erase(Map::iterator it) {
  auto n = per_account_.find(account_of(it->second.who));
  if (n != per_account_.end() && --n->second == 0) per_account_.erase(n);
  by_hash_.erase(it);
}

void Sessions::evict_oldest_of(const std::string& account) {
  auto oldest = by_hash_.end();
  for (auto it = by_hash_.begin(); it != by_hash_.end(); ++it) {
    if (account_of(it->second.who) != account) continue;
    if (oldest == by_hash_.end() || it->second.used < oldest->second.used) oldest = it;
  }
  if (oldest != by_hash_.end()) erase(oldest);
}

std::optional<Sessions::Opened> Sessions::open(Identity who) {
  Opened out{random_id(), random_id()};
  if (out.id.empty() || out.csrf.empty()) return std::nullopt;
  std::lock_guard lock(mu_);
  const std::string account = account_of(who);
  if (per_account_[account] >= kMaxSessionsPerAccount) {
    evict_oldest_of(account);  // its own, never another account's
  } else if (by_hash_.size() >= kMaxSessions) {
    auto largest =
        std::max_element(per_account_.begin(), per_account_.end(),
                         [](const auto& a, const auto& b) { return a.second < b.second; });
    evict_oldest_of(largest->first);
  }
  by_hash_[digest(out.id)] = Entry{std::move(who), out.csrf, now()};
  ++per_account_[account];
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
    erase(it);
    return std::nullopt;
  }
  it->second.used = t;
  return Found{it->second.who, it->second.csrf};
}

void Sessions::close(std::string_view id) {
  const std::string h = digest(id);
  std::lock_guard lock(mu_);
  if (auto it = by_hash_.find(h); it != by_hash_.end()) erase(it);
}

void Sessions::forget_old_failures() {
  const auto t = now();
  for (auto it = failures_.begin(); it != failures_.end();) {
    auto& times = it->second;
    while (!times.empty() && t - times.front() > std::chrono::minutes(1)) times.pop_front();
    it = times.empty() ? failures_.erase(it) : std::next(it);
  }
}

bool Sessions::may_try(std::string_view client) {
  std::lock_guard lock(mu_);
  forget_old_failures();
  auto it = failures_.find(client);
  return it == failures_.end() ||
         it->second.size() < static_cast<std::size_t>(kMaxFailuresPerMinute);
}

void Sessions::failed(std::string_view client) {
  std::lock_guard lock(mu_);
  forget_old_failures();
  auto it = failures_.find(client);
  if (it == failures_.end()) {
    if (failures_.size() >= kMaxThrottled) {
      auto least_recent = std::min_element(
          failures_.begin(), failures_.end(),
          [](const auto& a, const auto& b) { return a.second.back() < b.second.back(); });
      failures_.erase(least_recent);
    }
    it = failures_.emplace(std::string(client), std::deque<std::chrono::steady_clock::time_point>{})
             .first;
  }
  it->second.push_back(now());
}

std::string client_of(std::string_view peer) {
  boost::system::error_code ec;
  const auto raw = boost::asio::ip::make_address(std::string(peer), ec);
  if (ec) return std::string(peer);
  const auto a = net::normalize(raw);
  if (a.is_v4()) return a.to_string();
  auto bytes = a.to_v6().to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return boost::asio::ip::address_v6(bytes).to_string() + "/64";
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
