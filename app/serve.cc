// app/serve.cc — `trackrelay serve`: one process, every enabled listener.
//
// Starts the relay (relay.listen), the tracking endpoint (track.listen /
// track.tls_listen) and the management API (api.listen) on one io_context;
// keeps the snapshot equal to the effective configuration (file + verified
// store domains, api/service.h) so API changes reach the relay and the
// tracker without a restart; tells systemd when it is ready
// (sd_notify READY=1, Type=notify), reloads the configuration on SIGHUP
// (RELOADING=1 … READY=1; an invalid file keeps the running configuration
// and says why), and on SIGTERM/SIGINT stops accepting, lets transactions and
// requests in flight finish within the grace period, and exits 0.
#include <sysexits.h>
#include <systemd/sd-daemon.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <iostream>
#include <optional>

#include "api/service.h"
#include "app/commands.h"
#include "app/relay_accounts.h"
#include "base/log.h"
#include "conf/snapshot.h"
#include "relay/server.h"
#include "track/server.h"

namespace trackrelay::app {
namespace {

constexpr std::chrono::seconds kStopGrace{30};

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
  int started = 0;
  std::optional<relay::Server> relay_server;
  std::optional<track::Server> track_server;
  // First, so every listener starts with the store's domains in the snapshot.
  api::Service api_service(ioc, snapshot, config, [&] {
    if (relay_server) relay_server->reloaded();  // takes the new snapshot for new transactions
    if (track_server) {
      if (auto r = track_server->domains_changed(); !r) {
        log::error("track", r.error());
      }
    }
  });
  if (auto r = api_service.start(); !r) {
    log::error("api", r.error());
    return EX_UNAVAILABLE;
  }
  if (!config->api.listen.empty()) ++started;
  if (!snapshot.current()->relay.listen.empty()) {
    std::shared_ptr<relay::Accounts> accounts;  // API keys for AUTH SMTP_Injection
    // The API service has created the store by now.
    auto opened = open_relay_accounts(snapshot.current()->store);
    if (!opened) {
      log::error("relay", "store: " + opened.error() +
                              "; AUTH SMTP_Injection and X-MSYS-SUBACCOUNT are unavailable");
    } else {
      accounts = std::move(*opened);
    }
    relay_server.emplace(ioc, snapshot, std::move(accounts));
    if (auto r = relay_server->start(); !r) {
      log::error("relay", r.error());
      return EX_UNAVAILABLE;
    }
    ++started;
  }
  if (!snapshot.current()->track.listen.empty() || !snapshot.current()->track.tls_listen.empty()) {
    track_server.emplace(ioc, snapshot);
    if (auto r = track_server->start(); !r) {
      log::error("track", r.error());
      return EX_UNAVAILABLE;
    }
    ++started;
  }
  if (started == 0) {
    log::error("serve",
               "the configuration enables no listener (relay.listen, track.listen, api.listen)");
    return EX_CONFIG;
  }

  boost::asio::signal_set signals(ioc, SIGTERM, SIGINT, SIGHUP);
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        if (sig == SIGHUP) {
          sd_notify(0, "RELOADING=1");
          auto next = load_config(config_path, false);
          if (next) {
            api_service.file_reloaded(next);  // replaces the snapshot: file + store domains
            if (relay_server) relay_server->reloaded();
            if (track_server) {
              if (auto r = track_server->reloaded(); !r) {
                log::error("reload", r.error());
              }
            }
            log::info("", "configuration reloaded");
          } else {
            log::error("", "reload failed; the running configuration stays");
          }
          sd_notify(0, "READY=1");
          signals.async_wait(on_signal);
          return;
        }
        sd_notify(0, "STOPPING=1");
        log::info("", "stopping");
        if (relay_server) relay_server->stop(kStopGrace);
        if (track_server) track_server->stop(kStopGrace);
        api_service.stop(kStopGrace);
      };
  signals.async_wait(on_signal);
  sd_notify(0, "READY=1");
  log::info("", "serving");
  ioc.run();
  return EX_OK;
}

}  // namespace trackrelay::app
