// store/last_known.h — the last-known snapshot of what a node needs to serve
// while PostgreSQL cannot be reached: the store's domains (DomainsSnapshot,
// from which api/ builds the effective configuration) and the live
// certificates the tracker serves by SNI (with their keys).
//
// Written on every successful load that changed it, read at start when the
// database cannot be reached (docs/scaling.md, "Starting while the database
// is down"): a node restarted during database maintenance keeps the tracking
// domains created through the API, instead of only the file's. The files live
// in the node's `store_spool` directory (its local durable state), each one
// JSON document (Boost.JSON): `last-known-domains.json`,
// `last-known-certificates.json`, mode 0600 (the certificates' keys), written
// atomically (a temporary file, fsync, rename, fsync of the directory), so a
// crash leaves the old file or the new one. A missing file is "nothing known";
// a corrupt or unreadable one is logged and ignored, never fatal. Once the
// database answers, the live store replaces what was read from here.
//
// Thread safety: every method may be called from any thread (a mutex).
// May call: base/, store/domain_store.h, store/cert_store.h, Boost.JSON.
// Called by api/ (domains) and track/ (certificates).
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "store/cert_store.h"
#include "store/domain_store.h"

namespace trackrelay::store {

class LastKnown {
 public:
  // `dir`: the store_spool directory (created when missing); "" keeps
  // nothing (saves do nothing, loads find nothing).
  explicit LastKnown(std::string dir);
  LastKnown(const LastKnown&) = delete;
  LastKnown& operator=(const LastKnown&) = delete;

  // Saves the snapshot (skipped when it equals what this object saved or
  // read last). The error names the file.
  Result<bool> save_domains(const DomainsSnapshot& domains);
  // What was saved, or nullopt: no file, or one that cannot be used (logged).
  std::optional<DomainsSnapshot> load_domains();

  // The same for the certificates the tracker serves (rows with their keys).
  Result<bool> save_certificates(const std::vector<CertificateRow>& rows);
  std::optional<std::vector<CertificateRow>> load_certificates();

  // The files' paths ("" without a directory).
  std::string domains_file() const;
  std::string certificates_file() const;

 private:
  Result<bool> save(const std::string& path, std::string text, std::string& last);
  std::optional<std::string> read(const std::string& path);
  std::string dir_;
  std::mutex mu_;
  std::string last_domains_;  // the JSON saved or read last (skips equal saves)
  std::string last_certificates_;
};

// The certificate rows of `certs`, kept in `cache`; when the store fails
// (the database unreachable), the cached rows instead, with a warning —
// or the store's error when nothing is cached.
Result<std::vector<CertificateRow>> certificates_or_last_known(CertStore& certs, LastKnown& cache);

}  // namespace trackrelay::store
