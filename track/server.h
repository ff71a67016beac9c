// track/server.h — the tracking endpoint's listeners (see track/README.md).
//
// Owns: serving /f/<token> click redirects, /q/<token> pixels and /healthz
// over HTTP/1.1 (and TLS with per-domain certificates chosen by SNI), and
// handing every served click/open to the event store durably before the
// response is sent. May call: token/, store/, conf/, base/, Boost.Beast,
// OpenSSL.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>

#include "base/result.h"
#include "conf/snapshot.h"
#include "metrics/instruments.h"

namespace trackrelay::track {

class Server {
 public:
  // `config` must outlive the server; each request takes its own snapshot.
  // `metrics` (null: not measured) must outlive the server too.
  Server(boost::asio::io_context& ioc, const conf::Snapshot& config,
         metrics::Instruments* metrics = nullptr);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Opens the store and binds track.listen / track.tls_listen. The error
  // names the address, file or certificate and why.
  Result<bool> start();
  // Stops accepting; requests in flight are answered within `grace`.
  void stop(std::chrono::seconds grace);
  // The snapshot was replaced (SIGHUP): certificates and keys re-read; a
  // certificate that cannot be read is reported and the old one kept. The
  // store's certificates are re-read off the I/O thread (track/store_view.h)
  // and installed when the read returns; neither call waits on the database.
  Result<bool> reloaded();
  // The snapshot was replaced because domains changed in the store (the
  // effective configuration, api/effective.h), which includes certificate
  // writes (store/cert_store.h): keys and hosts are taken from it and the
  // store's certificates re-read (as above); the file's are not.
  Result<bool> domains_changed();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace trackrelay::track
