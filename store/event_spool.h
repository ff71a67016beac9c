// store/event_spool.h — events waiting on local disk while the database
// (PostgreSQL) is unreachable: an append-only file per writer in one
// directory, fsynced before append() returns, shipped in order when the
// database is back and removed only after every event in it committed.
//
// Format (one file, `events-<pid>-<ms>-<n>.spool`): the line
// "trackrelay-event-spool 1\n", then records: 4-byte little-endian payload
// length, 4-byte little-endian CRC-32 (zlib) of the payload, the payload (the
// event as a JSON object, every field of store::Event but seq). Appends are
// one write() of whole records then fdatasync(); a failed append truncates
// the file back to its last good size, so it never holds a half record that
// was acknowledged.
//
// Shipping is idempotent: events keep their event_id, and the database
// ignores an event_id it already has (events.event_id is unique on
// PostgreSQL), so a crash between the commit and the file's removal ships
// the same events again without duplicates. A writer holds an exclusive
// flock() on its own file; drain() also ships files no live writer holds (a
// process that was killed with events spooled): any tracker sharing the
// directory picks them up. A file with a damaged record is shipped up to it
// and then kept, renamed `*.damaged`, and reported — never deleted.
//
// Used by one thread at a time (the event store's writer thread);
// pending() may be read from any thread. May call: base/, Boost.JSON, zlib.
// Called by store/event_store_pg.cc.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "store/event_store.h"

namespace trackrelay::store {

class EventSpool {
 public:
  // Ships a batch of events (in spool order); ok only once they committed.
  using Ship = std::function<Result<bool>(std::vector<Event>& batch)>;

  // Creates `dir` (and its parents) when missing. The error names the directory.
  static Result<std::unique_ptr<EventSpool>> open(std::string dir);
  ~EventSpool();
  EventSpool(const EventSpool&) = delete;
  EventSpool& operator=(const EventSpool&) = delete;

  // Appends every event to this writer's file (created on first use) and
  // fsyncs it; ok only when all of them are on disk.
  Result<bool> append(std::span<const Event> events);

  // Ships this writer's file, then every file in the directory that no
  // other live writer holds, `batch` events at a time, in file order; removes
  // each file once all its events shipped. Stops at the first failing ship
  // and returns its error (the file stays, to be shipped again). Returns the
  // number of events shipped. With `until`, stops after the first batch that
  // ends past it (unfinished() is then true) and the next drain resumes each
  // file where this one stopped (offsets kept in memory: a new process
  // starts from the beginning, which is harmless, shipping is idempotent).
  Result<std::size_t> drain(
      const Ship& ship, std::size_t batch,
      std::chrono::steady_clock::time_point until = std::chrono::steady_clock::time_point::max());
  // Whether the last drain() stopped at its `until` with events left.
  bool unfinished() const { return unfinished_; }

  // True when this writer's file holds events not yet shipped (new events
  // must then be spooled behind them, to keep their order).
  bool holding() const { return own_fd_ >= 0; }
  // Events appended and not yet shipped by this writer (its own file).
  std::uint64_t pending() const { return pending_.load(); }
  // Damaged records met while shipping (kept in *.damaged files).
  std::uint64_t damaged() const { return damaged_.load(); }
  const std::string& dir() const { return dir_; }

  explicit EventSpool(std::string dir);  // use open()

 private:
  Result<bool> create_own_file();
  Result<std::size_t> ship_file(const std::string& path, int fd, const Ship& ship,
                                std::size_t batch, std::chrono::steady_clock::time_point until);

  std::string dir_;
  std::string own_path_;  // this writer's file; "" until the first append
  int own_fd_ = -1;       // open and flock()ed while own_path_ holds events
  std::uint64_t own_size_ = 0;
  std::uint64_t files_made_ = 0;
  std::atomic<std::uint64_t> pending_{0};
  std::atomic<std::uint64_t> damaged_{0};
  std::map<std::string, std::uint64_t> resume_at_;  // file → offset an unfinished drain reached
  bool unfinished_ = false;
};

namespace internal {
// One record's payload and back (exposed for tests and the fuzzer).
std::string spool_payload(const Event& e);
Result<Event> spool_event(std::string_view payload);
}  // namespace internal

}  // namespace trackrelay::store
