// api/service.h — what `serve` runs for the management API and for the
// domains in the store, on the caller's io_context.
//
// Owns: (1) keeping the process's Snapshot equal to the effective
// configuration (file + store domains, api/effective.h): built at start,
// rebuilt after this process's API writes at once and after other
// processes' writes within api.store_poll_ms (the store's change counter is
// polled; on PostgreSQL its NOTIFY wakes the rebuild at once, store/cluster.h),
// and after a reload of the file — the store is read on a thread of its own,
// never on the io_context; on PostgreSQL each load is kept as the last-known
// snapshot in store_spool (store/last_known.h), which stands in for the
// store's domains when `serve` starts while the database is unreachable; (2) the API listener
// (api.listen) on net/http_server, with the router run on worker threads; (3) periodic
// re-verification (dns.reverify_interval) with flap protection, by one node
// at a time on PostgreSQL (an advisory lock).
// May call: api/router, api/effective, store/, dns/, net/http_server,
// conf/, base/, Boost.Asio.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>

#include "base/result.h"
#include "conf/snapshot.h"

namespace trackrelay::api {

class Service {
 public:
  // `snapshot` and `ioc` must outlive the service. `snapshot_changed` runs on
  // the io_context after every replacement of the snapshot by this service.
  Service(boost::asio::io_context& ioc, conf::Snapshot& snapshot,
          std::shared_ptr<const conf::Config> file, std::function<void()> snapshot_changed);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Opens the store (creating it), puts the effective configuration in the
  // snapshot, starts polling, re-verification and the listener (when
  // api.listen is set). The error names the file or address.
  Result<bool> start();
  // The configuration file was reloaded (SIGHUP): rebuild from `file`.
  void file_reloaded(std::shared_ptr<const conf::Config> file);
  // Stops the listener and the timers; requests in flight get `grace`.
  void stop(std::chrono::seconds grace);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// The effective configuration for a one-shot command (`rewrite`, `decode`):
// the file's plus the verified domains of the store named by `store:` when
// that file exists (never created; an older schema is migrated); the file's alone, with
// a warning on stderr, when it cannot be read.
std::shared_ptr<const conf::Config> effective_for_command(std::shared_ptr<const conf::Config> file);

}  // namespace trackrelay::api
