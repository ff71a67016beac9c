// api/service.cc — see service.h. May call: api/router, api/effective,
// store/, dns/, net/http_server, conf/, base/, Boost.Asio.
#include "api/service.h"

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>

#include "api/dashboard.h"
#include "api/effective.h"
#include "api/router.h"
#include "base/log.h"
#include "dns/verify.h"
#include "net/http_server.h"
#include "store/cert_store.h"
#include "store/cluster.h"
#include "store/domain_store.h"
#include "store/event_store.h"
#include "store/last_known.h"
#include "store/location.h"
#include "store/webhook_store.h"

namespace trackrelay::api {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

constexpr int kWorkers = 2;
constexpr std::chrono::seconds kMaxReverifyTick{30};

net::HttpResponse to_http(const ApiResponse& a) {
  net::HttpResponse res;
  res.result(static_cast<unsigned>(a.status));
  if (a.status != 204) {
    res.set(http::field::content_type, a.content_type);
    res.body() = a.body;
  }
  res.set(http::field::cache_control, "no-store");
  for (const auto& [name, value] : a.headers) res.insert(name, value);
  res.prepare_payload();
  return res;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct Service::Impl : std::enable_shared_from_this<Service::Impl> {
  asio::io_context& ioc;
  conf::Snapshot& snapshot;
  std::function<void()> snapshot_changed;
  std::mutex file_mu;  // guards file (read by the router on workers)
  std::shared_ptr<const conf::Config> file;
  std::unique_ptr<store::DomainStore> domains;
  std::unique_ptr<store::EventStore> events;
  // The /webhooks routes' rows.
  std::unique_ptr<store::WebhookStore> webhooks;
  std::unique_ptr<store::CertStore> certificates;  // the certificate routes and tls status
  std::unique_ptr<Dashboard> dashboard;            // the site outside /api/v1, and its sessions
  std::unique_ptr<Router> router;
  std::unique_ptr<net::HttpServer> http;
  asio::thread_pool pool{kWorkers};
  // Periodic re-verification runs here, not on the API's workers: its DNS
  // lookups and HTTP challenges (each up to dns.timeout_ms) never hold them.
  asio::thread_pool verifier{1};
  // The store reads of a refresh run here, never on the io_context that
  // serves the relay and the tracker: a store that is slow or unreachable
  // (PostgreSQL: up to its connect timeout) delays only the next snapshot.
  asio::thread_pool loader{1};
  asio::steady_timer poll_timer{ioc};
  asio::steady_timer reverify_timer{ioc};
  std::int64_t version = -1;    // the snapshot's change counter (loader, or start())
  std::set<std::string> noted;  // notes already logged (loader, or start())
  // The domains the snapshot was built from last (loader, or start()), and
  // their copy on disk for a start while PostgreSQL is unreachable.
  std::optional<store::DomainsSnapshot> last_domains;
  std::unique_ptr<store::LastKnown> last_known;
  bool read_last_known = false;  // the disk copy is read once, at most
  bool store_failing = false;    // loader: the last load failed (logged once a streak)
  // PostgreSQL only (store/cluster.h): other nodes' changes wake refresh()
  // at once; one node at a time re-verifies (used on `verifier` only).
  std::unique_ptr<store::ChangeListener> listener;
  std::unique_ptr<store::NodeLock> reverify_lock;
  std::atomic<bool> stopping{false};  // read by the worker pools too
  bool reverifying = false;

  Impl(asio::io_context& io, conf::Snapshot& s, std::shared_ptr<const conf::Config> f,
       std::function<void()> changed)
      : ioc(io), snapshot(s), snapshot_changed(std::move(changed)), file(std::move(f)) {}

  std::shared_ptr<const conf::Config> file_config() {
    std::lock_guard lock(file_mu);
    return file;
  }
  // Rebuilds the snapshot when the store's change counter moved (`force`:
  // always); refresh() hands the work to `loader`, load() does it.
  void refresh(bool force);
  std::shared_ptr<const conf::Config> load(bool force);
  std::shared_ptr<const conf::Config> without_store(bool force);
  std::shared_ptr<const conf::Config> build(const store::DomainsSnapshot& domains);
  void install(std::shared_ptr<const conf::Config> config);
  void schedule_poll();
  void listen_for_changes(const std::string& store);
  void schedule_reverify();
  void reverify_due();  // on `verifier`
  asio::awaitable<net::HttpResponse> answer(const net::HttpRequest& req, const tcp::endpoint& peer);
};

void Service::Impl::refresh(bool force) {
  if (stopping) return;
  asio::post(loader, [self = shared_from_this(), force] {
    if (auto config = self->load(force)) {
      asio::post(self->ioc, [self, config] { self->install(config); });
    }
  });
}

std::shared_ptr<const conf::Config> Service::Impl::load(bool force) {
  if (stopping) return nullptr;
  auto v = domains->version();
  if (!v) {
    // Once per streak: PostgreSQL may be down for minutes (maintenance).
    if (!store_failing) log::error("api", "store: " + v.error() + "; retrying");
    store_failing = true;
    return without_store(force);
  }
  if (store_failing) log::info("api", "store: answers again");
  store_failing = false;
  if (!force && *v == version) return nullptr;
  auto snap = domains->load();
  if (!snap) {
    log::error("api", "store: " + snap.error());
    return without_store(force);
  }
  if (auto saved = last_known->save_domains(*snap); !saved) {
    log::warning("api", "last-known snapshot: " + saved.error());
  }
  version = snap->version;
  last_domains = std::move(snap).value();
  return build(*last_domains);
}

// The store failed. A file reload (`force`) still takes effect, with the
// domains used last; before any load succeeded (a start while PostgreSQL is
// unreachable) they are the last-known ones on disk, when there are any, and
// otherwise the file's alone stay. `version` stays, so the first load that
// succeeds replaces them.
std::shared_ptr<const conf::Config> Service::Impl::without_store(bool force) {
  if (!last_domains && !read_last_known) {
    read_last_known = true;
    last_domains = last_known->load_domains();
    if (!last_domains) return nullptr;
    log::warning("api", "store unreachable: serving the last-known domains from " +
                            last_known->domains_file() + " (change counter " +
                            std::to_string(last_domains->version) + ") until the store answers");
    force = true;
  }
  if (!force || !last_domains) return nullptr;
  return build(*last_domains);
}

std::shared_ptr<const conf::Config> Service::Impl::build(const store::DomainsSnapshot& domains) {
  Effective e = build_effective(*file_config(), domains);
  for (const std::string& note : e.notes) {
    if (noted.insert(note).second) log::warning("domains", note);
  }
  return std::move(e.config);
}

void Service::Impl::install(std::shared_ptr<const conf::Config> config) {
  if (stopping) return;
  snapshot.replace(std::move(config));
  if (snapshot_changed) snapshot_changed();
}

void Service::Impl::schedule_poll() {
  const int ms = file_config()->api.store_poll_ms;
  poll_timer.expires_after(std::chrono::milliseconds(ms));
  poll_timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->stopping) return;
    self->refresh(false);
    self->schedule_poll();
  });
}

// On PostgreSQL the change counter's bump NOTIFYs (store/cluster.h): the
// listener's thread hands each notification (and each reconnection) to the
// io_context; the poll stays as the fallback. SQLite only polls.
void Service::Impl::listen_for_changes(const std::string& store) {
  if (!store::is_database_uri(store)) return;
  std::weak_ptr<Impl> weak = shared_from_this();
  listener = std::make_unique<store::ChangeListener>(store, store::kDomainsChannel, [weak] {
    if (auto self = weak.lock()) self->refresh(false);
  });
  reverify_lock = std::make_unique<store::NodeLock>(store, store::Work::kReverify);
}

void Service::Impl::schedule_reverify() {
  const int interval = file_config()->dns.reverify_interval;
  if (interval <= 0) return;
  reverify_timer.expires_after(
      std::min<std::chrono::seconds>(std::chrono::seconds(interval), kMaxReverifyTick));
  reverify_timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->stopping) return;
    if (!self->reverifying) {
      self->reverifying = true;
      asio::post(self->verifier, [self] {
        self->reverify_due();
        asio::post(self->ioc, [self] {
          self->reverifying = false;
          self->schedule_reverify();
        });
      });
    } else {
      self->schedule_reverify();
    }
  });
}

void Service::Impl::reverify_due() {
  const std::shared_ptr<const conf::Config> cfg = file_config();
  if (reverify_lock && !reverify_lock->hold()) return;  // another node re-verifies
  auto rows = domains->tracking_domains();
  if (!rows) return;
  const std::int64_t due_ms = std::int64_t{cfg->dns.reverify_interval} * 1000;
  bool changed = false;
  for (const store::TrackingDomainRow& before : *rows) {
    if (stopping) return;
    if (cfg->find_tracking_domain(before.domain) != nullptr) continue;
    if (before.checked_ms != 0 && now_ms() - before.checked_ms < due_ms) continue;
    auto resolver = dns::make_resolver(cfg->dns.resolvers, cfg->dns.timeout_ms);
    if (!resolver) {
      log::error("verify", resolver.error());
      return;
    }
    const bool by_http =
        dns::method_of(before.found) == dns::Method::kHttp && !before.http_token.empty();
    const dns::Check check =
        by_http ? dns::check_http(**resolver, before.domain,
                                  cfg->dns.http_challenge_port.value_or(80), before.http_token,
                                  cfg->dns.timeout_ms, cfg->dns.allow_private_addresses)
                : dns::check_cname(**resolver, before.domain, cfg->system_domain);
    if (!check.detail.empty()) {
      log::info("verify", before.domain + ": " + check.detail);
    }
    auto now = domains->tracking_domain(before.domain);  // again: the lookup took time
    if (!now || !now->has_value()) continue;
    store::TrackingDomainRow row = **now;
    const dns::State s = dns::after_periodic({row.verified, row.cname_status, row.failures}, check,
                                             cfg->dns.reverify_failures);
    const store::TrackingDomainRow old = row;
    row.verified = s.verified;
    row.cname_status = s.cname_status;
    row.failures = s.failures;
    row.checked_ms = now_ms();
    if (check.cname_status != "pending" || !row.verified) {
      row.found = by_http && check.cname_status == "valid" ? row.found : check.found;
      row.message = check.message;
    }
    (void)domains->update_tracking_domain(row);
    if (s.verified != old.verified || s.cname_status != old.cname_status) {
      log::info("verify", old.domain + ": " + old.cname_status + " -> " + s.cname_status + ": " +
                              check.message);
      changed = true;
    } else if (check.cname_status == "pending" && old.verified) {
      log::warning("verify", old.domain + ": lookup failed (stays " + old.cname_status +
                                 "): " + check.message);
    } else if (s.failures != old.failures && check.cname_status == "invalid") {
      log::warning("verify", old.domain + ": definite failure " + std::to_string(s.failures) +
                                 " of " + std::to_string(cfg->dns.reverify_failures) + " (stays " +
                                 old.cname_status + "): " + check.message);
    }
  }
  if (changed) refresh(true);
}

asio::awaitable<net::HttpResponse> Service::Impl::answer(const net::HttpRequest& req,
                                                         const tcp::endpoint& peer) {
  ApiRequest r;
  r.method = std::string(req.method_string());
  r.target = std::string(req.target());
  r.authorization = std::string(req[http::field::authorization]);
  const auto sub = req.find("X-MSYS-SUBACCOUNT");
  r.has_subaccount = sub != req.end();
  if (r.has_subaccount) r.subaccount = std::string(sub->value());
  r.body = req.body();
  r.cookie = std::string(req[http::field::cookie]);
  r.csrf_token = std::string(req["X-CSRF-Token"]);
  r.origin = std::string(req[http::field::origin]);
  r.host = std::string(req[http::field::host]);
  r.content_type = std::string(req[http::field::content_type]);
  r.referer = std::string(req[http::field::referer]);
  r.peer = peer.address().to_string();
  // The router may wait for DNS: it runs on a worker, and the answer comes
  // back to this coroutine's executor.
  auto initiate = [this](auto handler, ApiRequest request) {
    using Handler = decltype(handler);
    auto shared = std::make_shared<Handler>(std::move(handler));
    auto work = asio::make_work_guard(asio::get_associated_executor(*shared, ioc.get_executor()));
    asio::post(pool, [this, shared, work, request = std::move(request)] {
      ApiResponse a = router->handle(request);
      asio::post(work.get_executor(),
                 [shared, a = std::move(a)]() mutable { (*shared)(std::move(a)); });
    });
  };
  ApiResponse a = co_await asio::async_initiate<decltype(asio::use_awaitable), void(ApiResponse)>(
      initiate, asio::use_awaitable, std::move(r));
  net::HttpResponse res = to_http(a);
  if (req.method() == http::verb::head) res.body().clear();
  co_return res;
}

Service::Service(asio::io_context& ioc, conf::Snapshot& snapshot,
                 std::shared_ptr<const conf::Config> file, std::function<void()> snapshot_changed)
    : impl_(std::make_shared<Impl>(ioc, snapshot, std::move(file), std::move(snapshot_changed))) {}

Service::~Service() {
  impl_->stopping = true;
  impl_->listener.reset();  // joined here, so its thread never holds the last reference
  impl_->pool.join();
  impl_->verifier.join();
  impl_->loader.join();
}

Result<bool> Service::start() {
  Impl& s = *impl_;
  const std::shared_ptr<const conf::Config> cfg = s.file_config();
  // dns.resolvers and dashboard.admin_password_hash were checked when the
  // configuration was loaded (conf/validate.cc), like every other key.
  store::make_store_directory(cfg->store);
  // PostgreSQL unreachable: every store opens anyway and connects when it
  // answers (store/location.h); the last-known domains stand in meanwhile.
  constexpr auto kLater = store::Connect::kWhenReachable;
  s.last_known = std::make_unique<store::LastKnown>(
      store::is_database_uri(cfg->store) ? cfg->store_spool : std::string());
  auto opened = store::DomainStore::open(cfg->store, true, kLater);
  if (!opened) return Error{"store: " + opened.error()};
  s.domains = std::move(opened).value();
  if (auto config = s.load(true)) s.install(std::move(config));  // before any listener
  s.schedule_poll();
  s.listen_for_changes(cfg->store);
  s.schedule_reverify();
  if (cfg->api.listen.empty()) return true;
  store::Options options;
  options.path = cfg->store;
  options.connect = kLater;
  auto events = store::EventStore::open(std::move(options));
  if (!events) return Error{"store: " + events.error()};
  s.events = std::move(events).value();
  auto certificates = store::CertStore::open(cfg->store, true, kLater);
  if (!certificates) return Error{"store: " + certificates.error()};
  s.certificates = std::move(certificates).value();
  auto webhooks = store::WebhookStore::open(cfg->store, false, kLater);
  if (!webhooks) return Error{"store: " + webhooks.error()};
  s.webhooks = std::move(webhooks).value();
  RouterOptions ro;
  ro.domains = s.domains.get();
  ro.events = s.events.get();
  ro.webhooks = s.webhooks.get();
  ro.certificates = s.certificates.get();
  std::weak_ptr<Impl> weak = impl_;
  ro.file_config = [weak] {
    auto self = weak.lock();
    return self ? self->file_config() : nullptr;
  };
  ro.changed = [weak] {
    if (auto self = weak.lock()) self->refresh(true);
  };
  Dashboard::Options dopt;
  dopt.domains = s.domains.get();
  dopt.file_config = ro.file_config;
  s.dashboard = std::make_unique<Dashboard>(std::move(dopt));
  Dashboard* dash = s.dashboard.get();
  ro.site = [dash](const ApiRequest& req) { return dash->handle(req); };
  ro.session = [dash](const ApiRequest& req) { return dash->authenticate(req); };
  ro.http_challenge_slots = std::make_shared<std::counting_semaphore<>>(kWorkers - 1);
  s.router = std::make_unique<Router>(std::move(ro));
  net::HttpLimits limits;
  limits.body_bytes = cfg->api.max_body_bytes;
  limits.header_bytes = 16 * 1024;
  s.http = std::make_unique<net::HttpServer>(
      s.ioc, "api", limits,
      [&s](const net::HttpRequest& req, const tcp::endpoint& peer) { return s.answer(req, peer); },
      [](http::status status) {
        const int code = static_cast<int>(status);
        return to_http(error_response(code,
                                      code == 413   ? "request body too large"
                                      : code == 431 ? "request headers too large"
                                                    : "bad request",
                                      code == 413 ? "see api.max_body_bytes" : "", "1300"));
      });
  for (const std::string& a : cfg->api.listen) {
    if (auto r = s.http->listen(a, "api.listen", false); !r) return r;
  }
  return true;
}

void Service::file_reloaded(std::shared_ptr<const conf::Config> file) {
  {
    std::lock_guard lock(impl_->file_mu);
    impl_->file = std::move(file);
  }
  impl_->refresh(true);
}

void Service::stop(std::chrono::seconds grace) {
  impl_->stopping = true;
  impl_->listener.reset();
  impl_->poll_timer.cancel();
  impl_->reverify_timer.cancel();
  if (impl_->http) impl_->http->stop(grace);
}

std::shared_ptr<const conf::Config> effective_for_command(
    std::shared_ptr<const conf::Config> file) {
  std::error_code ec;
  if (!store::is_database_uri(file->store) && !std::filesystem::exists(file->store, ec)) {
    Effective e = build_effective(*file, {});  // no store: file certificates only
    for (const std::string& note : e.notes) log::warning("domains", note);
    return e.config;
  }
  auto opened = store::DomainStore::open(file->store, false);
  if (!opened) {
    log::error("store", opened.error() + "; using the configuration file's domains only");
    return file;
  }
  auto snap = (*opened)->load();
  if (!snap) {
    log::error("store", snap.error() + "; using the configuration file's domains only");
    return file;
  }
  Effective e = build_effective(*file, *snap);
  for (const std::string& note : e.notes) log::warning("domains", note);
  return e.config;
}

}  // namespace trackrelay::api
