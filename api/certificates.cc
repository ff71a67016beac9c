// api/certificates.cc — where a tracking domain's certificate stands (the
// `tls` object of a secure domain) and operators' own certificates:
// PUT/DELETE /tracking-domains/{domain}/certificate. The rules (docs/tls.md):
// a file certificate (track.certificates) wins; an uploaded one must match
// its key, name the domain and be valid now, and is served at once by every
// process sharing the store; DELETE hands the name back to ACME.
// May call: store/cert_store.h, acme/pem.h, conf/, base/, Boost.JSON.
#include <chrono>

#include "acme/pem.h"
#include "api/internal.h"
#include "store/cert_store.h"

namespace trackrelay::api::internal {
namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr std::string_view kHttpUntil = "; links use http:// until a certificate is live";

json::object tls(std::string_view status, std::string message, std::int64_t expires_ms = 0) {
  json::object t;
  t["status"] = status;
  t["expires"] = expires_ms != 0 ? json::value(iso(expires_ms)) : json::value(nullptr);
  t["message"] = std::move(message);
  return t;
}

bool file_covers(const conf::Config& file, const std::string& domain) {
  for (const conf::TrackCertificate& c : file.track.certificates) {
    for (const std::string& d : c.domains) {
      if (acme::name_matches(d, domain)) return true;
    }
  }
  return false;
}

std::optional<store::CertificateRow> stored(const Ctx& c, const std::string& domain) {
  if (c.o.certificates == nullptr) return std::nullopt;
  auto r = c.o.certificates->certificate(domain);
  return r ? *r : std::nullopt;
}

// The visible store domain named in the path, or the error to answer.
std::optional<store::TrackingDomainRow> certificate_domain(Ctx& c, ApiResponse& err) {
  auto name = alabel(c.params[0], err);
  if (!name) return std::nullopt;
  if (c.visible(0) && c.file->find_tracking_domain(*name) != nullptr) {
    err = managed_by_file(*c.file, *name);
    return std::nullopt;
  }
  if (c.o.certificates == nullptr) {
    err = error_response(503, "certificates unavailable", "the store is not open", "1500");
    return std::nullopt;
  }
  return visible_or_404(c, c.o.domains->tracking_domain(*name), "tracking domain " + *name, err);
}

json::object result(Ctx& c, const store::TrackingDomainRow& row) {
  json::object o;
  o["domain"] = row.domain;
  o["tls"] = tls_status(c, row.domain, true, row.verified);
  return o;
}

}  // namespace

json::value tls_status(const Ctx& c, const std::string& domain, bool secure, bool verified) {
  if (!secure) return nullptr;
  const conf::Config& f = *c.file;
  const std::int64_t now = now_ms();
  if (file_covers(f, domain)) {
    return tls("manual", "served with a certificate of track.certificates in " + f.source);
  }
  const std::optional<store::CertificateRow> row = stored(c, domain);
  if (row && row->source == "manual") {
    if (row->not_after_ms <= now) {
      return tls("failed", "the uploaded certificate has expired" + std::string(kHttpUntil),
                 row->not_after_ms);
    }
    if (row->status == "failed") {  // revoked (acme/manager.h asks the CA's OCSP responder)
      return tls("failed", row->message + std::string(kHttpUntil), row->not_after_ms);
    }
    return tls("manual", row->message, row->not_after_ms);
  }
  if (f.track.tls_listen.empty()) {
    return tls("manual", "TLS is terminated in front of trackrelay (no track.tls_listen)");
  }
  if (row && row->status == "active" && row->not_after_ms > now) {
    return tls("active", row->message, row->not_after_ms);
  }
  if (row && row->status == "failed") return tls("failed", row->message + std::string(kHttpUntil));
  if (!verified) {
    return tls("pending",
               "waiting for the domain to be verified (CNAME)" + std::string(kHttpUntil));
  }
  if (f.acme.directory.empty() && f.find_tracking_domain(domain) != nullptr) {
    return tls("pending",
               "no certificate: ACME is off (acme.directory) and no track.certificates entry "
               "covers it" +
                   std::string(kHttpUntil));
  }
  if (f.acme.directory.empty()) {
    return tls("pending",
               "no certificate: ACME is off (acme.directory) and none was uploaded (PUT "
               "/api/v1/tracking-domains/" +
                   domain + "/certificate)" + std::string(kHttpUntil));
  }
  if (row && !row->message.empty()) return tls("pending", row->message + std::string(kHttpUntil));
  return tls("pending",
             "queued for a certificate from " + f.acme.directory + std::string(kHttpUntil));
}

ApiResponse tracking_certificate_put(Ctx& c) {
  ApiResponse err;
  auto row = certificate_domain(c, err);
  if (!row) return err;
  auto body = body_object(c, err);
  if (!body) return err;
  std::optional<std::string> chain, key;
  if (!field_string(*body, "certificate", chain, err) || !field_string(*body, "key", key, err)) {
    return err;
  }
  if (!chain || !key) {
    return error_response(422, "invalid certificate",
                          "'certificate' (PEM chain, leaf first) and 'key' (PEM private key) "
                          "are required",
                          "1300");
  }
  const std::int64_t now = now_ms();
  auto info = acme::check_certificate(row->domain, *chain, *key, now);
  if (!info) return error_response(400, "invalid certificate", info.error(), "1300");
  store::CertificateRow cert;
  cert.domain = row->domain;
  cert.source = "manual";
  cert.status = "active";
  cert.chain_pem = *chain;
  cert.key_pem = *key;
  cert.not_before_ms = info->not_before_ms;
  cert.not_after_ms = info->not_after_ms;
  cert.serial = info->serial;
  cert.message = "uploaded " + iso(now) + " (serial " + info->serial + ")";
  if (auto r = c.o.certificates->put_certificate(cert); !r) return store_failed(r.failure());
  if (c.o.changed) c.o.changed();
  return ok(result(c, *row));
}

ApiResponse tracking_certificate_delete(Ctx& c) {
  ApiResponse err;
  auto row = certificate_domain(c, err);
  if (!row) return err;
  auto cert = c.o.certificates->certificate(row->domain);
  if (!cert) return store_failed(cert.failure());
  if (!*cert || (*cert)->source != "manual") {
    return not_found("tracking domain " + row->domain + " has no uploaded certificate");
  }
  if (auto r = c.o.certificates->delete_certificate(row->domain); !r) {
    return store_failed(r.failure());
  }
  if (c.o.changed) c.o.changed();
  return ok(result(c, *row));
}

}  // namespace trackrelay::api::internal
