// track/commit_wait.cc — see commit_wait.h. May call: store/event_store.h,
// base/, Boost.Asio.
#include "track/commit_wait.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace trackrelay::track {

namespace asio = boost::asio;

CommitWait::CommitWait(asio::io_context& ioc, store::EventStore& store,
                       std::chrono::milliseconds max_wait)
    : ioc_(ioc), store_(&store), max_wait_(max_wait) {}

asio::awaitable<bool> CommitWait::wait(store::Event e) {
  Waiter w{asio::steady_timer(ioc_)};
  const std::uint64_t id = next_id_++;
  waiters_.push_back(&w);
  const bool post = outbox_.empty();
  // [this, id]: small enough for std::function's in-place storage, so no
  // allocation; `this` outlives the store (commit_wait.h).
  outbox_.push_back(store::EventStore::Item{
      std::move(e), [this, id](const Result<bool>& r) { committed(id, r.ok()); }});
  if (post) asio::post(ioc_, [self = shared_from_this()] { self->flush(); });
  // drain() cancels the timer once the commit is reported; expiry means the
  // store did not answer in time. Either way `done` says which.
  w.timer.expires_after(max_wait_);
  (void)co_await w.timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (!w.done) release(id);
  co_return w.ok;
}

void CommitWait::flush() {
  sending_.swap(outbox_);
  if (store_ != nullptr) {
    store_->append(sending_);  // one lock, at most one wake-up of the writer
    return;
  }
  const Result<bool> closed = Error{"the event store is closing"};
  for (store::EventStore::Item& it : sending_) it.done(closed);
  sending_.clear();
}

void CommitWait::close() {
  flush();
  store_ = nullptr;
}

void CommitWait::committed(std::uint64_t id, bool ok) {
  bool post;
  {
    std::lock_guard lock(mu_);
    post = reported_.empty();
    reported_.emplace_back(id, ok);
  }
  if (post) asio::post(ioc_, [self = shared_from_this()] { self->drain(); });
}

void CommitWait::drain() {
  {
    std::lock_guard lock(mu_);
    draining_.swap(reported_);
  }
  for (const auto& [id, ok] : draining_) {
    if (id < first_id_ || id >= next_id_) continue;
    Waiter* w = slot(id);
    if (w == nullptr) continue;  // gave up waiting (max_wait)
    w->done = true;
    w->ok = ok;
    w->timer.cancel();
    release(id);
  }
  draining_.clear();
}

void CommitWait::release(std::uint64_t id) {
  slot(id) = nullptr;
  while (!waiters_.empty() && waiters_.front() == nullptr) {
    waiters_.pop_front();
    ++first_id_;
  }
}

}  // namespace trackrelay::track
