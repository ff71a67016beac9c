// relay/server.h — the SMTP relay filter's listeners (see relay/README.md).
//
// Owns: accepting SMTP sessions on every relay.listen address, and per
// transaction: relaying MAIL/RCPT to the upstream MTA, receiving the message,
// rewriting it with rewrite/ and forwarding it, answering the client with the
// upstream's reply. May call: rewrite/, conf/, mime/ (indirectly), base/,
// Boost.Asio, OpenSSL.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>

#include "base/result.h"
#include "conf/snapshot.h"
#include "metrics/instruments.h"
#include "relay/accounts.h"
#include "relay/injections.h"

namespace trackrelay::relay {

class Server {
 public:
  // `config` must outlive the server; each transaction takes its own snapshot.
  // `accounts` (null: none) authenticates AUTH SMTP_Injection with API keys
  // and answers X-MSYS-SUBACCOUNT (relay/accounts.h). `injections` (null:
  // none) records the injection events of accepted mail (relay/injections.h).
  // `metrics` (null: not measured) must outlive the server.
  Server(boost::asio::io_context& ioc, const conf::Snapshot& config,
         std::shared_ptr<Accounts> accounts = nullptr,
         std::shared_ptr<Injections> injections = nullptr, metrics::Instruments* metrics = nullptr);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds every relay.listen address. The error names the address and why.
  Result<bool> start();
  // Stops accepting; sessions finish the transaction in flight, and are
  // closed (421) when `grace` has passed.
  void stop(std::chrono::seconds grace);
  // The snapshot was replaced (SIGHUP): re-read TLS material, new limits.
  void reloaded();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace trackrelay::relay
