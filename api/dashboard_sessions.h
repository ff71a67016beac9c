// api/dashboard_sessions.h — the dashboard's sign-in sessions.
//
// Owns: session ids (256 random bits, sent only in the HttpOnly cookie and
// kept here only as their SHA-256), each session's CSRF token (256 random
// bits, compared in constant time), idle expiry, bounds on the number of
// sessions (per account, so that one key cannot evict the sessions of
// others; then in all, taken from the account that holds the most), and the
// throttle on failed sign-ins (per client address). Sessions live in the memory of the serving
// process: a restart signs everyone out. May call: base/, net/ (addresses), OpenSSL.
//
// Thread-safe: one mutex; every method may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace trackrelay::api {

class Sessions {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  static constexpr std::size_t kMaxSessions = 10000;
  // Sessions of one account ("admin", or the key's account); its least
  // recently used one goes first.
  static constexpr std::size_t kMaxSessionsPerAccount = 100;
  static constexpr int kMaxFailuresPerMinute = 10;     // per client address
  static constexpr std::size_t kMaxThrottled = 10000;  // addresses remembered

  // `clock`: steady_clock::now when empty (tests pass their own).
  explicit Sessions(Clock clock = {});

  // Who a session acts as.
  struct Identity {
    bool admin = false;        // the admin password: the primary account
    std::string key;           // the API key signed in with (re-checked on every request)
    std::string admin_hash;    // dashboard.admin_password_hash at sign-in (a new one ends it)
    std::int64_t account = 0;  // the key's account (0: primary); admin sessions count apart
  };
  struct Opened {
    std::string id;    // for the cookie
    std::string csrf;  // for the page (X-CSRF-Token)
  };
  // nullopt only when the system has no randomness to give.
  std::optional<Opened> open(Identity who);

  struct Found {
    Identity who;
    std::string csrf;
  };
  // The live session `id` names (and it counts as used now); nullopt when it
  // is unknown or has been idle longer than `timeout` (then it is dropped).
  std::optional<Found> find(std::string_view id, std::chrono::seconds timeout);
  void close(std::string_view id);

  // Failed sign-ins: at most kMaxFailuresPerMinute per minute from one
  // client (`client`: an IPv4 address, or an IPv6 /64 — client_of() below),
  // so that one client's guessing cannot lock everyone else out. At most
  // kMaxThrottled clients are remembered (the least recent is forgotten).
  bool may_try(std::string_view client);
  void failed(std::string_view client);

 private:
  struct Entry {
    Identity who;
    std::string csrf;
    std::chrono::steady_clock::time_point used;
  };
  using Map = std::map<std::string, Entry>;
  std::chrono::steady_clock::time_point now() const;
  static std::string account_of(const Identity& who);
  void erase(Map::iterator it);                      // mu_ held
  void evict_oldest_of(const std::string& account);  // mu_ held
  void forget_old_failures();                        // mu_ held

  Clock clock_;
  std::mutex mu_;
  Map by_hash_;                                     // SHA-256(id), hex → session
  std::map<std::string, std::size_t> per_account_;  // account_of() → sessions
  std::map<std::string, std::deque<std::chrono::steady_clock::time_point>, std::less<>>
      failures_;  // client → failed sign-ins in the last minute
};

// The throttle key of a peer address: the IPv4 address ("192.0.2.1", also
// for ::ffff:192.0.2.1), or an IPv6 address's /64 ("2001:db8:1:2::/64");
// the text as it is when it is not an address.
std::string client_of(std::string_view peer);

// The value of cookie `name` in a Cookie header, or "".
std::string_view cookie_value(std::string_view header, std::string_view name);
// True when a and b are equal, in time that does not depend on where they differ.
bool equal_secrets(std::string_view a, std::string_view b);

}  // namespace trackrelay::api
