// acme/manager.cc — see manager.h. May call: acme/ari, acme/client, acme/pem, store/,
// conf/, base/, Boost.Asio.
#include "acme/manager.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstring>
#include <ctime>
#include <deque>
#include <map>
#include <set>
#include <thread>

#include "acme/ari.h"
#include "acme/client.h"
#include "acme/ocsp.h"
#include "acme/pem.h"
#include "base/crypto.h"
#include "base/encoding.h"
#include "base/log.h"
#include "store/cluster.h"
#include "store/location.h"

namespace trackrelay::acme {
namespace {

namespace asio = boost::asio;

constexpr std::int64_t kDayMs = 86400000;
constexpr std::int64_t kLeaseMs = 180000;  // a crashed issuer's lease lapses after 3 minutes
constexpr std::int64_t kHourMs = 3600000;
constexpr int kOcspPerPass = 5;  // revocation checks per pass (each bounded at 10 s)
constexpr int kAriPerPass = 5;   // renewalInfo requests per pass (each bounded at 10 s)

// What the CA's renewalInfo said about one certificate (worker only; a
// restart asks again).
struct AriState {
  RenewalWindow window;
  std::int64_t chosen_ms = 0;  // the random time in the window, kept while it stays the same
  std::int64_t next_check_ms = 0;
  bool ok = false;
  bool failure_logged = false;
};

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string iso(std::int64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool covered_by_file(const conf::Config& cfg, const std::string& name) {
  for (const conf::TrackCertificate& c : cfg.track.certificates) {
    for (const std::string& d : c.domains) {
      if (name_matches(d, name)) return true;
    }
  }
  return false;
}

bool account_active(const store::DomainsSnapshot& d, std::int64_t id) {
  if (id == 0) return true;
  return std::any_of(d.subaccounts.begin(), d.subaccounts.end(),
                     [&](const auto& s) { return s.id == id && s.status == "active"; });
}

std::int64_t renew_at(const store::CertificateRow& row, int renew_before_days) {
  if (renew_before_days > 0) return row.not_after_ms - renew_before_days * kDayMs;
  return row.not_after_ms - (row.not_after_ms - row.not_before_ms) / 3;
}

}  // namespace

std::vector<std::string> challenge_types(const conf::Config& cfg) {
  if (cfg.acme.challenge == "http-01" || cfg.acme.challenge == "tls-alpn-01") {
    return {cfg.acme.challenge};
  }
  std::vector<std::string> out;
  if (!cfg.track.listen.empty()) out.push_back("http-01");
  if (!cfg.track.tls_listen.empty()) out.push_back("tls-alpn-01");
  return out;
}

std::vector<std::string> wanted_names(const conf::Config& cfg,
                                      const store::DomainsSnapshot& domains) {
  std::set<std::string> names;
  if (cfg.system_secure || cfg.system_https_pending) names.insert(cfg.system_domain);
  std::set<std::string> in_file;
  for (const conf::TrackingDomain& t : cfg.tracking_domains) {
    if (t.from_store) continue;
    in_file.insert(t.domain);
    if (t.secure || t.https_pending) names.insert(t.domain);
  }
  for (const store::TrackingDomainRow& r : domains.tracking) {
    if (in_file.contains(r.domain) || r.domain == cfg.system_domain) continue;
    if (r.verified && r.secure && account_active(domains, r.subaccount_id)) names.insert(r.domain);
  }
  std::vector<std::string> out;
  for (const std::string& n : names) {
    if (!n.empty() && !covered_by_file(cfg, n)) out.push_back(n);
  }
  return out;
}

std::int64_t renewal_time(const store::CertificateRow& row, int renew_before_days,
                          std::optional<std::int64_t> ari_ms) {
  if (!ari_ms) return renew_at(row, renew_before_days);
  if (renew_before_days > 0) return std::min(*ari_ms, renew_at(row, renew_before_days));
  // A window reaching past expiry never lets the certificate lapse: at the
  // latest with a tenth of its lifetime left.
  return std::min(*ari_ms, row.not_after_ms - (row.not_after_ms - row.not_before_ms) / 10);
}

bool due(const store::CertificateRow& row, int renew_before_days, std::int64_t now,
         std::optional<std::int64_t> ari_ms) {
  if (row.chain_pem.empty() || row.status != "active") return true;
  return now >= renewal_time(row, renew_before_days, ari_ms);
}

std::int64_t backoff_ms(int failures) {
  const int doublings = std::clamp(failures - 1, 0, 20);
  return std::min<std::int64_t>(std::int64_t{10000} << doublings, 6 * kHourMs);
}

struct Manager::Impl : std::enable_shared_from_this<Manager::Impl> {
  asio::io_context& ioc;
  const conf::Snapshot& snapshot;
  std::unique_ptr<store::DomainStore> domains;
  std::unique_ptr<store::CertStore> certs;
  asio::thread_pool worker{1};
  asio::steady_timer timer{ioc};
  std::atomic<bool> stopping{false};
  std::string holder;
  // PostgreSQL: the advisory lock replaces the lease row (store/cluster.h).
  std::unique_ptr<store::NodeLock> lock;
  std::deque<std::int64_t> issued;  // start times of the last hour's orders (worker only)
  std::map<std::string, std::int64_t> ocsp_next;  // domain:serial -> next OCSP check (worker only)
  int ocsp_budget = 0;                            // OCSP queries left in this pass
  std::map<std::string, AriState> ari;            // domain:serial -> ARI answer (worker only)
  std::string ari_directory, ari_url;             // the directory and its renewalInfo URL
  std::int64_t ari_url_next = 0;                  // when to read the directory again
  bool ari_url_failure_logged = false;
  int ari_budget = 0;  // renewalInfo requests left in this pass

  Impl(asio::io_context& io, const conf::Snapshot& s) : ioc(io), snapshot(s) {}

  void schedule() {
    timer.expires_after(kPassEvery);
    timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->stopping) return;
      asio::post(self->worker, [self] {
        self->pass();
        asio::post(self->ioc, [self] {
          if (!self->stopping) self->schedule();
        });
      });
    });
  }

  void pass();
  // After a challenge put: every tracker sharing the store answers
  // challenges from memory (track/store_view.h) and sees the put within
  // store::kChallengeVisible; the CA is asked to validate only then.
  void until_visible() {
    const auto end = std::chrono::steady_clock::now() + store::kChallengeVisible;
    while (!stopping && std::chrono::steady_clock::now() < end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  void check_revocation(store::CertificateRow& row, std::int64_t now);
  std::optional<std::int64_t> ari_time(const conf::Config& cfg, const store::CertificateRow& row,
                                       std::int64_t now);
  const std::string& renewal_info_url(const conf::Config& cfg, std::int64_t now);
  void ask_ari(const conf::Config& cfg, const store::CertificateRow& row, AriState& st,
               std::int64_t now);
  void issue_one(const conf::Config& cfg, store::CertificateRow row);
  Result<std::string> account(const conf::Config& cfg, const Key& key, std::string kid);
};

void Manager::Impl::pass() {
  const std::shared_ptr<const conf::Config> cfg = snapshot.current();
  if (cfg->acme.directory.empty()) return;
  if (lock) {
    if (!lock->hold()) return;  // another node issues for this database
  } else if (auto lease = certs->take_lease(holder, kLeaseMs); !lease || !*lease) {
    return;  // another process issues for this store
  }
  auto snap = domains->load();
  auto rows = certs->certificates();
  if (!snap || !rows) {
    log::error("acme", !snap ? snap.error() : rows.error());
    return;
  }
  const std::vector<std::string> names = wanted_names(*cfg, *snap);
  std::map<std::string, store::CertificateRow> by_name;
  for (store::CertificateRow& r : *rows) {
    const bool wanted = std::binary_search(names.begin(), names.end(), r.domain);
    if (r.source == "acme" && !wanted) {
      (void)certs->delete_certificate(r.domain);  // no longer secure, verified or ours
      log::info("acme", r.domain + ": no longer needs a certificate; forgotten");
      continue;
    }
    by_name[r.domain] = std::move(r);
  }
  const std::int64_t now = now_ms();
  ocsp_budget = kOcspPerPass;
  ari_budget = kAriPerPass;
  for (auto& [name, row] : by_name) check_revocation(row, now);
  while (!issued.empty() && issued.front() < now - kHourMs) issued.pop_front();
  for (const std::string& name : names) {
    store::CertificateRow row = by_name.contains(name) ? by_name[name] : store::CertificateRow{};
    row.domain = name;
    if (row.source == "manual" || row.next_try_ms > now) continue;
    if (!due(row, cfg->acme.renew_before_days, now, ari_time(*cfg, row, now))) continue;
    if (static_cast<int>(issued.size()) >= kMaxPerHour) {
      log::warning("acme", "rate limit: " + std::to_string(kMaxPerHour) +
                               " orders in the last hour; " + name + " waits");
      return;
    }
    issued.push_back(now);
    issue_one(*cfg, std::move(row));
    return;  // one order per pass
  }
}

// Asks the CA's OCSP responder (when the certificate names one) whether a
// served certificate was revoked: an ACME one is then replaced at once (it
// is no longer `active`, so it is due), an uploaded one shows `failed`.
void Manager::Impl::check_revocation(store::CertificateRow& row, std::int64_t now) {
  if (row.status != "active" || row.chain_pem.empty() || row.not_after_ms <= now) return;
  const std::string key = row.domain + ":" + row.serial;
  if (auto it = ocsp_next.find(key); it != ocsp_next.end() && now < it->second) return;
  if (ocsp_responder(row.chain_pem).empty()) {
    ocsp_next[key] = now + kDayMs;
    return;
  }
  if (ocsp_budget-- <= 0) return;  // the rest next pass: a pass stays well within the lease
  auto a = query_ocsp(row.chain_pem);
  if (!a) {
    ocsp_next[key] = now + 60000;
    log::warning("acme", row.domain + ": revocation check: " + a.error());
    return;
  }
  ocsp_next[key] = ocsp_refresh_at(*a, now);
  if (a->status != OcspAnswer::Status::kRevoked) return;
  const bool ours = row.source == "acme";
  row.status = "failed";
  row.next_try_ms = 0;
  row.message = "certificate " + row.serial + " was revoked by its CA on " + iso(a->revoked_ms) +
                " (OCSP: " + a->reason + "); " +
                (ours ? "requesting a replacement" : "upload a new one");
  log::warning("acme", row.domain + ": " + row.message);
  if (auto r = certs->put_certificate(row); !r) log::error("acme", r.error());
  ocsp_next.erase(key);
}

// The renewal time the CA's ARI answer gives an active ACME certificate, or
// nullopt (the lifetime rule applies): no renewalInfo, or it failed.
std::optional<std::int64_t> Manager::Impl::ari_time(const conf::Config& cfg,
                                                    const store::CertificateRow& row,
                                                    std::int64_t now) {
  if (row.source != "acme" || row.chain_pem.empty() || row.status != "active") return {};
  if (renewal_info_url(cfg, now).empty()) return {};
  AriState& st = ari[row.domain + ":" + row.serial];
  if (now >= st.next_check_ms && ari_budget-- > 0) ask_ari(cfg, row, st, now);
  if (!st.ok) return {};
  return st.chosen_ms;
}

// The directory's renewalInfo URL, read again every 6 hours ("" = no ARI).
const std::string& Manager::Impl::renewal_info_url(const conf::Config& cfg, std::int64_t now) {
  if (ari_directory == cfg.acme.directory && now < ari_url_next) return ari_url;
  ari_directory = cfg.acme.directory;
  ari_url.clear();
  HttpsOptions https{cfg.acme.ca_file, std::chrono::seconds(10)};
  auto url = fetch_renewal_info_url(https, cfg.acme.directory);
  if (!url) {
    ari_url_next = now + kHourMs;
    if (!ari_url_failure_logged) {
      log::warning("acme", "renewal information (ARI): " + url.error() +
                               "; renewing by the certificates' lifetime");
    }
    ari_url_failure_logged = true;
    return ari_url;
  }
  ari_url_failure_logged = false;
  ari_url_next = now + 6 * kHourMs;
  ari_url = *url;
  return ari_url;
}

// Asks the CA when it wants `row` renewed; a new window gets a new random
// time, a failure falls back to the lifetime rule (logged once).
void Manager::Impl::ask_ari(const conf::Config& cfg, const store::CertificateRow& row, AriState& st,
                            std::int64_t now) {
  auto id = ari_cert_id(row.chain_pem);
  HttpsOptions https{cfg.acme.ca_file, std::chrono::seconds(10)};
  auto info =
      id ? fetch_renewal_info(https, ari_url, *id, now) : Result<RenewalInfo>(Error{id.error()});
  if (!info) {
    st.ok = false;
    st.next_check_ms = now + kHourMs;
    if (!st.failure_logged) {
      log::warning("acme", row.domain + ": renewal information (ARI): " + info.error() +
                               "; renewing by the certificate's lifetime");
    }
    st.failure_logged = true;
    return;
  }
  st.next_check_ms = now + info->retry_after.count() * 1000;
  st.failure_logged = false;
  const RenewalWindow& w = info->window;
  if (st.ok && w.start_ms == st.window.start_ms && w.end_ms == st.window.end_ms) return;
  std::uint64_t random = 0;
  if (auto bytes = random_bytes(sizeof random)) std::memcpy(&random, bytes->data(), sizeof random);
  st.window = w;
  st.chosen_ms = w.end_ms < now ? now : choose_in_window(w, random);
  st.ok = true;
  log::info("acme", row.domain + ": renewal information (ARI) for " + *id + ": window " +
                        iso(w.start_ms) + " – " + iso(w.end_ms) + "; renewing at " +
                        iso(renewal_time(row, cfg.acme.renew_before_days, st.chosen_ms)) +
                        (w.explanation_url.empty() ? "" : " (" + w.explanation_url + ")"));
}

Result<std::string> Manager::Impl::account(const conf::Config& cfg, const Key& key,
                                           std::string kid) {
  if (!kid.empty()) return kid;
  Client c({cfg.acme.ca_file}, cfg.acme.directory, key, {}, &stopping);
  auto registered = c.register_account(cfg.acme.email);
  if (!registered) return Error{registered.error()};
  if (auto r = certs->put_account({cfg.acme.directory, key.private_pem(), *registered}); !r) {
    return Error{r.error()};
  }
  log::info("acme", "account " + *registered + " at " + cfg.acme.directory);
  return registered;
}

void Manager::Impl::issue_one(const conf::Config& cfg, store::CertificateRow row) {
  const std::string& dir = cfg.acme.directory;
  const bool renewing =
      !row.chain_pem.empty() && row.not_after_ms > now_ms() && row.status == "active";
  const bool revoked =
      row.status == "failed" && row.message.find("was revoked") != std::string::npos;
  if (!renewing) {
    row.status = "pending";
    row.message =
        (revoked ? row.message + "; " : std::string()) + "requesting a certificate from " + dir;
    (void)certs->put_certificate(row);
  }
  log::info("acme", row.domain + ": " + (renewing ? "renewing" : "requesting") + " a certificate");
  Result<Issued> issued = Error{"no account"};
  auto stored = certs->account(dir);
  std::optional<Key> key;
  std::string kid;
  if (stored && *stored) {
    if (auto k = Key::from_pem((*stored)->key_pem); k) key.emplace(std::move(k).value());
    kid = (*stored)->kid;
  }
  if (!key) {
    auto k = Key::generate();
    if (k) key.emplace(std::move(k).value());
    kid.clear();
    if (key) (void)certs->put_account({dir, key->private_pem(), ""});
  }
  if (key) {
    auto account_url = account(cfg, *key, kid);
    if (!account_url) {
      issued = Error{account_url.error()};
    } else {
      Client c({cfg.acme.ca_file}, dir, *key, *account_url, &stopping);
      c.set_challenge_types(challenge_types(cfg));
      if (auto id = ari_cert_id(row.chain_pem); id) {
        c.set_replaces(*id);  // sent only when the directory has renewalInfo
        if (!ari_url.empty()) log::info("acme", row.domain + ": the order replaces " + *id);
      }
      ChallengeSink sink{[this](const std::string& t, const std::string& ka, const std::string& d) {
                           auto put = certs->put_challenge(t, ka, d);
                           if (put) until_visible();
                           return put;
                         },
                         [this](const std::string& t) { (void)certs->delete_challenge(t); }};
      issued = c.issue({row.domain}, sink);
      if (!issued && issued.error().find("accountDoesNotExist") != std::string::npos) {
        (void)certs->put_account({dir, key->private_pem(), ""});  // register again next time
      }
    }
  }
  const std::int64_t now = now_ms();
  auto info = issued ? inspect(issued->chain_pem) : Result<CertInfo>(Error{issued.error()});
  if (info) {
    row.chain_pem = issued->chain_pem;
    row.key_pem = issued->key_pem;
    row.not_before_ms = info->not_before_ms;
    row.not_after_ms = info->not_after_ms;
    row.serial = info->serial;
    row.status = "active";
    row.failures = 0;
    row.next_try_ms = 0;
    row.message = "issued by " + dir + "; renewal from " +
                  iso(std::max(now, renew_at(row, cfg.acme.renew_before_days)));
    log::info("acme",
              row.domain + ": certificate " + row.serial + " valid until " + iso(row.not_after_ms));
  } else {
    ++row.failures;
    row.next_try_ms = now + backoff_ms(row.failures);
    const bool still_valid = renewing && row.not_after_ms > now;
    row.status = still_valid ? "active" : "failed";
    const char* what = still_valid ? "renewal failed: "
                       : revoked   ? "replacing a revoked certificate failed: "
                                   : "";
    row.message = std::string(what) + info.error() + " (attempt " + std::to_string(row.failures) +
                  "; next try " + iso(row.next_try_ms) + ")";
    log::warning("acme", row.domain + ": " + row.message);
  }
  if (auto r = certs->put_certificate(row); !r) log::error("acme", r.error());
}

Manager::Manager(asio::io_context& ioc, const conf::Snapshot& snapshot)
    : impl_(std::make_shared<Impl>(ioc, snapshot)) {}

Manager::~Manager() {
  stop();
  impl_->worker.join();
  // A clean stop hands the lease over at once (a crash lets it lapse).
  if (impl_->certs) (void)impl_->certs->release_lease(impl_->holder);
}

Result<bool> Manager::start() {
  const std::string path = impl_->snapshot.current()->store;
  // `serve` only: PostgreSQL unreachable now pauses issuance until it answers.
  auto d = store::DomainStore::open(path, true, store::Connect::kWhenReachable);
  if (!d) return Error{"store: " + d.error()};
  auto c = store::CertStore::open(path, true, store::Connect::kWhenReachable);
  if (!c) return Error{"store: " + c.error()};
  impl_->domains = std::move(d).value();
  impl_->certs = std::move(c).value();
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  impl_->holder = std::string(host) + ":" + std::to_string(getpid()) + ":" + random_hex(6);
  if (store::is_database_uri(path)) {
    impl_->lock = std::make_unique<store::NodeLock>(path, store::Work::kAcme);
  }
  impl_->schedule();
  return true;
}

void Manager::stop() {
  impl_->stopping = true;
  impl_->timer.cancel();
}

}  // namespace trackrelay::acme
