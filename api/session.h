// api/session.h — the dashboard's sign-in sessions.
//
// Owns: session ids (256 random bits, sent only in the HttpOnly cookie and
// kept here only as their SHA-256), each session's CSRF token (256 random
// bits, compared in constant time), idle expiry, a bound on the number of
// sessions (the least recently used goes first), and the throttle on failed
// sign-ins. Sessions live in the memory of the serving process: a restart
// signs everyone out. May call: base/, OpenSSL.
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
  static constexpr int kMaxFailuresPerMinute = 10;

  // `clock`: steady_clock::now when empty (tests pass their own).
  explicit Sessions(Clock clock = {});

  // Who a session acts as.
  struct Identity {
    bool admin = false;      // the admin password: the primary account
    std::string key;         // the API key signed in with (re-checked on every request)
    std::string admin_hash;  // dashboard.admin_password_hash at sign-in (a new one ends it)
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

  // Failed sign-ins: at most kMaxFailuresPerMinute per minute, for everyone
  // (the API listener is private; this bounds guessing and PBKDF2 work).
  bool may_try();
  void failed();

 private:
  struct Entry {
    Identity who;
    std::string csrf;
    std::chrono::steady_clock::time_point used;
  };
  std::chrono::steady_clock::time_point now() const;

  Clock clock_;
  std::mutex mu_;
  std::map<std::string, Entry> by_hash_;  // SHA-256(id), hex → session
  std::deque<std::chrono::steady_clock::time_point> failures_;
};

// The value of cookie `name` in a Cookie header, or "".
std::string_view cookie_value(std::string_view header, std::string_view name);
// True when a and b are equal, in time that does not depend on where they differ.
bool equal_secrets(std::string_view a, std::string_view b);

}  // namespace trackrelay::api
