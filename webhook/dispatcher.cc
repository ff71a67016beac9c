// webhook/dispatcher.cc — see dispatcher.h. May call: store/, webhook/,
// dns/, conf/, base/.
#include "webhook/dispatcher.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "base/crypto.h"
#include "base/encoding.h"
#include "base/log.h"
#include "store/cluster.h"
#include "store/event_store.h"
#include "store/location.h"
#include "webhook/payload.h"
#include "webhook/signature.h"

namespace trackrelay::webhook {
namespace {

constexpr std::size_t kMaxBatch = 1000;           // events in one batch at most
constexpr std::int64_t kWindowMs = 1000;          // or what 1 s of events gave
constexpr std::int64_t kLeaseTtlMs = 10000;       // a dead holder's lease expires after this
constexpr std::int64_t kLeaseRenewMs = 2000;      // the holder renews this often
constexpr std::int64_t kMaxDelayMs = 3600000;     // retries wait at most 1 h
constexpr std::int64_t kKeepMs = 7LL * 86400000;  // batch status is kept 7 days
constexpr auto kWorkerPass = std::chrono::milliseconds(200);
constexpr auto kControlPass = std::chrono::milliseconds(500);
constexpr const char* kLease = "dispatcher";

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

// "<host>:<pid>:<random>": unique per process start.
std::string make_owner() {
  return host_name() + ":" + std::to_string(getpid()) + ":" + random_hex(8);
}

// A holder on this host whose process no longer exists (SIGKILLed serve).
bool stale_owner(const std::string& owner) {
  const auto first = owner.find(':');
  const auto second = owner.find(':', first + 1);
  if (first == std::string::npos || second == std::string::npos) return false;
  if (owner.substr(0, first) != host_name()) return false;
  const std::string_view text = std::string_view(owner).substr(first + 1, second - first - 1);
  pid_t pid = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), pid);
  if (ec != std::errc() || end != text.data() + text.size() || pid <= 0) return false;
  return kill(pid, 0) != 0 && errno == ESRCH;
}

// Sleeps `d` or until stop is requested.
void nap(std::stop_token st, std::chrono::milliseconds d) {
  std::mutex m;
  std::condition_variable_any cv;
  std::unique_lock lock(m);
  cv.wait_for(lock, st, d, [] { return false; });
}

struct Worker {
  std::jthread thread;
  std::shared_ptr<std::atomic<bool>> done = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace

std::vector<std::pair<std::string, std::string>> request_headers(const store::WebhookRow& hook,
                                                                 const std::string& batch_id,
                                                                 const std::string& body,
                                                                 std::int64_t unix_seconds) {
  std::vector<std::pair<std::string, std::string>> h;
  h.emplace_back(std::string(kSignatureHeader), signature(hook.signing_secret, unix_seconds, body));
  h.emplace_back("X-MessageSystems-Batch-ID", batch_id);
  if (hook.auth_type == "basic") {
    h.emplace_back("Authorization",
                   "Basic " + base64_encode(hook.auth_username + ":" + hook.auth_password));
  }
  return h;
}

store::Attempt next_state(const store::BatchRow& batch, const PostResult& result, std::int64_t now,
                          const conf::WebhooksConfig& cfg) {
  store::Attempt a;
  a.at_ms = now;
  a.response_code = result.answered ? result.status : 0;
  if (result.answered && result.status >= 200 && result.status < 300) {
    a.state = "delivered";
    a.next_attempt_ms = now;
    return a;
  }
  a.error = result.answered ? "HTTP " + std::to_string(result.status) : result.error;
  const std::int64_t deadline = batch.created_ms + std::int64_t{cfg.retry_for} * 1000;
  const std::int64_t attempts = batch.attempts + 1;
  std::int64_t delay = cfg.retry_base_ms;
  for (std::int64_t i = 1; i < attempts && delay < kMaxDelayMs; ++i) delay *= 2;
  delay = std::min(delay, kMaxDelayMs);
  if (now >= deadline) {
    a.state = "failed";
    a.next_attempt_ms = now;
    return a;
  }
  a.state = "pending";
  a.next_attempt_ms = std::min(now + delay, deadline);
  return a;
}

struct Dispatcher::Impl {
  DispatcherOptions o;
  std::unique_ptr<store::WebhookStore> hooks;
  std::unique_ptr<store::EventStore> events;
  std::string owner = make_owner();
  std::atomic<bool> holding{false};
  bool list_failing = false;  // control thread: the store failure is logged once a streak
  // PostgreSQL: the advisory lock replaces the lease row (store/cluster.h).
  std::unique_ptr<store::NodeLock> lock;
  std::map<std::string, Worker> workers;  // the control thread's only
  std::vector<Worker> retiring;           // stopped, not yet finished
  std::jthread control;

  void control_loop(std::stop_token st);
  void renew_lease();
  void reconcile();
  void worker_loop(std::stop_token st, std::string id);
  void cut(store::WebhookRow hook);
  void deliver(const store::WebhookRow& hook, const conf::Config& cfg, std::stop_token st);
};

void Dispatcher::Impl::renew_lease() {
  bool held = false;
  if (lock) {
    held = lock->hold();
  } else {
    auto l = hooks->lease(kLease, owner, now_ms(), kLeaseTtlMs, stale_owner);
    held = l && *l;
    if (!l) log::error("webhooks", "lease: " + l.error());
  }
  if (held != holding.load()) {
    log::info("webhooks", held ? "this process sends the store's webhooks"
                               : "another process sends the store's webhooks");
  }
  holding = held;
}

// One worker per active webhook; workers of deleted or paused webhooks stop.
void Dispatcher::Impl::reconcile() {
  std::erase_if(retiring, [](const Worker& w) { return w.done->load(); });
  auto list = hooks->list();
  if (!list) {
    // Once per streak: PostgreSQL may be down for minutes (maintenance).
    if (!list_failing) log::error("webhooks", "store: " + list.error() + "; retrying");
    list_failing = true;
    return;
  }
  if (list_failing) log::info("webhooks", "store: answers again");
  list_failing = false;
  std::map<std::string, bool> wanted;
  for (const store::WebhookRow& h : *list) {
    if (h.active) wanted[h.id] = true;
  }
  for (auto it = workers.begin(); it != workers.end();) {
    if (wanted.contains(it->first) && holding) {
      ++it;
      continue;
    }
    it->second.thread.request_stop();
    retiring.push_back(std::move(it->second));
    it = workers.erase(it);
  }
  if (!holding) return;
  for (const auto& [id, unused] : wanted) {
    if (workers.contains(id)) continue;
    Worker w;
    auto done = w.done;
    w.thread = std::jthread([this, hook = id, done](std::stop_token st) {
      worker_loop(st, hook);
      *done = true;
    });
    workers.emplace(id, std::move(w));
  }
}

void Dispatcher::Impl::control_loop(std::stop_token st) {
  std::int64_t next_lease = 0, next_prune = 0;
  while (!st.stop_requested()) {
    const std::int64_t now = now_ms();
    if (now >= next_lease) {
      renew_lease();
      next_lease = now + kLeaseRenewMs;
    }
    reconcile();
    if (holding && now >= next_prune) {
      if (auto r = hooks->prune(now - kKeepMs); !r) log::error("webhooks", r.error());
      next_prune = now + 3600000;
    }
    nap(st, kControlPass);
  }
  for (auto& [id, w] : workers) w.thread.request_stop();
  workers.clear();
  retiring.clear();
  if (lock) {
    lock->release();
  } else if (holding) {
    (void)hooks->release(kLease, owner);
  }
}

// Cuts the events after the cursor into batches (see dispatcher.h).
void Dispatcher::Impl::cut(store::WebhookRow hook) {
  std::vector<std::string> types;
  for (const std::string& t : hook.events) {
    if (store::is_event_type(t)) types.push_back(t);  // known to this store
  }
  for (int round = 0; round < 8; ++round) {
    auto max = hooks->max_event_seq();
    if (!max || *max <= hook.cursor_seq) return;
    store::Query q;
    q.types = types;
    q.limit = kMaxBatch;
    q.newest_first = false;
    q.cursor = std::to_string(hook.cursor_seq);
    if (!hook.all_accounts) q.subaccount_id = hook.subaccount_id;
    auto page = types.empty() ? Result<store::Page>(store::Page{}) : events->query(q);
    if (!page) {
      log::error("webhooks", "events: " + page.error());
      return;
    }
    // Only events up to the committed horizon: one after it may be followed
    // by a lower seq still being written (store/webhook_store.h).
    auto& ev = page->events;
    std::erase_if(ev, [&](const store::Event& e) { return e.seq > *max; });
    if (ev.empty()) {
      (void)hooks->advance_cursor(hook.id, hook.cursor_seq, *max);
      return;
    }
    const std::int64_t now = now_ms();
    const bool full = ev.size() == kMaxBatch;
    if (!full && now - ev.front().timestamp_ms < kWindowMs) return;  // wait for 1 s of events
    const std::int64_t to = full ? ev.back().seq : std::max(*max, ev.back().seq);
    store::BatchRow b;
    b.webhook_id = hook.id;
    b.batch_id = random_hex(16);
    b.first_seq = ev.front().seq;
    b.last_seq = ev.back().seq;
    b.event_count = static_cast<std::int64_t>(ev.size());
    b.payload = batch_body(ev);
    b.created_ms = now;
    b.next_attempt_ms = now;
    auto done = hooks->cut_batch(b, hook.cursor_seq, to);
    if (!done) log::error("webhooks", "store: " + done.error());
    if (!done || !*done || !full) return;
    hook.cursor_seq = to;
  }
}

void Dispatcher::Impl::deliver(const store::WebhookRow& hook, const conf::Config& cfg,
                               std::stop_token st) {
  auto due = hooks->due(hook.id, now_ms(), 8);
  if (!due || due->empty()) return;
  std::unique_ptr<dns::Resolver> resolver;
  if (auto r = dns::make_resolver(cfg.dns.resolvers, cfg.dns.timeout_ms)) {
    resolver = std::move(r).value();
  }
  for (const store::BatchRow& b : *due) {
    if (st.stop_requested() || !holding) return;
    PostRequest req;
    req.url = hook.target;
    req.body = b.payload;
    req.headers = request_headers(hook, b.batch_id, b.payload, now_ms() / 1000);
    req.timeout_ms = cfg.webhooks.timeout_ms;
    req.allow_private = cfg.dns.allow_private_addresses;
    const PostResult res = post(req, resolver.get());
    const store::Attempt a = next_state(b, res, now_ms(), cfg.webhooks);
    if (auto r = hooks->record_attempt(b.id, a); !r) log::error("webhooks", "store: " + r.error());
    log::Event e;
    e.level = a.state == "delivered" ? log::Level::kInfo : log::Level::kWarning;
    e.component = "webhooks";
    e.message = a.state == "delivered" ? "batch delivered"
                : a.state == "failed"  ? "batch failed; no more retries"
                                       : "batch not delivered; will retry";
    e.add("webhook", hook.id).add("batch", b.batch_id).add("events", b.event_count);
    e.add("attempt", b.attempts + 1).add("status", a.response_code);
    if (!a.error.empty()) e.add("error", a.error, log::Style::kQuoted);
    log::write(e);
    if (a.state != "delivered") return;  // the others wait for their own time
  }
}

void Dispatcher::Impl::worker_loop(std::stop_token st, std::string id) {
  while (!st.stop_requested()) {
    if (holding) {
      auto row = hooks->get(id);
      if (!row) log::error("webhooks", "store: " + row.error());
      if (row && *row && (*row)->active) {
        cut(**row);
        if (auto cfg = o.config()) deliver(**row, *cfg, st);
      }
    }
    nap(st, kWorkerPass);
  }
}

Dispatcher::Dispatcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Dispatcher::~Dispatcher() {
  impl_->control.request_stop();
  if (impl_->control.joinable()) impl_->control.join();
}

Result<std::unique_ptr<Dispatcher>> Dispatcher::start(DispatcherOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->o = std::move(options);
  // `serve` only: PostgreSQL unreachable now pauses dispatch until it answers.
  auto hooks = store::WebhookStore::open(impl->o.store_path, false, store::Connect::kWhenReachable);
  if (!hooks) return Error{hooks.error()};
  impl->hooks = std::move(hooks).value();
  store::Options eo;
  eo.path = impl->o.store_path;
  eo.create = false;
  eo.connect = store::Connect::kWhenReachable;
  auto events = store::EventStore::open(std::move(eo));
  if (!events) return Error{events.error()};
  impl->events = std::move(events).value();
  if (store::is_database_uri(impl->o.store_path)) {
    impl->lock = std::make_unique<store::NodeLock>(impl->o.store_path, store::Work::kWebhooks);
  }
  Impl* raw = impl.get();
  impl->control = std::jthread([raw](std::stop_token st) { raw->control_loop(st); });
  return std::make_unique<Dispatcher>(std::move(impl));
}

bool Dispatcher::sending() const {
  return impl_->holding;
}

Result<store::QueueStats> Dispatcher::stats() const {
  return impl_->hooks->stats();
}

}  // namespace trackrelay::webhook
