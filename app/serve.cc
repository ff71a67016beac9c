// app/serve.cc — `trackrelay serve`: one process, every enabled listener.
//
// Starts the relay (relay.listen), the tracking endpoint (track.listen /
// track.tls_listen), the management API (api.listen) and Prometheus
// metrics (metrics.listen, metrics/) on one io_context;
// runs the webhook dispatcher (webhook/, when webhooks.enabled);
// keeps the snapshot equal to the effective configuration (file + verified
// store domains, api/service.h) so API changes reach the relay and the
// tracker without a restart; tells systemd when it is ready
// (sd_notify READY=1, Type=notify), reloads the configuration on SIGHUP
// (RELOADING=1 … READY=1; an invalid file keeps the running configuration
// and says why), issues certificates for secure tracking domains (acme/),
// and on SIGTERM/SIGINT stops accepting, lets transactions and
// requests in flight finish within the grace period, and exits 0.
// PostgreSQL unreachable at start (docs/scaling.md): every store opens with
// store::Connect::kWhenReachable and connects when the database answers, so
// the node starts and serves as during an outage; a refusal (wrong password,
// missing database, newer schema) still stops it.
#include <sysexits.h>
#include <systemd/sd-daemon.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <chrono>
#include <csignal>
#include <iostream>
#include <optional>

#include "acme/manager.h"
#include "api/service.h"
#include "app/commands.h"
#include "app/relay_accounts.h"
#include "app/relay_injections.h"
#include "base/log.h"
#include "conf/snapshot.h"
#include "metrics/endpoint.h"
#include "metrics/instruments.h"
#include "relay/server.h"
#include "store/location.h"
#include "track/server.h"
#include "webhook/dispatcher.h"

namespace trackrelay::app {
namespace {

constexpr std::chrono::seconds kStopGrace{30};
// Why a node without a spool cannot start while PostgreSQL is unreachable.
constexpr const char* kNeedsSpool =
    "set store_spool so that serve can start while the database is unreachable (its events "
    "then wait there)";

// The listeners besides the API, each present when the configuration enables it.
struct Servers {
  std::optional<relay::Server> relay;
  std::optional<track::Server> track;

  // The effective configuration changed (API domains): new transactions and
  // requests take the new snapshot.
  void domains_changed() {
    if (relay) relay->reloaded();
    if (!track) return;
    if (auto r = track->domains_changed(); !r) log::error("track", r.error());
  }

  // SIGHUP with a valid file: api_service has replaced the snapshot.
  void reloaded() {
    if (relay) relay->reloaded();
    if (!track) return;
    if (auto r = track->reloaded(); !r) log::error("reload", r.error());
  }

  void stop(api::Service& api_service) {
    if (relay) relay->stop(kStopGrace);
    if (track) track->stop(kStopGrace);
    api_service.stop(kStopGrace);
  }
};

// Starts the relay when relay.listen is set; true when it runs.
Result<bool> start_relay(boost::asio::io_context& ioc, conf::Snapshot& snapshot, Servers& servers,
                         metrics::Instruments* metrics) {
  if (snapshot.current()->relay.listen.empty()) return false;
  std::shared_ptr<relay::Accounts> accounts;  // API keys for AUTH SMTP_Injection
  // The API service has created the store by now.
  auto opened = open_relay_accounts(snapshot.current()->store);
  if (!opened) {
    log::error("relay", "store: " + opened.error() +
                            "; AUTH SMTP_Injection and X-MSYS-SUBACCOUNT are unavailable");
  } else {
    accounts = std::move(*opened);
  }
  // Injection events (issue 11): a store that cannot be opened only loses them.
  std::shared_ptr<relay::Injections> injections;
  if (auto recorder =
          open_relay_injections(snapshot.current()->store, snapshot.current()->store_spool);
      recorder) {
    injections = std::move(*recorder);
  } else if (recorder.code() == Errc::kUnavailable &&  // PostgreSQL away, no store_spool
             store::is_database_uri(snapshot.current()->store)) {
    return Error{"store: " + recorder.error() + "; " + kNeedsSpool};
  } else {
    log::error("relay", "store: " + recorder.error() + "; injection events are not recorded");
  }
  servers.relay.emplace(ioc, snapshot, std::move(accounts), std::move(injections), metrics);
  if (auto r = servers.relay->start(); !r) return Error{r.error()};
  return true;
}

// Starts the tracking endpoint when track.listen or track.tls_listen is set.
Result<bool> start_track(boost::asio::io_context& ioc, conf::Snapshot& snapshot, Servers& servers,
                         metrics::Instruments* metrics) {
  const auto& track = snapshot.current()->track;
  if (track.listen.empty() && track.tls_listen.empty()) return false;
  servers.track.emplace(ioc, snapshot, metrics);
  if (auto r = servers.track->start(); !r) {
    if (r.code() == Errc::kUnavailable) return Error{r.error() + "; " + kNeedsSpool};
    return Error{r.error()};
  }
  return true;
}

// The webhook dispatcher (webhooks.enabled): one per store file sends (a
// lease row decides), so every serve process may run it. Null when off.
std::unique_ptr<webhook::Dispatcher> start_webhooks(conf::Snapshot& snapshot) {
  if (!snapshot.current()->webhooks.enabled) return nullptr;
  webhook::DispatcherOptions o;
  o.store_path = snapshot.current()->store;
  o.config = [&snapshot] { return snapshot.current(); };
  auto d = webhook::Dispatcher::start(std::move(o));
  if (!d) {
    log::error("webhooks", d.error() + "; webhooks are not sent by this process");
    return nullptr;
  }
  return std::move(d).value();
}

// Webhook queue depth, lag and failures (docs/metrics.md), read from the
// store at scrape time. The registry outlives `d` only after ioc stopped.
void publish_webhook_metrics(metrics::Registry& registry, const webhook::Dispatcher& d) {
  metrics::Gauge& batches =
      registry.gauge("trackrelay_webhook_pending_batches", "Webhook batches waiting for delivery")
          .get();
  metrics::Gauge& events =
      registry.gauge("trackrelay_webhook_pending_events", "Events in pending webhook batches")
          .get();
  metrics::Gauge& failed =
      registry
          .gauge("trackrelay_webhook_failed_batches",
                 "Webhook batches given up after webhooks.retry_for (kept for batch-status)")
          .get();
  metrics::Gauge& lag = registry
                            .gauge("trackrelay_webhook_lag_seconds",
                                   "Age of the oldest pending webhook batch (0: none pending)")
                            .get();
  registry.on_collect([&d, &batches, &events, &failed, &lag] {
    auto s = d.stats();
    if (!s) return;  // the last values stay; the store error is the dispatcher's to log
    batches.set(static_cast<double>(s->pending_batches));
    events.set(static_cast<double>(s->pending_events));
    failed.set(static_cast<double>(s->failed_batches));
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    lag.set(s->oldest_pending_ms == 0 ? 0.0
                                      : static_cast<double>(now - s->oldest_pending_ms) / 1000.0);
  });
}

// SIGHUP: re-reads the file; an invalid one keeps the running configuration.
void reload(const std::string& config_path, api::Service& api_service, Servers& servers) {
  sd_notify(0, "RELOADING=1");
  auto next = load_config(config_path, false);
  if (next) {
    api_service.file_reloaded(next);  // replaces the snapshot: file + store domains
    servers.reloaded();
    log::info("", "configuration reloaded");
  } else {
    log::error("", "reload failed; the running configuration stays");
  }
  sd_notify(0, "READY=1");
}

}  // namespace

int cmd_serve(const std::string& config_path, std::shared_ptr<const conf::Config> config,
              const std::vector<std::string>& args) {
  if (!args.empty()) {
    std::cerr << "trackrelay: serve: unexpected argument '" << args.front() << "'\n";
    return EX_USAGE;
  }
  // The one process-wide log setting, before any listener logs (base/log.h).
  log::set_format(config->log.format == "json" ? log::Format::kJson : log::Format::kText);
  conf::Snapshot snapshot(config);
  boost::asio::io_context ioc;
  Servers servers;
  // First, so every listener starts with the store's domains in the snapshot.
  api::Service api_service(ioc, snapshot, config, [&] { servers.domains_changed(); });
  if (auto r = api_service.start(); !r) {
    log::error("api", r.error());
    return EX_UNAVAILABLE;
  }
  // Metrics (metrics.listen): one registry for this process, passed down.
  metrics::Registry registry;
  metrics::Instruments instruments(registry);
  metrics::Endpoint metrics_endpoint(ioc, registry);
  if (auto r = metrics_endpoint.listen(config->metrics.listen); !r) {
    log::error("metrics", r.error());
    return EX_UNAVAILABLE;
  }
  auto relay_started = start_relay(ioc, snapshot, servers, &instruments);
  if (!relay_started) {
    log::error("relay", relay_started.error());
    return EX_UNAVAILABLE;
  }
  auto track_started = start_track(ioc, snapshot, servers, &instruments);
  if (!track_started) {
    log::error("track", track_started.error());
    return EX_UNAVAILABLE;
  }
  // Certificates for secure tracking domains (acme.directory; idle while it is empty).
  acme::Manager acme_manager(ioc, snapshot);
  if (auto r = acme_manager.start(); !r) {
    log::error("acme", r.error());
    return EX_UNAVAILABLE;
  }
  if (config->api.listen.empty() && !*relay_started && !*track_started) {
    log::error("serve",
               "the configuration enables no listener (relay.listen, track.listen, api.listen)");
    return EX_CONFIG;
  }

  // After the API service: it has created (or migrated) the store.
  const auto webhooks = start_webhooks(snapshot);
  if (webhooks) publish_webhook_metrics(registry, *webhooks);

  boost::asio::signal_set signals(ioc, SIGTERM, SIGINT, SIGHUP);
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        if (sig == SIGHUP) {
          reload(config_path, api_service, servers);
          signals.async_wait(on_signal);
          return;
        }
        sd_notify(0, "STOPPING=1");
        log::info("", "stopping");
        acme_manager.stop();
        servers.stop(api_service);
        metrics_endpoint.stop(kStopGrace);
      };
  signals.async_wait(on_signal);
  sd_notify(0, "READY=1");
  log::info("", "serving");
  ioc.run();
  return EX_OK;
}

}  // namespace trackrelay::app
