// store/cluster.h — what several `serve` processes sharing one PostgreSQL
// need beyond the tables (issue 15; docs/scaling.md): change notification
// and work that one node at a time must do.
//
// Owns: (1) ChangeListener: a dedicated libpq session that LISTENs on a
// channel (kDomainsChannel: the domain store's change counter, bumped by
// every domain, subaccount and certificate write, which NOTIFYs it in the
// same transaction; kChallengesChannel: ACME challenge puts and deletes) and runs a callback on
// every notification and once after every (re)connection, since changes made while the session was
// gone were not notified; (2) NodeLock: a session-level advisory lock on its own dedicated session
// (pg_try_advisory_lock), one per kind of single-node work (webhook dispatch, ACME issuance,
// re-verification). PostgreSQL releases it when the holder's session ends, so a dead node's work
// passes to another at its next try, with no lease to expire and no clock shared between nodes.
// SQLite (one machine) keeps polling and the lease rows; callers branch on
// is_database_uri() (store/location.h). May call: base/, store/pg.h, libpq.
//
// Thread safety: a ChangeListener runs its own thread (the callback runs on
// it); a NodeLock is used by one thread at a time (its owner's loop).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "base/result.h"

namespace trackrelay::store {

// The channel the domains change counter's bump NOTIFYs.
inline constexpr const char* kDomainsChannel = "trackrelay_domains";
// The channel a put or delete of an ACME challenge NOTIFYs (store/cert_store.h):
// every tracker re-reads the pending challenges it answers from memory.
inline constexpr const char* kChallengesChannel = "trackrelay_acme";

namespace internal {
class Connection;
// THE bump of the domains change counter, inside the caller's write
// transaction (domain_store.cc, cert_store.cc): on PostgreSQL it also
// NOTIFYs kDomainsChannel, delivered when (and only if) that transaction
// commits.
Result<bool> bump_domains_version(Connection& conn);
// NOTIFY kChallengesChannel inside the caller's write transaction on
// PostgreSQL (delivered on commit); nothing on SQLite.
Result<bool> notify_challenges(Connection& conn);
}  // namespace internal

class ChangeListener {
 public:
  // Starts the listening thread; connection errors are logged and retried
  // (every 1 s), never returned: a node keeps its last snapshot meanwhile.
  ChangeListener(std::string uri, std::string channel, std::function<void()> on_change);
  ~ChangeListener();  // stops and joins the thread
  ChangeListener(const ChangeListener&) = delete;
  ChangeListener& operator=(const ChangeListener&) = delete;

  // Sessions opened so far (1 after the first connection; tests and logs).
  int connections() const { return connections_.load(); }

 private:
  void run(std::stop_token st);
  std::string uri_;
  std::string channel_;
  std::function<void()> on_change_;
  std::atomic<int> connections_{0};
  std::jthread thread_;  // last: started after the members it reads
};

// The kinds of single-node work; the value is the advisory lock's second key
// (the first is kLockClass), so each has its own lock.
enum class Work : int { kWebhooks = 1, kAcme = 2, kReverify = 3 };
inline constexpr int kLockClass = 0x74726b72;  // "trkr"; two-key locks never meet pg's one-key ones

std::string_view work_name(Work w);

class NodeLock {
 public:
  NodeLock(std::string uri, Work work);
  ~NodeLock();  // closes the session, which releases the lock
  NodeLock(const NodeLock&) = delete;
  NodeLock& operator=(const NodeLock&) = delete;

  // Whether this node holds the lock now: takes it when free, or checks that
  // the session holding it is still alive (a lost session lost the lock;
  // the next call reconnects and tries again). Blocks for at most the
  // connect timeout (5 s unless the URI says otherwise).
  bool hold();
  // Gives the lock up (the session stays for the next hold()).
  void release();

 private:
  struct Session;
  std::string uri_;
  Work work_;
  std::unique_ptr<Session> session_;
  bool held_ = false;
  bool failing_ = false;  // the database failed: logged once until it works again

  void failed(const std::string& why);
};

}  // namespace trackrelay::store
