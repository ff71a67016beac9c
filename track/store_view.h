// track/store_view.h — the tracker's copy, in memory, of what it answers
// from the certificate store, so that its I/O thread never waits on the
// database (issue 15: a database that hangs must not stop redirects).
//
// Owns: the pending ACME challenges (HTTP-01 tokens and TLS-ALPN-01 names →
// key authorizations, store/cert_store.h), held as one immutable Challenges
// set that each read replaces whole, and the reading of the store's
// certificates; both read on one thread of its own. A database that hangs
// holds that thread, never a request: HTTP-01 requests and TLS-ALPN-01
// handshakes are answered from the last set read, and the certificates in
// use stay until a read returns.
//
// When it reads: the challenges at start, on refresh_challenges(), on
// PostgreSQL at once on NOTIFY store::kChallengesChannel (a ChangeListener
// of its own, store/cluster.h; it also reads after every reconnection) with
// a poll every `pg_poll` as the fallback, on SQLite every `poll`
// (store::kChallengePoll); the certificates at start and on
// refresh_certificates() (a reload; a domain change — certificate writes
// bump the domains change counter), each successful read handed to
// `on_certificates` on this view's thread. A failed read is logged once per
// streak and changes nothing. May call: store/, base/.
//
// Thread safety: challenge() and challenges() from any thread (a mutex
// guards only the swap of the set); refresh_*() from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "store/cert_store.h"
#include "store/cluster.h"
#include "store/last_known.h"

namespace trackrelay::track {

// The pending challenges at one moment: token → key authorization.
class Challenges {
 public:
  Challenges() = default;
  explicit Challenges(const std::vector<store::ChallengeRow>& rows);
  std::optional<std::string> find(std::string_view token) const;
  std::size_t size() const { return by_token_.size(); }

 private:
  std::map<std::string, std::string, std::less<>> by_token_;
};

struct StoreViewOptions {
  // The store value (store/location.h): a PostgreSQL URI gets a listener.
  std::string store;
  std::chrono::milliseconds poll = store::kChallengePoll;       // SQLite
  std::chrono::milliseconds pg_poll = store::kChallengePollPg;  // PostgreSQL: the fallback
  // Where each certificate read is kept on disk, and read back from when the
  // store fails (a start while PostgreSQL is unreachable; store/last_known.h,
  // the store_spool directory); "": nowhere.
  std::string last_known_dir;
  // Each certificate read (null: certificates are not read, no TLS listener).
  std::function<void(std::vector<store::CertificateRow>)> on_certificates;
};

class StoreView {
 public:
  // Starts the thread, which reads both at once.
  StoreView(std::unique_ptr<store::CertStore> store, StoreViewOptions options);
  // Stops and joins the thread (a read in flight on a hung database is
  // waited for: statements of the store have no deadline).
  ~StoreView();
  StoreView(const StoreView&) = delete;
  StoreView& operator=(const StoreView&) = delete;

  // The key authorization of a pending challenge, from memory.
  std::optional<std::string> challenge(std::string_view token) const;
  std::shared_ptr<const Challenges> challenges() const;
  // Asks the thread to read again (coalesced; returns at once).
  void refresh_challenges();
  void refresh_certificates();
  // Start-up: waits at most `timeout` for the first certificate read to
  // finish (successfully or not); false when it did not.
  bool wait_first_certificates(std::chrono::milliseconds timeout);
  // Challenge reads finished so far, and the sessions the PostgreSQL
  // listener has opened (0 on SQLite) (tests).
  std::uint64_t challenge_reads() const;
  int listener_connections() const { return listener_ ? listener_->connections() : 0; }

 private:
  void run(std::stop_token st);
  void read_challenges();
  void read_certificates();

  std::unique_ptr<store::CertStore> store_;  // the thread's only
  StoreViewOptions options_;
  store::LastKnown last_known_;  // the thread's only
  mutable std::mutex mu_;        // guards what follows up to the listener
  std::condition_variable_any cv_;
  bool want_challenges_ = true;
  bool want_certificates_ = true;
  std::uint64_t challenge_reads_ = 0;
  std::uint64_t certificate_reads_ = 0;
  std::shared_ptr<const Challenges> challenges_ = std::make_shared<const Challenges>();
  bool challenges_failing_ = false;  // the thread's: log a failing store once
  bool certificates_failing_ = false;
  std::unique_ptr<store::ChangeListener> listener_;  // PostgreSQL only
  std::jthread thread_;                              // last: stopped and joined first
};

}  // namespace trackrelay::track
