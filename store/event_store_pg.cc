// store/event_store_pg.cc — see event_store_pg.h: the writer thread, the
// spool hand-over and the page queries on PostgreSQL. May call:
// store/event_spool.h, store/event_sql.h, store/pg.h, store/db.h, base/,
// metrics/registry.h, libpq.
#include "store/event_store_pg.h"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>
#include <utility>

#include "store/event_spool.h"
#include "store/event_sql.h"
#include "store/pg.h"

namespace trackrelay::store::internal {
namespace {

using Steady = std::chrono::steady_clock;

constexpr std::size_t kRowsPerInsert = 1000;  // 23 parameters a row; PostgreSQL allows 65535
// Events per INSERT when shipping the spool: small enough that one INSERT
// stays well inside Options::round_trip_ms on a loaded server (shipping must
// make progress) and a slice overshoots its end by little.
constexpr std::size_t kRowsPerShip = 250;
constexpr int kColumnCount = 23;

constexpr const char* kInsertHead =
    "INSERT INTO events (event_id, type, ts_ms, tracking_domain, target_link_url, "
    "target_link_name, message_id, rcpt_to, campaign_id, sending_domain, user_agent, ip_address, "
    "method, subaccount_id, transmission_id, raw_rcpt_to, rcpt_meta, rcpt_tags, friendly_from, "
    "msg_from, msg_size, classification, classification_reasons) VALUES ";

std::int64_t to_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// The 23 parameters of one row, in kInsertHead's order.
void add_params(const Event& e, std::vector<std::string>& p) {
  for (const std::string* s :
       {&e.event_id, &e.type, static_cast<const std::string*>(nullptr), &e.tracking_domain,
        &e.target_link_url, &e.target_link_name, &e.message_id, &e.rcpt_to, &e.campaign_id,
        &e.sending_domain, &e.user_agent, &e.ip_address, &e.method}) {
    p.push_back(s != nullptr ? pg_text(*s) : std::to_string(e.timestamp_ms));
  }
  p.push_back(std::to_string(e.subaccount_id));
  for (const std::string* s : {&e.transmission_id, &e.raw_rcpt_to, &e.rcpt_meta, &e.rcpt_tags,
                               &e.friendly_from, &e.msg_from}) {
    p.push_back(pg_text(*s));
  }
  p.push_back(std::to_string(e.msg_size));
  p.push_back(pg_text(e.classification));
  p.push_back(pg_text(join_reasons(e.classification_reasons)));
}

// "INSERT … VALUES ($1,…,$23),($24,…) ON CONFLICT (event_id) DO NOTHING" for `rows` rows.
std::string insert_sql(std::size_t rows) {
  std::string sql = kInsertHead;
  int n = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    sql += r == 0 ? "(" : ",(";
    for (int c = 0; c < kColumnCount; ++c) sql += (c == 0 ? "$" : ",$") + std::to_string(++n);
    sql += ")";
  }
  return sql + " ON CONFLICT (event_id) DO NOTHING";
}

// What an engagement event takes from its message's injection.
struct Message {
  std::string rcpt_to, raw_rcpt_to, rcpt_meta, rcpt_tags, friendly_from, msg_from, campaign_id;
};

void fill_from(const Message& m, Event& e) {
  auto fill = [](std::string& field, const std::string& v) {
    if (field.empty()) field = v;
  };
  if (!e.rcpt_to.empty()) fill(e.raw_rcpt_to, m.raw_rcpt_to);
  fill(e.rcpt_meta, m.rcpt_meta);
  fill(e.rcpt_tags, m.rcpt_tags);
  fill(e.friendly_from, m.friendly_from);
  fill(e.msg_from, m.msg_from);
  fill(e.campaign_id, m.campaign_id);
}

}  // namespace

struct PgEvents::Impl {
  struct Pending {
    Event event;
    EventStore::Done done;
    Steady::time_point queued;
  };

  Options options;
  std::unique_ptr<PgConnection> db;             // writer thread only
  std::unique_ptr<EventSpool> spool;            // null without Options::spool_dir
  std::mt19937_64 ids{std::random_device{}()};  // writer thread only
  bool db_down = false;                         // writer thread: the last write failed
  bool look_for_orphans = true;                 // writer thread: ship dead writers' files
  std::size_t shipped_total = 0;                // writer thread: by the slices of one shipping
  Steady::time_point next_try{};                // writer thread: the next reconnect
  Steady::time_point budget_end = Steady::time_point::max();  // writer thread: see round_trip()

  std::mutex mu;  // guards queue, stopping, health
  std::condition_variable wake;
  std::vector<Pending> queue;
  bool stopping = false;
  Health health;

  std::atomic<std::uint64_t> appended{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::uint64_t> commits{0};

  mutable std::mutex read_mu;  // guards reader
  mutable std::unique_ptr<EventReader> reader;

  std::thread writer;

  void run();
  bool take(std::vector<Pending>& batch);
  Result<bool> write(std::vector<Event>& events);
  Result<bool> join_messages(std::vector<Event>& events);
  Result<bool> insert(const std::vector<Event>& events);
  Result<bool> statement(const char* sql);
  // The next round trip's deadline: Options::round_trip_ms, cut to what is
  // left of the batch's wait budget (none while shipping the spool).
  std::chrono::milliseconds round_trip() const {
    const std::chrono::milliseconds t(options.round_trip_ms);
    if (budget_end == Steady::time_point::max()) return t;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(budget_end - Steady::now());
    return std::clamp(left, std::chrono::milliseconds(1), t);
  }
  Result<bool> write_or_spool(std::vector<Pending>& batch);
  void ship_spool();
  bool shipping_due() const {
    return db_down || spool->holding() || look_for_orphans || spool->unfinished();
  }
  void set_health(bool ok, const std::string& reason, bool spooling);
  // Opened while the database was unreachable (Connect::kWhenReachable):
  // spooling from the first event, reconnecting every retry_ms.
  void start_down(const std::string& why) {
    db_down = true;
    next_try = Steady::now();
    set_health(false, "the database failed: " + why + "; events are spooled in " + spool->dir(),
               true);
  }
  Result<bool> read(const std::string& sql, const std::vector<Value>& params,
                    const std::function<void(const Row&)>& row) const;
};

// Waits for work (or the next reconnect while events are spooled) and takes
// a batch; false when stopping with nothing left.
bool PgEvents::Impl::take(std::vector<Pending>& batch) {
  std::unique_lock lock(mu);
  auto ready = [this] { return stopping || !queue.empty(); };
  if (spool && shipping_due()) {
    wake.wait_until(lock, next_try, ready);
  } else {
    wake.wait(lock, ready);
  }
  if (queue.empty()) return !stopping;
  if (queue.size() <= options.max_batch) {
    batch.swap(queue);
  } else {
    auto end = queue.begin() + static_cast<std::ptrdiff_t>(options.max_batch);
    std::move(queue.begin(), end, std::back_inserter(batch));
    queue.erase(queue.begin(), end);
  }
  return true;
}

void PgEvents::Impl::run() {
  std::vector<Pending> batch;
  for (;;) {
    batch.clear();
    const bool more = take(batch);
    if (spool && Steady::now() >= next_try && shipping_due()) {
      ship_spool();
    }
    if (!more) return;
    if (batch.empty()) continue;
    Result<bool> r = metrics::timed(options.commit_seconds, [&] { return write_or_spool(batch); });
    (r ? appended : failed) += batch.size();
    for (Pending& p : batch) {
      if (p.done) p.done(r);
    }
  }
}

// Writes the batch to the database, or (while it fails, with a spool) to the
// spool; ok when the events are durable in either.
Result<bool> PgEvents::Impl::write_or_spool(std::vector<Pending>& batch) {
  std::vector<Event> events;
  events.reserve(batch.size());
  auto first = Steady::time_point::max();
  for (Pending& p : batch) {
    if (p.event.event_id.empty()) p.event.event_id = std::to_string(ids() >> 1);
    events.push_back(std::move(p.event));
    first = std::min(first, p.queued);
  }
  std::string why;
  if (!spool || !spool->holding()) {
    // With a spool to fall back on, the waiters' time is bounded too.
    if (spool) budget_end = first + std::chrono::milliseconds(options.wait_budget_ms);
    auto r = write(events);
    budget_end = Steady::time_point::max();
    if (r) {
      if (db_down || !health.ok) set_health(true, "", false);
      db_down = false;
      return r;
    }
    if (!spool) {
      set_health(false, r.error(), false);
      return r;
    }
    why = r.error();
    db_down = true;
    next_try = Steady::now() + std::chrono::milliseconds(options.retry_ms);
  }
  if (auto s = spool->append(events); !s) {
    set_health(false, (why.empty() ? "" : why + "; ") + "the spool failed: " + s.error(), false);
    return Error{"the database failed (" + why + ") and so did the spool: " + s.error()};
  }
  if (!why.empty()) {
    set_health(false, "the database failed: " + why + "; events are spooled in " + spool->dir(),
               true);
  }
  return true;
}

// Reconnects and ships the spool (this writer's file, then dead writers').
void PgEvents::Impl::ship_spool() {
  next_try = Steady::now() + std::chrono::milliseconds(options.retry_ms);
  if (auto up = db->ensure_connected(round_trip()); !up) {
    set_health(false,
               "the database failed: " + up.error() + "; events are spooled in " + spool->dir(),
               true);
    return;
  }
  // One slice (Options::round_trip_ms, then the batch in flight): events
  // queued meanwhile wait for it, not for the whole spool; the rest is
  // shipped by the next slices, after their batches were written or spooled.
  const auto until = Steady::now() + std::chrono::milliseconds(options.round_trip_ms);
  auto shipped = spool->drain([this](std::vector<Event>& b) { return write(b); },
                              std::min(options.max_batch, kRowsPerShip), until);
  if (!shipped) {
    db_down = true;
    set_health(
        false,
        "shipping the spool failed: " + shipped.error() + "; events are spooled in " + spool->dir(),
        true);
    return;
  }
  shipped_total += *shipped;
  if (spool->unfinished()) {
    next_try = Steady::now();  // the next slice as soon as the queue had its turn
    return;
  }
  look_for_orphans = false;
  db_down = false;
  if (shipped_total > 0) {
    std::fprintf(stderr, "trackrelay: store: %s: %zu spooled events shipped from %s\n",
                 db->name().c_str(), shipped_total, spool->dir().c_str());
  }
  shipped_total = 0;
  set_health(true, "", false);
}

// One batch in the database: connect, the join's SELECT, the INSERTs (in one
// transaction when there are several), each round trip within
// Options::round_trip_ms. A round trip past it drops the session: the batch
// is then spooled and shipped later (ON CONFLICT (event_id) DO NOTHING makes
// an INSERT that did run on the dropped session harmless).
Result<bool> PgEvents::Impl::write(std::vector<Event>& events) {
  if (auto up = db->ensure_connected(round_trip()); !up) return up;
  // One INSERT is one transaction by itself: no BEGIN and COMMIT round trips
  // (the join's SELECT reads committed rows either way).
  const bool one = events.size() <= kRowsPerInsert;
  Result<bool> r = one ? Result<bool>(true) : statement("BEGIN");
  if (r) r = join_messages(events);
  if (r) r = insert(events);
  if (r && !one) r = statement("COMMIT");
  if (!r) {
    if (!one && db->handle() != nullptr && !statement("ROLLBACK")) db->drop();
    return r;
  }
  ++commits;
  return true;
}

// A statement without rows, within the deadline.
Result<bool> PgEvents::Impl::statement(const char* sql) {
  auto r = db->run_until(sql, {}, round_trip());
  if (!r) return r.failure();
  return true;
}

// The "join at write": one SELECT for the injections of every message the
// batch's clicks and opens belong to (and injections earlier in the batch).
Result<bool> PgEvents::Impl::join_messages(std::vector<Event>& events) {
  std::vector<std::string> tids;
  for (const Event& e : events) {
    if (e.type != "injection" && !e.transmission_id.empty()) tids.push_back(e.transmission_id);
  }
  if (tids.empty()) return true;
  std::sort(tids.begin(), tids.end());
  tids.erase(std::unique(tids.begin(), tids.end()), tids.end());
  std::string sql =
      "SELECT transmission_id, rcpt_to, raw_rcpt_to, rcpt_meta, rcpt_tags, friendly_from, "
      "msg_from, campaign_id FROM events WHERE type = 'injection' AND transmission_id IN (";
  std::vector<std::string> params;
  for (const std::string& t : tids) {
    sql += (params.empty() ? "$" : ",$") + std::to_string(params.size() + 1);
    params.push_back(pg_text(t));
  }
  sql += ") ORDER BY seq";
  std::unordered_map<std::string, std::vector<Message>> messages;  // in seq order
  auto r = pg_each_until(
      *db, sql, params,
      [&](const Row& row) {
        messages[row.text(0)].push_back(Message{row.text(1), row.text(2), row.text(3), row.text(4),
                                                row.text(5), row.text(6), row.text(7)});
      },
      round_trip());
  if (!r) return r;
  for (Event& e : events) {
    if (e.type == "injection") {
      if (!e.transmission_id.empty()) {
        messages[e.transmission_id].push_back(Message{e.rcpt_to, e.raw_rcpt_to, e.rcpt_meta,
                                                      e.rcpt_tags, e.friendly_from, e.msg_from,
                                                      e.campaign_id});
      }
      continue;
    }
    if (e.transmission_id.empty()) continue;
    // The first injection (by seq) of the message, the recipient's when named.
    auto it = messages.find(e.transmission_id);
    if (it == messages.end()) continue;
    for (const Message& m : it->second) {
      if (e.rcpt_to.empty() || m.rcpt_to == e.rcpt_to) {
        fill_from(m, e);
        break;
      }
    }
  }
  return true;
}

Result<bool> PgEvents::Impl::insert(const std::vector<Event>& events) {
  std::vector<std::string> params;
  for (std::size_t at = 0; at < events.size(); at += kRowsPerInsert) {
    const std::size_t rows = std::min(kRowsPerInsert, events.size() - at);
    params.clear();
    params.reserve(rows * kColumnCount);
    for (std::size_t i = at; i < at + rows; ++i) add_params(events[i], params);
    auto r = pg_each_until(
        *db, insert_sql(rows), params, [](const Row&) {}, round_trip());
    if (!r) return Error{"insert failed: " + r.error(), r.code()};
  }
  return true;
}

void PgEvents::Impl::set_health(bool ok, const std::string& why, bool spooling) {
  std::string reason;  // one line (libpq's messages span several)
  for (char c : why) {
    if (c != '\n' && c != '\t') {
      reason += c;
    } else if (!reason.empty() && reason.back() != ' ') {
      reason += ' ';
    }
  }
  std::lock_guard lock(mu);
  const std::string& name = db->name();
  if (ok) {
    if (!health.ok) {
      std::fprintf(stderr, "trackrelay: store: %s: recovered; events are recorded again\n",
                   name.c_str());
    }
    health = Health{};
    return;
  }
  if (health.ok) health.failing_since_ms = to_ms(options.clock());
  const bool changed = health.ok || health.reason != reason;
  health.ok = false;
  health.spooling = spooling;
  health.reason = reason;
  if (!changed) return;
  // Loud on purpose: events are not reaching the database.
  std::fprintf(stderr, "trackrelay: store: %s: %s: %s\n", name.c_str(),
               spooling ? "EVENTS SPOOLED ON LOCAL DISK" : "EVENTS NOT RECORDED", reason.c_str());
}

Result<bool> PgEvents::Impl::read(const std::string& sql, const std::vector<Value>& params,
                                  const std::function<void(const Row&)>& row) const {
  std::lock_guard lock(read_mu);
  if (!reader) {
    auto opened = EventReader::open(options.path);
    if (!opened) return opened.failure();
    reader = std::move(opened).value();
  }
  return reader->each(sql, params, row);
}

PgEvents::PgEvents(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

PgEvents::~PgEvents() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->wake.notify_one();
  if (impl_->writer.joinable()) impl_->writer.join();
}

Result<std::unique_ptr<PgEvents>> PgEvents::open(Options options) {
  if (!options.clock) options.clock = [] { return std::chrono::system_clock::now(); };
  options.max_batch = std::max<std::size_t>(options.max_batch, 1);
  options.retry_ms = std::max<std::int64_t>(options.retry_ms, 10);
  options.round_trip_ms = std::max<std::int64_t>(options.round_trip_ms, 1);
  options.wait_budget_ms = std::max<std::int64_t>(options.wait_budget_ms, 1);
  auto impl = std::make_unique<Impl>();
  const bool now = options.connect == Connect::kNow;
  auto conn = now ? PgConnection::connect(options.path)
                  : PgConnection::open_when_reachable(options.path, kOpenTimeout);
  if (!conn) return conn.failure();
  impl->db = std::move(conn).value();
  if (now) {
    if (auto r = ensure_pg_schema(*impl->db); !r) return r.failure();
  }
  if (!options.spool_dir.empty()) {
    auto spool = EventSpool::open(options.spool_dir);
    if (!spool) return spool.failure();
    impl->spool = std::move(spool).value();
  }
  impl->options = std::move(options);
  // Unreachable (Connect::kWhenReachable): spooling from the first event.
  if (impl->db->handle() == nullptr && impl->spool) {
    impl->start_down("cannot connect to " + impl->db->name() + " (not reached since the start)");
  }
  Impl* p = impl.get();
  impl->writer = std::thread([p] { p->run(); });
  return std::make_unique<PgEvents>(std::move(impl));
}

void PgEvents::append(std::vector<EventStore::Item>& items) {
  std::size_t queued = 0;
  bool stopping;
  const auto now = Steady::now();
  {
    std::unique_lock lock(impl_->mu);
    stopping = impl_->stopping;
    for (; !stopping && queued < items.size() && impl_->queue.size() < impl_->options.max_queue;
         ++queued) {
      EventStore::Item& it = items[queued];
      impl_->queue.push_back(Impl::Pending{std::move(it.event), std::move(it.done), now});
    }
    lock.unlock();
    if (queued > 0) impl_->wake.notify_one();
  }
  refuse(items, queued, stopping, impl_->failed);
  items.clear();
}

Result<std::int64_t> PgEvents::count(const store::Query& q) const {
  auto where = Where::of(selection_of(q));
  if (!where) return where.failure();
  if (where->matches_nothing()) return std::int64_t{0};
  std::int64_t n = 0;
  auto r = impl_->read("SELECT count(*) FROM events" + where->sql(), where->values(),
                       [&n](const Row& row) { n = row.i64(0); });
  if (!r) return r.failure();
  return n;
}

Result<std::int64_t> PgEvents::count() const {
  return count(store::Query{});
}

Result<Page> PgEvents::query(const store::Query& q) const {
  return query_page(q, [this](const std::string& sql, const std::vector<Value>& params,
                              const std::function<void(const Row&)>& row) {
    return impl_->read(sql, params, row);
  });
}

Health PgEvents::health() const {
  std::lock_guard lock(impl_->mu);
  return impl_->health;
}

Stats PgEvents::stats() const {
  return Stats{impl_->appended.load(), impl_->failed.load(), impl_->commits.load()};
}

const std::string& PgEvents::path() const {
  return impl_->options.path;
}

}  // namespace trackrelay::store::internal
