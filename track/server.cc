// track/server.cc — the tracking endpoint's listeners and connections.
//
// Connections are net/http_server's (shared with the management API): one
// coroutine per connection on the caller's io_context, which runs on one
// thread (app/serve.cc), timeouts, limits, keep-alive. A request that produces an event waits for
// the store's group commit before its response is written; a store that fails does not block the
// response (the event is lost, the store says so loudly and /healthz answers 503). The I/O thread
// never waits on the database: ACME challenges are answered from memory and the store's
// certificates are read on the store view's thread (track/store_view.h), then installed here.
// May call:
// track/handler, net/http_server, track/tls, acme/alpn.h, store/, conf/, base/, Boost.Beast,
// OpenSSL.
#include "track/server.h"

#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>
#include <filesystem>
#include <optional>

#include "acme/alpn.h"
#include "base/log.h"
#include "net/http_server.h"
#include "store/cert_store.h"
#include "store/event_store.h"
#include "store/location.h"
#include "track/certificate_expiry.h"
#include "track/classify.h"
#include "track/commit_wait.h"
#include "track/handler.h"
#include "track/store_view.h"
#include "track/tls.h"

namespace trackrelay::track {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using net::HttpLimits;
using net::HttpRequest;
using net::HttpResponse;
using net::HttpServer;
using tcp = asio::ip::tcp;

constexpr HttpLimits kLimits{
    .header_bytes = 8 * 1024,  // request line + headers
    .body_bytes = 8 * 1024,    // tracking requests have no body
};

HttpResponse plain_error(http::status status) {
  HttpResponse res;
  res.result(status);
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.body() = std::string(res.reason()) + "\n";
  res.content_length(res.body().size());  // keep-alive: the client knows where it ends
  return res;
}

// ACME HTTP-01 (RFC 8555 §8.3): answered from the store view's memory on the plain listener.
constexpr std::string_view kAcmePrefix = "/.well-known/acme-challenge/";

// How long a response waits for its event's commit before it goes out anyway.
constexpr std::chrono::milliseconds kMaxCommitWait{2000};

// How long start() waits for the store's certificates (before any listener
// is open), so a healthy store's certificates serve the first handshake.
constexpr std::chrono::milliseconds kFirstCertificates{2000};

// The live rows of the store as served entries (on the store view's thread:
// parsing keys is not the I/O thread's work).
std::vector<CertificateSet::Entry> live_entries(const std::vector<store::CertificateRow>& rows) {
  const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  std::vector<CertificateSet::Entry> stored;
  for (const store::CertificateRow& r : rows) {
    if (r.status != "active" || r.chain_pem.empty() || r.not_after_ms <= now) continue;
    auto e = CertificateSet::from_pem({r.domain, r.chain_pem, r.key_pem});
    if (!e) {
      log::error("track", "store certificate " + e.error() + "; not served");
      continue;
    }
    stored.push_back(std::move(e).value());
  }
  return stored;
}

}  // namespace

struct Server::Impl {
  // Expires with the Impl: certificate sets posted by the store view check it.
  std::shared_ptr<int> alive = std::make_shared<int>(0);
  asio::io_context& ioc;
  const conf::Snapshot& snapshot;
  std::shared_ptr<const Prepared> prepared;
  std::shared_ptr<CertificateSet> certs;           // null without track.tls_listen
  std::vector<CertificateSet::Entry> file_certs;   // track.certificates, read at start and reload
  std::vector<CertificateSet::Entry> store_certs;  // the store's live ones, last read
  std::unique_ptr<Stapler> stapler;                // OCSP stapling; with track.tls_listen only
  TlsHelpers tls_helpers;                          // the stapler, TLS-ALPN-01 challenges
  // Declared before the store: the store's last completions (when it is
  // destroyed) still reach it.
  std::shared_ptr<CommitWait> commit_wait;
  std::unique_ptr<store::EventStore> store;
  // ACME challenges and the store's certificates, read on its own thread
  // (the certificates also kept on disk for a start while PostgreSQL is
  // unreachable: store/last_known.h, store_spool).
  std::unique_ptr<StoreView> view;
  std::unique_ptr<HttpServer> http;
  metrics::Instruments* metrics = nullptr;  // null: not measured
  std::shared_ptr<const Rules> rules;       // who clicked (track/classify.h)
  BurstWindow burst;                        // recent clicks per message

  Impl(asio::io_context& io, const conf::Snapshot& s, metrics::Instruments* m)
      : ioc(io), snapshot(s), metrics(m) {}
  ~Impl() {
    view.reset();  // no certificate read is handed over after this
    if (commit_wait) commit_wait->close();
  }

  // track.classification_rules and track.quick_click_seconds of `cfg`.
  Result<bool> load_rules(const conf::Config& cfg);

  asio::awaitable<HttpResponse> answer(const HttpRequest& req, const tcp::endpoint& peer);
  asio::awaitable<bool> record(store::Event e);
  HttpResponse acme_challenge(std::string_view token);
  // `last_known_dir`: where the certificates are kept on disk ("": nowhere).
  void start_view(std::unique_ptr<store::CertStore> cert_store, const std::string& store,
                  const std::string& last_known_dir);
  void install_certificates();
  // TLS-ALPN-01: the key authorization of a validation in progress for `domain`.
  std::optional<std::string> alpn_challenge(const std::string& domain) {
    if (!view) return std::nullopt;
    return view->challenge(acme::alpn_challenge_token(domain));
  }
};

HttpResponse Server::Impl::acme_challenge(std::string_view token) {
  const std::optional<std::string> found = view ? view->challenge(token) : std::nullopt;
  if (!found) return plain_error(http::status::not_found);
  HttpResponse res;
  res.result(http::status::ok);
  res.set(http::field::content_type, "application/octet-stream");
  res.set(http::field::cache_control, "no-store");
  res.body() = *found;
  res.content_length(res.body().size());
  return res;
}

// The store view reads challenges and certificates off the I/O thread; each
// certificate read is parsed there and installed here (posted).
void Server::Impl::start_view(std::unique_ptr<store::CertStore> cert_store,
                              const std::string& store, const std::string& last_known_dir) {
  StoreViewOptions options;
  options.store = store;
  options.last_known_dir = last_known_dir;
  if (certs) {
    options.on_certificates =
        [this, weak = std::weak_ptr<int>(alive)](std::vector<store::CertificateRow> rows) {
          auto entries = std::make_shared<std::vector<CertificateSet::Entry>>(live_entries(rows));
          asio::post(ioc, [this, weak, entries] {
            if (weak.expired()) return;
            store_certs = std::move(*entries);
            install_certificates();
          });
        };
  }
  view = std::make_unique<StoreView>(std::move(cert_store), std::move(options));
  if (certs && !view->wait_first_certificates(kFirstCertificates)) {
    log::warning("track", "store certificates: no answer from " + store::store_name(store) +
                              " yet; served as soon as they are read");
  }
}

// The store's live certificates (last read) plus the file's: served from the next handshake on.
void Server::Impl::install_certificates() {
  if (!certs) return;
  certs = CertificateSet::make(file_certs, store_certs, tls_helpers);
  if (http) http->set_certificates(certs);
}

asio::awaitable<bool> Server::Impl::record(store::Event e) {
  // A link must never break: while the store is failing, do not wait for it
  // (the event is still offered, and /healthz says why). A store that spools
  // (PostgreSQL away, store_spool) still makes the event durable: wait.
  if (const store::Health h = store->health(); !h.ok && !h.spooling) {
    store->append(std::move(e), [](const Result<bool>&) {});
    co_return false;
  }
  // Completes once the store has committed (or failed), or after
  // kMaxCommitWait when the store hangs (a stuck fsync, a lock held
  // elsewhere): then the response goes out without its event being durable,
  // and the store's health reports the failure. Hand-off and completions are
  // batched per io_context round (track/commit_wait.h).
  co_return co_await commit_wait->wait(std::move(e));
}

asio::awaitable<HttpResponse> Server::Impl::answer(const HttpRequest& req,
                                                   const tcp::endpoint& peer) {
  // Proxies that add their own X-Forwarded-For line (rather than appending
  // to the client's) leave several: they form one list, in order.
  std::string forwarded;
  for (auto [it, end] = req.equal_range("X-Forwarded-For"); it != end; ++it) {
    if (!forwarded.empty()) forwarded += ", ";
    forwarded.append(it->value().data(), it->value().size());
  }
  Request r{req.method_string(),          req.target(), req[http::field::host],
            req[http::field::user_agent], forwarded,    peer.address()};
  if (req.count(http::field::host) > 1) {  // RFC 9112 §3.2: more than one Host is a 400
    HttpResponse bad;
    bad.result(http::status::bad_request);
    bad.set(http::field::content_type, "text/plain");
    constexpr std::string_view kBody = "bad request\n";
    if (req.method() != http::verb::head) bad.body() = kBody;
    bad.content_length(kBody.size());
    co_return bad;
  }
  if (req.target().starts_with(kAcmePrefix)) {
    HttpResponse res = acme_challenge(req.target().substr(kAcmePrefix.size()));
    if (req.method() == http::verb::head) res.body().clear();
    co_return res;
  }
  const std::shared_ptr<const Prepared> p = prepared;  // this request's snapshot
  Reply reply = handle(*p, r, std::chrono::system_clock::now(), store->health());
  if (reply.event) classify_event(*rules, burst, *reply.event, req);  // who clicked
  if (metrics && reply.event) {
    metrics->track_event(reply.event->type, reply.event->classification,
                         reply.event->tracking_domain);
  }
  if (metrics) metrics->track_response(reply.status);
  if (reply.event) co_await record(std::move(*reply.event));
  HttpResponse res;
  res.result(static_cast<unsigned>(reply.status));
  if (reply.status == 302) {
    res.set(http::field::location, reply.location);
  } else {
    res.set(http::field::content_type, reply.content_type);
  }
  if (reply.no_store) res.set(http::field::cache_control, "no-store, private");
  if (reply.redirect_headers) {
    res.set("X-Robots-Tag", "noindex");
    res.set("Referrer-Policy", "no-referrer");
  }
  if (req.method() != http::verb::head) res.body().assign(reply.body.data(), reply.body.size());
  res.content_length(reply.body.size());
  co_return res;
}

Result<bool> Server::Impl::load_rules(const conf::Config& cfg) {
  auto loaded = track::load_rules(cfg.track.classification_rules, cfg.track.quick_click_seconds);
  if (!loaded) return Error{loaded.error()};
  rules = std::make_shared<const Rules>(std::move(loaded).value());
  return true;
}

Server::Server(boost::asio::io_context& ioc, const conf::Snapshot& config,
               metrics::Instruments* metrics)
    : impl_(std::make_unique<Impl>(ioc, config, metrics)) {}

Server::~Server() = default;

Result<bool> Server::start() {
  Impl& s = *impl_;
  std::shared_ptr<const conf::Config> cfg = s.snapshot.current();
  auto prepared = prepare(cfg);
  if (!prepared) return Error{prepared.error()};
  s.prepared = std::move(prepared).value();
  if (auto r = s.load_rules(*cfg); !r) return r;
  if (!cfg->track.tls_listen.empty()) {
    auto files = CertificateSet::load_files(cfg->track.certificates);
    if (!files) return Error{files.error()};
    s.file_certs = std::move(files).value();
    s.stapler = std::make_unique<Stapler>();
    s.tls_helpers = {s.stapler.get(),
                     [&s](const std::string& domain) { return s.alpn_challenge(domain); }};
    s.certs = CertificateSet::make(s.file_certs, {}, s.tls_helpers);
    report_certificate_expiry(cfg->track.certificates, s.metrics);
  }
  store::make_store_directory(cfg->store);
  // PostgreSQL unreachable now: the stores connect when it answers; the
  // certificates come from the last-known snapshot meanwhile, and events are
  // spooled (store_spool; without one, the error: see app/serve.cc).
  const bool pg = store::is_database_uri(cfg->store);
  auto certs = store::CertStore::open(cfg->store, true, store::Connect::kWhenReachable);
  if (!certs) return Error{"store: " + certs.error()};
  s.start_view(std::move(certs).value(), cfg->store, pg ? cfg->store_spool : std::string());
  store::Options options;
  options.path = cfg->store;
  options.spool_dir = cfg->store_spool;  // PostgreSQL only
  if (!options.spool_dir.empty()) options.connect = store::Connect::kWhenReachable;
  if (s.metrics) options.commit_seconds = &s.metrics->store_commit_seconds();
  auto opened = store::EventStore::open(std::move(options));
  if (!opened) return Error{"store: " + opened.error(), pg ? opened.code() : Errc::kFailed};
  s.store = std::move(opened).value();
  s.commit_wait = std::make_shared<CommitWait>(s.ioc, *s.store, kMaxCommitWait);
  s.http = std::make_unique<HttpServer>(
      s.ioc, "track", kLimits,
      [&s](const HttpRequest& req, const tcp::endpoint& peer) { return s.answer(req, peer); },
      plain_error);
  s.http->set_certificates(s.certs);
  for (const std::string& a : cfg->track.listen) {
    if (auto r = s.http->listen(a, "track.listen", false); !r) return r;
  }
  for (const std::string& a : cfg->track.tls_listen) {
    if (auto r = s.http->listen(a, "track.tls_listen", true); !r) return r;
  }
  return true;
}

void Server::stop(std::chrono::seconds grace) {
  if (impl_->http) impl_->http->stop(grace);
}

Result<bool> Server::reloaded() {
  Impl& s = *impl_;
  std::shared_ptr<const conf::Config> cfg = s.snapshot.current();
  auto prepared = prepare(cfg);
  if (!prepared) return Error{prepared.error() + "; the tracking endpoint keeps its configuration"};
  if (s.certs != nullptr) {
    auto files = CertificateSet::load_files(cfg->track.certificates);
    if (!files) return Error{files.error() + "; the certificates in use stay"};
    s.file_certs = std::move(files).value();
  }
  s.prepared = std::move(prepared).value();
  if (s.certs) report_certificate_expiry(cfg->track.certificates, s.metrics);
  if (auto r = s.load_rules(*cfg); !r) {
    log::error("reload", r.error() + "; the classification rules in use stay");
  }
  s.install_certificates();                    // the file's at once
  if (s.view) s.view->refresh_certificates();  // the store's when read
  if (cfg->store != s.store->path()) {
    log::warning("track", "store: the new store " + store::store_name(cfg->store) +
                              " takes effect at the next restart; events still go to " +
                              store::store_name(s.store->path()));
  }
  return true;
}

Result<bool> Server::domains_changed() {
  Impl& s = *impl_;
  auto prepared = prepare(s.snapshot.current());
  if (!prepared) return Error{prepared.error()};
  s.prepared = std::move(prepared).value();
  // A certificate write bumps the same change counter: read on the view's thread.
  if (s.view) s.view->refresh_certificates();
  return true;
}

}  // namespace trackrelay::track
