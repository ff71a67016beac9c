// store/event_store_pg.h — EventStore on PostgreSQL (`store:
// postgresql://…`): what EventStore (event_store.h) does when its store value
// is a URI, with the same durability contract. Internal to store/.
//
// Writes: one writer thread takes everything queued (up to
// Options::max_batch), fills the "join at write" fields from the messages'
// injections with one SELECT, inserts the batch with multi-row
// `INSERT … VALUES (…),(…) ON CONFLICT (event_id) DO NOTHING` (1000 rows a
// statement) in one transaction, commits once (PostgreSQL fsyncs its WAL),
// then completes every waiter of the batch.
//
// When the database fails (unreachable, restarting, refusing writes) and
// Options::spool_dir is set, the batch goes to the local spool
// (store/event_spool.h) instead, fsynced before the waiters complete (ok):
// the event is durable on this machine, and health() is not ok (reason,
// `spooling`) so /healthz answers 503. While the spool holds events, new
// batches are spooled behind them (order is kept); every
// Options::retry_ms the writer reconnects and ships the spool (idempotent by
// event_id), then writes to the database again. Spool files left by a writer
// that died are shipped at start and after every outage.
//
// A database that hangs rather than refuses (a partition, a stopped server)
// is a failure too: every round trip of the writer (connect, the join's
// SELECT, each INSERT, BEGIN/COMMIT) waits at most Options::round_trip_ms
// (PgConnection::ensure_connected(timeout), run_until()); past it the session
// is dropped and the batch spooled, so waiters complete within about two
// deadlines, never after the tracker's commit wait; a round trip is also cut
// at Options::wait_budget_ms after the batch's first event was queued (a
// database slow over several round trips, a lock holding the INSERT). An INSERT in flight on
// the dropped session may still run: shipping it again is harmless (ON
// CONFLICT (event_id) DO NOTHING). The spool is shipped a slice at a time
// (Options::round_trip_ms each, 250 events an INSERT), with the queued
// batches written or spooled between slices: an append never waits for a
// whole spool.
//
// Queries run through their own connection (store/event_sql.h), safe from any
// thread. May call: store/event_spool.h, store/event_sql.h, store/pg.h,
// store/db.h, base/, metrics/registry.h, libpq.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "store/event_store.h"

namespace trackrelay::store::internal {

class PgEvents {
 public:
  // Connects, brings the schema to this version and starts the writer. The
  // error names the server and database, never the password.
  static Result<std::unique_ptr<PgEvents>> open(Options options);
  ~PgEvents();  // completes every queued append (spooling what it must), then stops
  PgEvents(const PgEvents&) = delete;
  PgEvents& operator=(const PgEvents&) = delete;

  // Queues every item under one lock, so the writer takes them in one batch
  // (one transaction); clears `items`. See EventStore::append.
  void append(std::vector<EventStore::Item>& items);
  Result<Page> query(const store::Query& q) const;
  Result<std::int64_t> count() const;
  Result<std::int64_t> count(const store::Query& q) const;
  Health health() const;
  Stats stats() const;
  const std::string& path() const;

  struct Impl;
  explicit PgEvents(std::unique_ptr<Impl> impl);  // use open()

 private:
  std::unique_ptr<Impl> impl_;
};

// Completes items[from…] with the error of an append that could not queue
// them (closing, or the queue full); counts them as failed in `failed`.
void refuse(std::vector<EventStore::Item>& items, std::size_t from, bool stopping,
            std::atomic<std::uint64_t>& failed);

}  // namespace trackrelay::store::internal
