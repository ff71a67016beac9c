// store/event_store.h — the durable record of engagement events (SQLite).
//
// Owns: the events database (one SQLite file in WAL mode), its versioned
// schema (PRAGMA user_version), group-committed appends and the queries the
// `events` command and the events API page through. May call: base/,
// metrics/registry.h (commit latency),
// SQLite. Called by track/ (append) and app/ (query); data flows
// click → track → store.
//
// Durability contract: append()'s completion runs only after the event's
// transaction has committed with synchronous=FULL (the WAL is fsynced), so a
// caller that answers its client from the completion never answers for an
// event that a crash could lose. Appends from any thread are queued; one
// writer thread takes everything queued (up to Options::max_batch), writes it
// in one transaction, commits once, then completes every waiter of the batch
// ("group commit": many requests share one fsync).
//
// A failing store (disk full, read-only file, I/O error) completes waiters
// with an error instead of blocking them, and health() says why until a
// later commit succeeds; callers serve their clients anyway and log.
//
// A `postgresql://…` store value puts the events in PostgreSQL
// (store/event_store_pg.h): the same contract, and while the database fails
// the batches go to the local spool (Options::spool_dir, store/event_spool.h)
// — completed ok once fsynced there, health() not ok with `spooling` set —
// and are shipped when it is back.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "metrics/registry.h"
#include "store/event_filter.h"
#include "store/location.h"

namespace trackrelay::store {

namespace internal {
class PgEvents;  // store/event_store_pg.h
}  // namespace internal

// One served click or open, or one recipient of a message the upstream
// accepted (an injection), as the events API shows it.
struct Event {
  std::int64_t seq = 0;           // assigned by the store: insertion order, the cursor
  std::string event_id;           // assigned by append() when empty: 64-bit random, decimal
  std::string type;               // "click", "open", "initial_open", "injection"
  std::int64_t timestamp_ms = 0;  // unix milliseconds, set by the caller
  std::string tracking_domain;
  std::string target_link_url;   // clicks only
  std::string target_link_name;  // clicks only
  std::string message_id;
  std::string rcpt_to;  // lower case; "" when the link was for several recipients
  std::string campaign_id;
  std::string sending_domain;
  std::string user_agent;
  std::string ip_address;
  std::string method;  // "GET" or "HEAD"
  // The (sub)account whose mail carried the link (token claim); 0: primary.
  // Who may see the event is decided by this, never by tracking_domain.
  std::int64_t subaccount_id = 0;
  // The message (issue 11). Injections carry all of these; a click or open
  // carries transmission_id and raw_rcpt_to from its token, and append()
  // fills the rest from the message's injection with the same
  // transmission_id (and rcpt_to, when known) as the batch is written: the
  // "join at write" — tokens stay short, redirects never read the store.
  std::string transmission_id;  // decimal digits; "" for tokens issued before it existed
  std::string raw_rcpt_to;      // the recipient as given in RCPT TO
  std::string rcpt_meta;        // X-MSYS-API metadata: a JSON object's text, "" for none
  std::string rcpt_tags;        // X-MSYS-API tags: a JSON array's text, "" for none
  std::string friendly_from;    // the From: header's address
  std::string msg_from;         // the envelope sender
  std::int64_t msg_size = 0;    // injections: the bytes forwarded upstream
  // Who made it (track/classify.h): "human", "apple_mpp", "image_proxy" or
  // "scanner", and the names of the rules that matched. Empty for events
  // recorded before schema version 6 (never classified).
  std::string classification;
  std::vector<std::string> classification_reasons;
  std::int64_t issued_at_s = 0;  // the token's issue time (classification input; not stored)
};

// What a page of events is selected by. All filters are ANDed.
struct Query {
  std::optional<std::int64_t> from_ms;    // timestamp >= from
  std::optional<std::int64_t> to_ms;      // timestamp <  to
  std::vector<std::string> types;         // empty: every type
  std::vector<std::string> campaign_ids;  // empty: every campaign
  // Only these tracking domains (a subaccount's view); empty: every domain,
  // unless only_listed_domains (then nothing matches).
  std::vector<std::string> tracking_domains;
  bool only_listed_domains = false;
  // Only the events of this (sub)account (a subaccount's view); nullopt: all.
  std::optional<std::int64_t> subaccount_id;
  // Further list filters (store/event_filter.h), ANDed with the above.
  std::vector<ColumnFilter> filters;
  std::size_t limit = 1000;  // 1..kMaxLimit
  bool newest_first = true;
  std::string cursor;  // from a previous Page::next_cursor; empty: the first page
};
inline constexpr std::size_t kMaxLimit = 10000;

struct Page {
  std::vector<Event> events;
  std::string next_cursor;  // empty when this is the last page
};

struct Health {
  bool ok = true;
  std::string reason;  // why not, e.g. "commit failed: database or disk is full"
  std::int64_t failing_since_ms = 0;
  // PostgreSQL with a spool: the database fails but appends still complete
  // ok once fsynced in the local spool (callers may wait for them).
  bool spooling = false;
};

struct Stats {
  std::uint64_t appended = 0;  // events committed
  std::uint64_t failed = 0;    // events whose batch failed
  std::uint64_t commits = 0;   // transactions committed (batches)
};

using Clock = std::function<std::chrono::system_clock::time_point()>;

struct Options {
  std::string path;                // the database file; its directory must exist
  bool create = true;              // create the file and schema when missing
  std::size_t max_batch = 8192;    // events per transaction at most
  std::size_t max_queue = 262144;  // appends beyond this fail at once (store stalled)
  Clock clock;                     // default: system_clock::now (used for health times)
  // Test hook: SQLite's max_page_count, to make "disk full" deterministic. 0: unset.
  std::int64_t max_page_count = 0;
  // SQLite only: the writer's WAL frames written in 64 KiB pieces before each
  // commit's sync (store/wal_vfs.h); false: SQLite's own two writes per frame
  // (the baseline of bench/writer).
  bool combine_wal_writes = true;
  // Observes each group commit's duration in seconds (metrics/); null: none.
  metrics::Histogram* commit_seconds = nullptr;
  // PostgreSQL only (store_spool): where events wait on local disk while the
  // database fails; "" (tools, the API): appends then fail like SQLite's.
  std::string spool_dir;
  // PostgreSQL only: how often a writer with spooled events reconnects and ships them.
  std::int64_t retry_ms = 1000;
  // PostgreSQL only: the deadline of each round trip of the writer (connect,
  // the join's SELECT, each INSERT, BEGIN/COMMIT). Past it the session is
  // dropped and the batch is spooled (a database that hangs, not refuses).
  // Keep it well under the tracker's 2 s commit wait: a click can wait for
  // two of them (the batch before it, then its own).
  std::int64_t round_trip_ms = 500;
  // PostgreSQL only: how long after its first event was queued a batch may
  // still wait for the database; a round trip is cut (as above) when it would
  // end later. A database that answers each round trip in time but is slow
  // over all of them (or a queue behind a slow batch) spools too, so the
  // waiter completes before the tracker's 2 s commit wait gives up on it.
  std::int64_t wait_budget_ms = 1500;
  // PostgreSQL only: what an unreachable server means at open (location.h).
  // kWhenReachable: the writer starts as during an outage — with spool_dir,
  // appends are spooled (health() not ok, `spooling`) and shipped once the
  // database answers; without, appends fail until it answers. Reads fail
  // with kUnavailable meanwhile.
  Connect connect = Connect::kNow;
};

// The current schema version; a file with a newer one is refused.
inline constexpr int kSchemaVersion = 8;  // store/schema.cc: the tables and migrations

class EventStore {
 public:
  using Done = std::function<void(const Result<bool>&)>;

  // Opens (and, when allowed, creates or migrates) the database and starts the
  // writer thread. The error names the file and what SQLite said.
  static Result<std::unique_ptr<EventStore>> open(Options options);
  // Completes every queued append (committing what it can), then stops.
  ~EventStore();
  EventStore(const EventStore&) = delete;
  EventStore& operator=(const EventStore&) = delete;

  // Queues `e`; `done` runs on the writer thread once the batch holding it has
  // committed (ok) or failed (the error). Never blocks on I/O; when the queue
  // is over Options::max_queue (the disk stalls), `done` runs at once with an
  // error. `done` must be cheap: it delays the batch's other waiters.
  void append(Event e, Done done);
  // append() for several events at once: queued under one lock, the writer
  // woken at most once (the tracker hands over one io_context round's
  // events together, track/commit_wait.h). Moves the events out and clears
  // `items` (its capacity stays with the caller).
  struct Item {
    Event event;
    Done done;
  };
  void append(std::vector<Item>& items);
  // append() and wait: for tools and tests.
  Result<bool> append_and_wait(Event e);
  // Appends every event (queued together, so usually one transaction) and
  // waits until all have committed, at most `max_wait` (a hung disk must not
  // hold the caller: the events may still commit later); the error when any
  // failed or the wait ran out. For the relay's injections: one durable
  // write per accepted message.
  Result<bool> append_all_and_wait(std::vector<Event> events,
                                   std::chrono::milliseconds max_wait = std::chrono::hours(1));

  // Reads a page through its own connection (safe from any thread, and
  // concurrent with appends: WAL readers never block the writer).
  Result<Page> query(const Query& q) const;
  Result<std::int64_t> count() const;
  // The number of events `q` selects on all its pages (limit and cursor ignored).
  Result<std::int64_t> count(const Query& q) const;

  Health health() const;
  Stats stats() const;
  const std::string& path() const;

  struct Impl;
  explicit EventStore(std::unique_ptr<Impl> impl);  // use open()
  explicit EventStore(std::unique_ptr<internal::PgEvents> pg);

 private:
  std::unique_ptr<Impl> impl_;              // SQLite
  std::unique_ptr<internal::PgEvents> pg_;  // PostgreSQL (store/event_store_pg.h)
};

// "click", "open", "initial_open", "injection"; false for anything else.
bool is_event_type(std::string_view type);

// The Selection (event_filter.h) that `q` describes, without paging.
Selection selection_of(const Query& q);

}  // namespace trackrelay::store
