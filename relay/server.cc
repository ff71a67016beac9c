// relay/server.cc — relay::Server: the listeners, the bound on concurrent
// sessions, the blocking-work pool (rewrites, maildir writes, password
// checks), the pool of idle upstream connections, reload and graceful stop.
//
// Everything here runs on the io_context's thread except the work posted to
// the pool, which touches only its own arguments.
//
// May call: relay/session.h, relay/upstream.h, net/address.h, conf/, Boost.Asio.
#include "relay/server.h"

#include <malloc.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
#include <map>
#include <set>
#include <thread>

#include "relay/session.h"

namespace trackrelay::relay {
namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
// Idle upstream connections kept for reuse, and for how long (below
// Postfix's smtpd_timeout of 300s, so the upstream does not close them first).
constexpr std::size_t kMaxIdleUpstreams = 32;
constexpr std::chrono::seconds kUpstreamIdleTime{60};
// Threads for work that waits on the disk or the store (SessionHost::waits):
// concurrent sessions waiting for one group commit each hold one.
constexpr std::size_t kWaitThreads = 32;
// Messages are buffers of 10 KB–MBs allocated on a rewrite thread and freed
// on the I/O thread: with glibc's defaults each free hands the top of that
// thread's heap back to the kernel (madvise) and the next message takes
// page faults to get it again (10 % of the relay's time under bench/relay).
// Keep up to this much free memory per heap instead.
constexpr int kMallocKeep = 64 * 1024 * 1024;

std::string system_hostname() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "localhost";
  return host;
}

std::chrono::milliseconds secs(int s) {
  return std::chrono::milliseconds(int64_t{s} * 1000);
}

}  // namespace

struct Server::Impl final : SessionHost {
  Impl(asio::io_context& ioc, const conf::Snapshot& snapshot, std::shared_ptr<Accounts> accounts,
       std::shared_ptr<Injections> injections, metrics::Instruments* metrics)
      : ioc_(ioc),
        snapshot_(snapshot),
        accounts_(std::move(accounts)),
        injections_(std::move(injections)),
        metrics_(metrics),
        grace_timer_(ioc) {}

  struct AuthFailures {
    int count = 0;                                // failures in the window
    std::chrono::steady_clock::time_point since;  // the first failure of the window
    int in_flight = 0;                            // attempts being checked now
  };

  // --- SessionHost ---
  std::shared_ptr<const Runtime> runtime() const override { return runtime_; }

  asio::awaitable<std::variant<std::unique_ptr<Upstream>, Reply>> acquire_upstream(
      Watch& watch, std::uint64_t session_id) override {
    if (target_.kind == UpstreamTarget::Kind::kMaildir) {
      co_return make_maildir(target_.maildir, waits_->get_executor(), session_id);
    }
    const auto now = std::chrono::steady_clock::now();
    while (!idle_.empty()) {
      Idle idle = std::move(idle_.back());
      idle_.pop_back();
      if (now - idle.since > kUpstreamIdleTime || idle.generation != generation_) {
        idle.upstream->close();
        continue;
      }
      idle.upstream->attach(&watch);
      // RSET proves the connection still works before a client relies on it.
      if (co_await idle.upstream->reset()) co_return std::move(idle.upstream);
      idle.upstream->close();
    }
    co_return co_await connect_smtp(upstream_options_, watch);
  }

  void release_upstream(std::unique_ptr<Upstream> up) override {
    up->attach(nullptr);
    if (up->broken() || stopping_ || idle_.size() >= kMaxIdleUpstreams ||
        target_.kind != UpstreamTarget::Kind::kSmtp) {
      up->close();
      return;
    }
    idle_.push_back(Idle{std::move(up), std::chrono::steady_clock::now(), generation_});
  }

  asio::any_io_executor blocking() override { return workers_->get_executor(); }
  asio::any_io_executor waits() override { return waits_->get_executor(); }
  bool stopping() const override { return stopping_; }
  void session_ended(Session* s) override {
    sessions_.erase(s);
    if (stopping_ && sessions_.empty()) finish_stop();
  }

  // Failures within the window plus attempts being checked right now: N
  // concurrent sessions cannot each get a guess in before the limit applies.
  bool auth_blocked(const asio::ip::address& addr) override {
    const auto it = auth_failures_.find(addr);
    if (it == auth_failures_.end()) return false;
    AuthFailures& f = it->second;
    if (f.count > 0 && std::chrono::steady_clock::now() - f.since > kAuthFailureWindow) {
      f.count = 0;
    }
    if (f.count == 0 && f.in_flight == 0) {
      auth_failures_.erase(it);
      return false;
    }
    return f.count + f.in_flight >= kMaxAuthFailuresPerAddress;
  }

  bool auth_begin(const asio::ip::address& addr) override {
    if (auth_blocked(addr)) return false;
    entry(addr).in_flight++;
    return true;
  }

  void auth_end(const asio::ip::address& addr, bool failed) override {
    AuthFailures& f = entry(addr);
    if (f.in_flight > 0) --f.in_flight;
    if (failed) {
      const auto now = std::chrono::steady_clock::now();
      if (f.count == 0 || now - f.since > kAuthFailureWindow) {
        f.count = 0;
        f.since = now;
      }
      ++f.count;
    }
    if (f.count == 0 && f.in_flight == 0) auth_failures_.erase(addr);
  }

  AuthFailures& entry(const asio::ip::address& addr) {
    const auto now = std::chrono::steady_clock::now();
    if (!auth_failures_.contains(addr) && auth_failures_.size() >= kMaxAuthAddresses) {
      // Bounded: forget expired ones first (never one with attempts in flight).
      std::erase_if(auth_failures_, [&](const auto& kv) {
        return kv.second.in_flight == 0 && now - kv.second.since > kAuthFailureWindow;
      });
      if (auth_failures_.size() >= kMaxAuthAddresses) {
        for (auto it = auth_failures_.begin(); it != auth_failures_.end(); ++it) {
          if (it->second.in_flight == 0) {
            auth_failures_.erase(it);
            break;
          }
        }
      }
    }
    return auth_failures_[addr];
  }

  // --- Server ---
  // The STARTTLS context of relay.tls_cert / relay.tls_key (TLS 1.2+).
  static Result<std::shared_ptr<asio::ssl::context>> server_tls(const conf::RelayConfig& rc) {
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    boost::system::error_code ec;
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                         asio::ssl::context::no_tlsv1_1,
                     ec);
    ctx->use_certificate_chain_file(rc.tls_cert, ec);
    if (ec) return Error{"relay.tls_cert " + rc.tls_cert + ": " + ec.message()};
    ctx->use_private_key_file(rc.tls_key, asio::ssl::context::pem, ec);
    if (ec) return Error{"relay.tls_key " + rc.tls_key + ": " + ec.message()};
    return ctx;
  }

  // Prepares what sessions need from the current configuration.
  Result<bool> prepare() {
    std::shared_ptr<const conf::Config> config = snapshot_.current();
    const conf::RelayConfig& rc = config->relay;
    auto target = parse_upstream(rc.upstream);
    if (!target) return Error{target.error()};
    auto clients = net::parse_cidrs(rc.clients, "relay.clients");
    if (!clients) return Error{clients.error()};
    auto creds = Credentials::parse(rc.auth);
    if (!creds) return Error{creds.error()};
    auto rt = std::make_shared<Runtime>();
    rt->config = config;
    rt->hostname = rc.hostname.empty() ? system_hostname() : rc.hostname;
    rt->clients = std::move(*clients);
    rt->command_timeout = secs(rc.command_timeout);
    rt->data_timeout = secs(rc.data_timeout);
    rt->max_message_size = rc.max_message_size;
    rt->max_recipients = static_cast<std::size_t>(rc.max_recipients);
    rt->max_errors = rc.max_errors;
    rt->credentials = std::move(*creds);
    rt->auth_over_plaintext = rc.auth_over_plaintext;
    if (rc.bare_newline == "reject") {
      rt->bare_newline = BareNewline::kReject;
    } else if (rc.bare_newline != "normalize") {
      return Error{"relay.bare_newline: expected normalize or reject, got '" + rc.bare_newline +
                   "'"};
    }
    rt->accounts = accounts_;
    rt->lmtp = rc.protocol == "lmtp";  // the loader allows smtp | lmtp only
    rt->per_recipient = rt->lmtp || rc.per_recipient;
    rt->injections = injections_;
    rt->metrics = metrics_;
    rt->require_tls = rc.require_tls;
    if (!rc.tls_cert.empty() || !rc.tls_key.empty()) {
      auto ctx = server_tls(rc);
      if (!ctx) return Error{ctx.error()};
      rt->tls = std::move(*ctx);
    }
    if (rt->require_tls && !rt->tls) return Error{"relay.require_tls needs relay.tls_cert"};

    UpstreamOptions uo;
    uo.target = *target;
    uo.helo_name = rt->hostname;
    uo.timeouts.connect = secs(rc.upstream_connect_timeout);
    uo.timeouts.reply = secs(rc.upstream_reply_timeout);
    uo.timeouts.data_end = secs(rc.upstream_data_timeout);
    if (rc.upstream_tls == "none") {
      uo.tls = UpstreamTls::kNone;
    } else if (rc.upstream_tls == "required") {
      uo.tls = UpstreamTls::kRequired;
    } else if (rc.upstream_tls == "opportunistic") {
      uo.tls = UpstreamTls::kOpportunistic;
    } else {
      return Error{"relay.upstream_tls: expected none, opportunistic or required, got '" +
                   rc.upstream_tls + "'"};
    }
    if (uo.tls != UpstreamTls::kNone) {
      auto client_tls_ = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
      boost::system::error_code ec;
      if (uo.tls == UpstreamTls::kRequired) {
        client_tls_->set_default_verify_paths(ec);
        client_tls_->set_verify_mode(asio::ssl::verify_peer);
      } else {
        client_tls_->set_verify_mode(asio::ssl::verify_none);
      }
      uo.tls_context = client_tls_;
    }
    uo.auth_user = rc.upstream_user;
    uo.auth_password = rc.upstream_password;

    runtime_ = std::move(rt);
    upstream_options_ = std::move(uo);
    target_ = std::move(*target);
    ++generation_;  // idle upstream connections of the old configuration are dropped
    return true;
  }

  Result<bool> start() {
    if (auto r = prepare(); !r) return r;
    const conf::RelayConfig& rc = runtime_->config->relay;
    max_sessions_ = static_cast<std::size_t>(rc.max_sessions);
    const unsigned workers = rc.workers > 0 ? static_cast<unsigned>(rc.workers)
                                            : std::max(1u, std::thread::hardware_concurrency());
    workers_.emplace(workers);
    // Process-wide allocator setting, set once before any session starts;
    // mmap only for blocks above 32 MiB (glibc's largest threshold).
    ::mallopt(M_TRIM_THRESHOLD, kMallocKeep);
    ::mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    waits_.emplace(std::min(kWaitThreads, std::max<std::size_t>(2, max_sessions_)));
    for (const std::string& text : rc.listen) {
      // Checked when the configuration was loaded (conf/validate.cc).
      auto parsed = net::parse_listen(text);
      if (!parsed) return Error{"relay.listen " + parsed.error()};
      const tcp::endpoint ep = *parsed;
      const auto addr = ep.address();
      boost::system::error_code ec;
      tcp::acceptor acc(ioc_);
      acc.open(ep.protocol(), ec);
      if (!ec) acc.set_option(tcp::acceptor::reuse_address(true), ec);
      if (!ec && addr.is_v6()) acc.set_option(asio::ip::v6_only(true), ec);
      if (!ec) acc.bind(ep, ec);
      if (!ec) acc.listen(asio::socket_base::max_listen_connections, ec);
      if (ec) return Error{"relay.listen " + text + ": " + ec.message()};
      const auto bound = acc.local_endpoint(ec);
      log::info("relay", "listening on " +
                             net::HostPort{bound.address().to_string(), bound.port()}.str() +
                             (runtime_->lmtp ? " (LMTP)" : "") + ", upstream " + rc.upstream);
      acceptors_.push_back(std::make_unique<tcp::acceptor>(std::move(acc)));
    }
    for (auto& acc : acceptors_) {
      asio::co_spawn(ioc_, accept_loop(*acc), asio::detached);
    }
    return true;
  }

  asio::awaitable<void> accept_loop(tcp::acceptor& acc) {
    for (;;) {
      auto [ec, socket] = co_await acc.async_accept(use_nothrow);
      if (stopping_ || ec == asio::error::operation_aborted) co_return;
      if (ec) {
        // EMFILE and friends: wait a little instead of spinning.
        log::error("relay", "accept: " + ec.message());
        asio::steady_timer pause(ioc_, std::chrono::milliseconds(100));
        co_await pause.async_wait(use_nothrow);
        if (stopping_) co_return;
        continue;
      }
      if (sessions_.size() >= max_sessions_) {
        Channel(std::move(socket), nullptr).close_now(reply_for(Failure::kTooManySessions).wire());
        continue;
      }
      auto session = std::make_shared<Session>(*this, std::move(socket), ++session_counter_);
      sessions_.insert(session.get());
      asio::co_spawn(
          ioc_, [session]() -> asio::awaitable<void> { co_await session->run(); }, asio::detached);
    }
  }

  void stop(std::chrono::seconds grace) {
    if (stopping_) return;
    stopping_ = true;
    for (auto& acc : acceptors_) {
      boost::system::error_code ignored;
      acc->close(ignored);
    }
    for (Idle& idle : idle_) idle.upstream->close();
    idle_.clear();
    if (sessions_.empty()) return finish_stop();
    for (Session* s : std::set<Session*>(sessions_)) s->stop(false);
    grace_timer_.expires_after(grace);
    grace_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      for (Session* s : std::set<Session*>(sessions_)) s->stop(true);
    });
  }

  void finish_stop() {
    grace_timer_.cancel();
    for (Idle& idle : idle_) idle.upstream->close();
    idle_.clear();
  }

  static constexpr std::size_t kMaxAuthAddresses = 100000;

  struct Idle {
    std::unique_ptr<Upstream> upstream;
    std::chrono::steady_clock::time_point since;
    std::uint64_t generation;
  };

  asio::io_context& ioc_;
  const conf::Snapshot& snapshot_;
  std::shared_ptr<Accounts> accounts_;  // null: no API-key AUTH, no X-MSYS-SUBACCOUNT lookups
  // Records injection events (relay/injections.h); null: none.
  std::shared_ptr<Injections> injections_;
  metrics::Instruments* metrics_;  // null: not measured
  std::shared_ptr<const Runtime> runtime_;
  UpstreamOptions upstream_options_;
  UpstreamTarget target_;
  std::uint64_t generation_ = 0;
  std::optional<asio::thread_pool> workers_;  // CPU work: the rewrite
  std::optional<asio::thread_pool> waits_;    // work that waits: the store, maildir files
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors_;
  std::set<Session*> sessions_;
  std::size_t max_sessions_ = 0;
  std::uint64_t session_counter_ = 0;
  std::vector<Idle> idle_;
  std::map<asio::ip::address, AuthFailures> auth_failures_;  // by client address
  bool stopping_ = false;
  asio::steady_timer grace_timer_;
};

Server::Server(asio::io_context& ioc, const conf::Snapshot& config,
               std::shared_ptr<Accounts> accounts, std::shared_ptr<Injections> injections,
               metrics::Instruments* metrics)
    : impl_(std::make_unique<Impl>(ioc, config, std::move(accounts), std::move(injections),
                                   metrics)) {}

Server::~Server() {
  if (impl_->workers_) impl_->workers_->join();
  if (impl_->waits_) impl_->waits_->join();
}

Result<bool> Server::start() {
  return impl_->start();
}

void Server::stop(std::chrono::seconds grace) {
  impl_->stop(grace);
}

void Server::reloaded() {
  if (auto r = impl_->prepare(); !r) {
    log::error("relay", "reload: " + r.error() + "; the relay keeps its previous settings");
  }
}

}  // namespace trackrelay::relay
