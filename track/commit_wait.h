// track/commit_wait.h — the hand-off between the tracker's io_context and the
// event store's writer thread (issue 12).
//
// Owns: holding each request that produced an event until the store has
// committed it (or failed, or kMaxCommitWait passed), with no thread hand-off
// per request: the events produced in one round of the io_context go to the
// store together (one posted flush, so the writer wakes at most once for
// them), and the commits the writer reports come back in one posted drain per
// batch, not one post each. A waiter lives in its request's coroutine frame
// (a timer used as a condition): no allocation per request here. May call:
// store/event_store.h, base/, Boost.Asio.
//
// Threads: wait() and everything it calls run on the io_context's thread;
// committed() runs on the store's writer thread (it only queues and posts).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "store/event_store.h"

namespace trackrelay::track {

class CommitWait : public std::enable_shared_from_this<CommitWait> {
 public:
  // `store` must outlive every wait() (it does: the server owns both, and
  // destroying the store completes every queued append first).
  CommitWait(boost::asio::io_context& ioc, store::EventStore& store,
             std::chrono::milliseconds max_wait);

  // Hands `e` to the store and completes once its transaction has committed
  // (true), failed (false) or max_wait passed (false: the store hangs; the
  // response goes out without its event being durable, and the store's
  // health says why).
  boost::asio::awaitable<bool> wait(store::Event e);

  // Writer thread: the event `id` committed (ok) or failed.
  void committed(std::uint64_t id, bool ok);
  // The store is about to go: the events not yet handed over are handed
  // over now (destroying the store commits them); later ones fail at once.
  void close();

 private:
  struct Waiter {
    boost::asio::steady_timer timer;
    bool done = false;
    bool ok = false;
  };

  void flush();  // io thread: hands the round's events to the store
  void drain();  // io thread: resumes the waiters of the commits reported
  Waiter*& slot(std::uint64_t id) { return waiters_[id - first_id_]; }
  void release(std::uint64_t id);

  boost::asio::io_context& ioc_;
  store::EventStore* store_;  // null once closed
  const std::chrono::milliseconds max_wait_;

  // io thread only. waiters_[i] waits for id first_id_ + i (null: done or
  // gone); ids are given in order, so the front is trimmed as they finish.
  std::deque<Waiter*> waiters_;
  std::uint64_t first_id_ = 1;
  std::uint64_t next_id_ = 1;
  std::vector<store::EventStore::Item> outbox_;   // this round's; a flush is posted when non-empty
  std::vector<store::EventStore::Item> sending_;  // flush()'s, reused

  std::mutex mu_;                                         // guards reported_
  std::vector<std::pair<std::uint64_t, bool>> reported_;  // a drain is posted when non-empty
  std::vector<std::pair<std::uint64_t, bool>> draining_;  // drain()'s, reused
};

}  // namespace trackrelay::track
