// store/event_store.cc — EventStore over SQLite (schema and migrations:
// store/schema.cc): the group-commit writer thread, queries. May call: base/, SQLite.
#include "store/event_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <utility>

#include "store/db.h"
#include "store/event_sql.h"
#include "store/event_store_pg.h"
#include "store/schema.h"
#include "store/statement.h"
#include "store/wal_vfs.h"

namespace trackrelay::store {
namespace {

using internal::Db;
using internal::errmsg;
using internal::exec;
using internal::open_db;
using internal::prepare;
using internal::query_int;
using internal::Stmt;

constexpr const char* kInsert =
    "INSERT INTO events (event_id, type, ts_ms, tracking_domain, target_link_url, "
    "target_link_name, message_id, rcpt_to, campaign_id, sending_domain, user_agent, ip_address, "
    "method, subaccount_id, transmission_id, raw_rcpt_to, rcpt_meta, rcpt_tags, friendly_from, "
    "msg_from, msg_size, classification, classification_reasons) VALUES (?1, ?2, ?3, ?4, ?5, "
    "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)";

// The message an engagement event belongs to: its injection (the recipient's
// when the token names one). Index events_transmission.
constexpr const char* kMessageOf =
    "SELECT raw_rcpt_to, rcpt_meta, rcpt_tags, friendly_from, msg_from, campaign_id FROM events "
    "WHERE transmission_id = ?1 AND type = 'injection' AND (?2 = '' OR rcpt_to = ?2) "
    "ORDER BY seq LIMIT 1";

// WAL checkpoints (copying committed pages into the database file, two
// fsyncs) run on their own thread and connection once the WAL holds this many
// frames, not inside the commit a request waits for (SQLite's default
// autocheckpoint: the same threshold, in the committing call). Should they
// fall behind this many frames, the writer checkpoints itself as before, so the WAL
// stays bounded.
constexpr int kCheckpointFrames = 1000;
constexpr int kInlineCheckpointFrames = 8 * kCheckpointFrames;

void bind_text(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
}

using internal::column_text;

std::int64_t to_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// Fills what an engagement event's token does not carry from its message's
// injection, when the store has it (written before the message was sent).
void join_message(sqlite3_stmt* s, Event& e) {
  if (e.type == "injection" || e.transmission_id.empty()) return;
  bind_text(s, 1, e.transmission_id);
  bind_text(s, 2, e.rcpt_to);
  if (sqlite3_step(s) == SQLITE_ROW) {
    auto fill = [&](std::string& field, int column) {
      if (field.empty()) field = column_text(s, column);
    };
    if (!e.rcpt_to.empty()) fill(e.raw_rcpt_to, 0);
    fill(e.rcpt_meta, 1);
    fill(e.rcpt_tags, 2);
    fill(e.friendly_from, 3);
    fill(e.msg_from, 4);
    fill(e.campaign_id, 5);
  }
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
}

void bind_event(sqlite3_stmt* s, const Event& e) {
  bind_text(s, 1, e.event_id);
  bind_text(s, 2, e.type);
  sqlite3_bind_int64(s, 3, e.timestamp_ms);
  bind_text(s, 4, e.tracking_domain);
  bind_text(s, 5, e.target_link_url);
  bind_text(s, 6, e.target_link_name);
  bind_text(s, 7, e.message_id);
  bind_text(s, 8, e.rcpt_to);
  bind_text(s, 9, e.campaign_id);
  bind_text(s, 10, e.sending_domain);
  bind_text(s, 11, e.user_agent);
  bind_text(s, 12, e.ip_address);
  bind_text(s, 13, e.method);
  sqlite3_bind_int64(s, 14, e.subaccount_id);
  bind_text(s, 15, e.transmission_id);
  bind_text(s, 16, e.raw_rcpt_to);
  bind_text(s, 17, e.rcpt_meta);
  bind_text(s, 18, e.rcpt_tags);
  bind_text(s, 19, e.friendly_from);
  bind_text(s, 20, e.msg_from);
  sqlite3_bind_int64(s, 21, e.msg_size);
  bind_text(s, 22, e.classification);
  const std::string reasons = internal::join_reasons(e.classification_reasons);
  sqlite3_bind_text(s, 23, reasons.data(), static_cast<int>(reasons.size()), SQLITE_TRANSIENT);
}

}  // namespace

bool is_event_type(std::string_view type) {
  return type == "click" || type == "open" || type == "initial_open" || type == "injection";
}

Selection selection_of(const Query& q) {
  Selection s;
  s.from_ms = q.from_ms;
  s.to_ms = q.to_ms;
  s.subaccount_id = q.subaccount_id;
  if (!q.types.empty()) s.filters.push_back({"type", q.types});
  if (!q.campaign_ids.empty()) s.filters.push_back({"campaign_id", q.campaign_ids});
  if (!q.tracking_domains.empty() || q.only_listed_domains) {
    s.filters.push_back({"tracking_domain", q.tracking_domains});
  }
  for (const ColumnFilter& f : q.filters) s.filters.push_back(f);
  return s;
}

struct EventStore::Impl {
  struct Pending {
    Event event;
    Done done;
  };

  Options options;
  Db writer_db;
  Stmt insert;
  Stmt message_of;                              // kMessageOf
  std::mt19937_64 ids{std::random_device{}()};  // writer thread only

  std::mutex mu;  // guards queue, stopping, health, idle
  std::condition_variable wake;
  std::vector<Pending> queue;
  bool stopping = false;
  // The writer waits on `wake` (nothing queued). An append notifies only
  // then: while a batch commits, appends queue without a wake-up each, and
  // the writer takes them all when its commit returns.
  bool idle = false;
  Health health;

  std::atomic<std::uint64_t> appended{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::uint64_t> commits{0};

  mutable std::mutex read_mu;  // guards read_db
  mutable Db read_db;

  std::thread writer;

  // The checkpointer (kCheckpointFrames): started by the writer the first
  // time the WAL is that long, woken by it after a commit.
  std::mutex ckpt_mu;  // guards ckpt_wanted, ckpt_stopping
  std::condition_variable ckpt_wake;
  bool ckpt_wanted = false;
  bool ckpt_stopping = false;
  std::thread checkpointer;  // writer thread starts it; the destructor joins it
  // Writer thread only (on_commit): the WAL's frames at the last commit, and
  // how many it must hold before the checkpointer is woken again.
  int ckpt_last = 0;
  int ckpt_next = kCheckpointFrames;

  void run();
  void checkpoint_loop(Db db);
  // sqlite3_wal_hook on the writer's connection: after every commit.
  static int on_commit(void* self, sqlite3* db, const char* name, int frames);
  Result<bool> write_batch(std::vector<Pending>& batch);
  Result<sqlite3*> reader() const;  // read_db, opened on first use; hold read_mu
  void set_health(const Result<bool>& r);
};

int EventStore::Impl::on_commit(void* self, sqlite3* db, const char* name, int frames) {
  auto* impl = static_cast<Impl*>(self);
  if (frames >= kInlineCheckpointFrames) {  // the checkpointer is behind
    (void)sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    return SQLITE_OK;
  }
  // Once per kCheckpointFrames new frames, not after every commit: a passive
  // checkpoint that runs while the writer commits never quite catches up, so
  // the WAL does not restart, and waking it after each commit copied the
  // same hot pages (the seven B-trees' rightmost leaves) with two fsyncs
  // every few commits — as much disk work as the commits themselves.
  if (frames < impl->ckpt_last) impl->ckpt_next = kCheckpointFrames;  // the WAL restarted
  impl->ckpt_last = frames;
  if (frames < impl->ckpt_next) return SQLITE_OK;
  impl->ckpt_next = frames + kCheckpointFrames;
  if (!impl->checkpointer.joinable()) {
    auto own = open_db(impl->options.path, false);
    if (!own) {  // checkpoint here, as SQLite would
      (void)sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      return SQLITE_OK;
    }
    impl->checkpointer = std::thread(&Impl::checkpoint_loop, impl, std::move(own).value());
  }
  {
    std::lock_guard lock(impl->ckpt_mu);
    if (impl->ckpt_wanted) return SQLITE_OK;
    impl->ckpt_wanted = true;
  }
  impl->ckpt_wake.notify_one();
  return SQLITE_OK;
}

// PASSIVE: never waits for the writer or readers; what it cannot copy yet is
// copied next time. A few passes let it catch up with the commits made
// meanwhile, so that the writer can restart the WAL from its beginning.
void EventStore::Impl::checkpoint_loop(Db db) {
  (void)exec(db.get(), "PRAGMA synchronous=FULL");
  for (;;) {
    {
      std::unique_lock lock(ckpt_mu);
      ckpt_wake.wait(lock, [this] { return ckpt_stopping || ckpt_wanted; });
      if (ckpt_stopping) return;
      ckpt_wanted = false;
    }
    for (int pass = 0; pass < 4; ++pass) {
      int log = 0;
      int copied = 0;
      const int rc =
          sqlite3_wal_checkpoint_v2(db.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
      if (rc != SQLITE_OK || log <= 0 || copied >= log) break;
    }
  }
}

void EventStore::Impl::run() {
  std::vector<Pending> batch;
  for (;;) {
    batch.clear();
    {
      std::unique_lock lock(mu);
      idle = true;
      wake.wait(lock, [this] { return stopping || !queue.empty(); });
      idle = false;
      if (queue.empty()) return;  // stopping, and everything is done
      if (queue.size() <= options.max_batch) {
        batch.swap(queue);
      } else {
        auto end = queue.begin() + static_cast<std::ptrdiff_t>(options.max_batch);
        std::move(queue.begin(), end, std::back_inserter(batch));
        queue.erase(queue.begin(), end);
      }
    }
    Result<bool> r = metrics::timed(options.commit_seconds, [&] { return write_batch(batch); });
    set_health(r);
    (r ? appended : failed) += batch.size();
    for (Pending& p : batch) {
      if (p.done) p.done(r);
    }
  }
}

Result<bool> EventStore::Impl::write_batch(std::vector<Pending>& batch) {
  sqlite3* db = writer_db.get();
  if (sqlite3_get_autocommit(db) == 0) (void)exec(db, "ROLLBACK");  // left over from a failure
  if (auto r = exec(db, "BEGIN IMMEDIATE"); !r) return Error{"begin failed: " + r.error()};
  sqlite3_stmt* s = insert.get();
  for (Pending& p : batch) {
    Event& e = p.event;
    if (e.event_id.empty()) e.event_id = std::to_string(ids() >> 1);
    join_message(message_of.get(), e);
    bind_event(s, e);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
      std::string msg = "insert failed: " + errmsg(db);
      sqlite3_clear_bindings(s);
      (void)exec(db, "ROLLBACK");
      return Error{msg};
    }
    e.seq = sqlite3_last_insert_rowid(db);
  }
  sqlite3_clear_bindings(s);
  if (auto r = exec(db, "COMMIT"); !r) {
    (void)exec(db, "ROLLBACK");
    return Error{"commit failed: " + r.error()};
  }
  ++commits;
  return true;
}

void EventStore::Impl::set_health(const Result<bool>& r) {
  std::lock_guard lock(mu);
  if (r) {
    if (!health.ok) {
      std::fprintf(stderr, "trackrelay: store: %s: recovered; events are recorded again\n",
                   options.path.c_str());
    }
    health = Health{};
    return;
  }
  if (health.ok) {
    health.failing_since_ms = to_ms(options.clock());
  }
  health.ok = false;
  health.reason = r.error();
  // Loud on purpose: served clicks are not being recorded.
  std::fprintf(stderr, "trackrelay: store: %s: EVENTS NOT RECORDED: %s\n", options.path.c_str(),
               r.error().c_str());
}

EventStore::EventStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EventStore::EventStore(std::unique_ptr<internal::PgEvents> pg) : pg_(std::move(pg)) {}

EventStore::~EventStore() {
  if (!impl_) return;  // PostgreSQL: pg_ stops its own writer
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->wake.notify_one();
  if (impl_->writer.joinable()) impl_->writer.join();
  {
    std::lock_guard lock(impl_->ckpt_mu);
    impl_->ckpt_stopping = true;
  }
  impl_->ckpt_wake.notify_one();
  if (impl_->checkpointer.joinable()) impl_->checkpointer.join();
}

Result<std::unique_ptr<EventStore>> EventStore::open(Options options) {
  if (options.path.empty()) return Error{"the event store path is empty"};
  if (internal::is_postgres_uri(options.path)) {
    auto pg = internal::PgEvents::open(std::move(options));
    if (!pg) return pg.failure();
    return std::make_unique<EventStore>(std::move(pg).value());
  }
  if (!options.clock) options.clock = [] { return std::chrono::system_clock::now(); };
  options.max_batch = std::max<std::size_t>(options.max_batch, 1);
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  const std::string& path = impl->options.path;
  // The writer's WAL frames go to the kernel in one write per commit (wal_vfs.h).
  auto db = open_db(path, impl->options.create,
                    impl->options.combine_wal_writes ? internal::wal_combining_vfs() : nullptr);
  if (!db) return db.failure();
  impl->writer_db = std::move(db).value();
  sqlite3* raw = impl->writer_db.get();
  // FULL before any write: the combining VFS hands frames to the kernel at
  // the commit's sync, which must come before SQLite publishes them.
  if (auto r = exec(raw, "PRAGMA synchronous=FULL"); !r) return Error{path + ": " + r.error()};
  if (auto r = internal::ensure_schema(raw, path); !r) return Error{r.error()};
  if (impl->options.max_page_count > 0) {
    std::string pragma = "PRAGMA max_page_count=" + std::to_string(impl->options.max_page_count);
    if (auto r = exec(raw, pragma.c_str()); !r) return Error{path + ": " + r.error()};
  }
  sqlite3_wal_hook(raw, &Impl::on_commit, impl.get());  // replaces the autocheckpoint
  auto insert = prepare(raw, kInsert);
  if (!insert) return Error{path + ": " + insert.error()};
  impl->insert = std::move(insert).value();
  auto message_of = prepare(raw, kMessageOf);
  if (!message_of) return Error{path + ": " + message_of.error()};
  impl->message_of = std::move(message_of).value();
  Impl* p = impl.get();
  impl->writer = std::thread([p] { p->run(); });
  return std::make_unique<EventStore>(std::move(impl));
}

void EventStore::append(Event e, Done done) {
  std::vector<Item> one;
  one.push_back(Item{std::move(e), std::move(done)});
  append(one);
}

void EventStore::append(std::vector<Item>& items) {
  if (pg_) return pg_->append(items);
  std::size_t queued = 0;
  bool stopping;
  {
    std::unique_lock lock(impl_->mu);
    stopping = impl_->stopping;
    for (; !stopping && queued < items.size() && impl_->queue.size() < impl_->options.max_queue;
         ++queued) {
      Item& it = items[queued];
      impl_->queue.push_back(Impl::Pending{std::move(it.event), std::move(it.done)});
    }
    const bool wake = queued > 0 && impl_->idle;
    if (wake) impl_->idle = false;  // one wake-up for everything queued until the writer runs
    lock.unlock();
    if (wake) impl_->wake.notify_one();
  }
  internal::refuse(items, queued, stopping, impl_->failed);
  items.clear();
}

namespace internal {
void refuse(std::vector<EventStore::Item>& items, std::size_t from, bool stopping,
            std::atomic<std::uint64_t>& failed) {
  if (from >= items.size()) return;
  failed += items.size() - from;
  const Result<bool> err = Error{stopping ? "the event store is closing"
                                          : "the event store queue is full (writes stalled)"};
  for (std::size_t i = from; i < items.size(); ++i) {
    if (items[i].done) items[i].done(err);
  }
}
}  // namespace internal

Result<bool> EventStore::append_and_wait(Event e) {
  std::promise<Result<bool>> promise;
  auto future = promise.get_future();
  append(std::move(e), [&promise](const Result<bool>& r) { promise.set_value(r); });
  return future.get();
}

Result<bool> EventStore::append_all_and_wait(std::vector<Event> events,
                                             std::chrono::milliseconds max_wait) {
  if (events.empty()) return true;
  struct Shared {
    std::mutex mu;
    std::size_t left = 0;
    std::optional<std::string> error;
    std::promise<Result<bool>> promise;
  };
  auto shared = std::make_shared<Shared>();
  shared->left = events.size();
  auto done = [shared](const Result<bool>& r) {
    std::lock_guard lock(shared->mu);
    if (!r && !shared->error) shared->error = r.error();
    if (--shared->left > 0) return;
    if (shared->error) {
      shared->promise.set_value(Error{*shared->error});
    } else {
      shared->promise.set_value(true);
    }
  };
  auto future = shared->promise.get_future();
  std::vector<Item> items;
  items.reserve(events.size());
  for (Event& e : events) items.push_back(Item{std::move(e), done});
  append(items);  // queued together (either backend); one that cannot be queued fails at once
  if (future.wait_for(max_wait) != std::future_status::ready) {
    return Error{"not committed within " + std::to_string(max_wait.count()) +
                 " ms (the store is stalled)"};
  }
  return future.get();
}

Result<sqlite3*> EventStore::Impl::reader() const {
  if (!read_db) {
    auto db = open_db(options.path, false);
    if (!db) return Error{db.error()};
    read_db = std::move(db).value();
  }
  return read_db.get();
}

Result<std::int64_t> EventStore::count(const Query& q) const {
  if (pg_) return pg_->count(q);
  auto where = internal::Where::of(selection_of(q));
  if (!where) return Error{where.error()};
  if (where->matches_nothing()) return std::int64_t{0};
  const std::string sql = "SELECT count(*) FROM events" + where->sql();
  std::lock_guard lock(impl_->read_mu);
  auto db = impl_->reader();
  if (!db) return Error{db.error()};
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(*db, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
    return Error{"query failed: " + errmsg(*db)};
  }
  Stmt st(raw);
  where->bind(raw, 1);
  if (sqlite3_step(raw) != SQLITE_ROW) return Error{"query failed: " + errmsg(*db)};
  return static_cast<std::int64_t>(sqlite3_column_int64(raw, 0));
}

Result<Page> EventStore::query(const Query& q) const {
  if (pg_) return pg_->query(q);
  std::lock_guard lock(impl_->read_mu);
  auto opened = impl_->reader();
  if (!opened) return Error{opened.error()};
  sqlite3* db = *opened;
  return internal::query_page(
      q, [db](const std::string& sql, const std::vector<internal::Value>& params,
              const std::function<void(const internal::Row&)>& row) {
        return internal::sqlite_each(db, sql, params, row);
      });
}

Result<std::int64_t> EventStore::count() const {
  if (pg_) return pg_->count();
  std::lock_guard lock(impl_->read_mu);
  auto db = impl_->reader();
  if (!db) return Error{db.error()};
  return query_int(*db, "SELECT count(*) FROM events");
}

Health EventStore::health() const {
  if (pg_) return pg_->health();
  std::lock_guard lock(impl_->mu);
  return impl_->health;
}

Stats EventStore::stats() const {
  if (pg_) return pg_->stats();
  return Stats{impl_->appended.load(), impl_->failed.load(), impl_->commits.load()};
}

const std::string& EventStore::path() const {
  if (pg_) return pg_->path();
  return impl_->options.path;
}

}  // namespace trackrelay::store
