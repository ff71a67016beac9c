// api/effective.cc — see effective.h. May call: conf/, store/domain_store.h.
#include "api/effective.h"

#include <algorithm>
#include <set>

namespace trackrelay::api {

namespace {

// "" when the account's domains apply to mail; else its status ("suspended",
// "terminated", "deleted"). The primary account (0) always applies.
std::string inactive(const store::DomainsSnapshot& domains, std::int64_t subaccount_id) {
  if (subaccount_id == 0) return {};
  for (const store::SubaccountRow& s : domains.subaccounts) {
    if (s.id == subaccount_id) return s.status == "active" ? std::string() : s.status;
  }
  return "deleted";
}

std::string account_note(std::string_view kind, const std::string& domain, std::int64_t sub,
                         const std::string& status) {
  return std::string(kind) + " " + domain + ": subaccount " + std::to_string(sub) + " is " +
         status + "; the domain does not apply to mail";
}

// Whether https:// links to a store domain would find a certificate: the
// tracker has no TLS listener (TLS ends in front of it), a file certificate
// covers the name (one-label wildcards), or the store holds a live one.
bool tls_live(const conf::Config& file, const store::DomainsSnapshot& domains,
              const std::string& name) {
  if (file.track.tls_listen.empty() || domains.tls_live.contains(name)) return true;
  for (const conf::TrackCertificate& c : file.track.certificates) {
    for (const std::string& p : c.domains) {
      const auto dot = name.find('.');
      if (p == name || (p.starts_with("*.") && dot != std::string::npos && dot > 0 &&
                        std::string_view(name).substr(dot) == std::string_view(p).substr(1))) {
        return true;
      }
    }
  }
  return false;
}

// Configuration-file domains (and the system domain) follow the same rule
// as API domains: `secure: true` gives https:// links only once a live
// certificate covers the name.
void https_only_when_live(const conf::Config& file, const store::DomainsSnapshot& domains,
                          conf::Config& cfg, std::vector<std::string>& notes) {
  const std::string why =
      ": no live certificate yet (track.certificates, an uploaded or an "
      "ACME one); its links use http:// until there is one";
  for (conf::TrackingDomain& t : cfg.tracking_domains) {
    if (!t.secure || tls_live(file, domains, t.domain)) continue;
    t.secure = false;
    t.https_pending = true;
    notes.push_back("tracking domain " + t.domain + " (configuration file)" + why);
  }
  if (cfg.system_secure && !tls_live(file, domains, cfg.system_domain)) {
    cfg.system_secure = false;
    cfg.system_https_pending = true;
    notes.push_back("tracking.system_domain " + cfg.system_domain + why);
  }
}

}  // namespace

Effective build_effective(const conf::Config& file, const store::DomainsSnapshot& domains) {
  auto cfg = std::make_shared<conf::Config>(file);
  Effective out;
  std::set<std::string> file_tracking, file_sending, verified;
  for (const conf::TrackingDomain& t : file.tracking_domains) file_tracking.insert(t.domain);
  for (const conf::SendingDomain& s : file.sending_domains) file_sending.insert(s.domain);
  const bool file_default = std::any_of(file.tracking_domains.begin(), file.tracking_domains.end(),
                                        [](const conf::TrackingDomain& t) { return t.is_default; });
  https_only_when_live(file, domains, *cfg, out.notes);
  for (const store::TrackingDomainRow& row : domains.tracking) {
    if (file_tracking.contains(row.domain) || row.domain == file.system_domain) {
      out.notes.push_back("tracking domain " + row.domain +
                          " is managed by the configuration file; its store entry is ignored");
      continue;
    }
    if (const std::string st = inactive(domains, row.subaccount_id); !st.empty()) {
      out.notes.push_back(account_note("tracking domain", row.domain, row.subaccount_id, st));
      continue;
    }
    if (!row.http_token.empty()) cfg->http_challenges.push_back({row.domain, row.http_token});
    if (!row.verified) continue;
    conf::TrackingDomain t;
    t.domain = row.domain;
    t.secure = row.secure && tls_live(file, domains, row.domain);
    if (row.secure && !t.secure) {
      out.notes.push_back("tracking domain " + row.domain +
                          ": no live certificate yet; its links use http:// (see its tls status)");
    }
    t.port = row.port;
    t.is_default = row.is_default && (row.subaccount_id != 0 || !file_default);
    t.from_store = true;
    t.subaccount_id = row.subaccount_id;
    cfg->tracking_domains.push_back(std::move(t));
    verified.insert(row.domain);
  }
  for (const store::SendingDomainRow& row : domains.sending) {
    if (file_sending.contains(row.domain)) {
      out.notes.push_back("sending domain " + row.domain +
                          " is managed by the configuration file; its store entry is ignored");
      continue;
    }
    if (const std::string st = inactive(domains, row.subaccount_id); !st.empty()) {
      out.notes.push_back(account_note("sending domain", row.domain, row.subaccount_id, st));
      continue;
    }
    if (!row.verified) {
      // Not proven in DNS: its mail is treated as if it were not declared,
      // so nobody can claim another's domain and collect its events.
      out.notes.push_back("sending domain " + row.domain + " is not verified (TXT record " +
                          row.txt_status +
                          "); its mail is treated as undeclared until POST "
                          "/api/v1/sending-domains/" +
                          row.domain + "/verify finds the record");
      continue;
    }
    // A verified sending domain without a link is still the account's
    // (tracking.senders: declared): its mail uses the account's default.
    if (!row.tracking_domain.empty() && !verified.contains(row.tracking_domain) &&
        !file_tracking.contains(row.tracking_domain)) {
      std::string status = "unknown";
      for (const store::TrackingDomainRow& t : domains.tracking) {
        if (t.domain == row.tracking_domain) status = t.cname_status;
      }
      out.notes.push_back("sending domain " + row.domain + ": tracking domain " +
                          row.tracking_domain + " is not verified (" + status +
                          "); its mail uses the default tracking domain, else the system domain");
    }
    conf::SendingDomain s;
    s.domain = row.domain;
    s.tracking_domain = row.tracking_domain;
    s.from_store = true;
    s.subaccount_id = row.subaccount_id;
    cfg->sending_domains.push_back(std::move(s));
  }
  out.config = std::move(cfg);
  return out;
}

}  // namespace trackrelay::api
