// track/tls_ocsp.h — OCSP stapling for the HTTPS listeners.
//
// Owns: one staple slot per served certificate whose leaf names an OCSP
// responder (the slot is shared by every certificate set serving that
// chain), fetching each slot's response on the stapler's own worker thread
// (never an I/O thread) through acme/ocsp.h — at once for a new
// certificate, again halfway to the response's nextUpdate (at most hourly),
// after a failure from 10 s doubling to an hour — and the OpenSSL status
// callback that staples it. Only a verified `good` response about this very
// certificate whose nextUpdate has not passed is stapled: a stale, failed,
// `unknown` or `revoked` answer means no staple (clients then ask the CA
// themselves). A slot nobody serves any more is dropped. May call: acme/ocsp.h,
// base/, Boost.Asio, OpenSSL.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace trackrelay::track {

// The response a handshake staples, and until when it may.
struct Staple {
  std::string der;
  std::int64_t next_update_ms = 0;  // 0: the responder gave none (then at most an hour)
};

class StapleSlot {
 public:
  StapleSlot(std::string chain_pem, std::string name)
      : chain_pem_(std::move(chain_pem)), name_(std::move(name)) {}
  std::shared_ptr<const Staple> current() const;
  void set(std::shared_ptr<const Staple> s);
  const std::string& chain_pem() const { return chain_pem_; }
  const std::string& name() const { return name_; }

  // The fetch schedule; the stapler's worker only.
  std::int64_t refresh_at = 0;
  int failures = 0;
  std::string last_problem;  // logged once per change

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Staple> staple_;
  const std::string chain_pem_;
  const std::string name_;
};

// Installs the status callback on `ctx`: staples `slot`'s response (which
// must outlive the context's use, as the certificate set's entry keeps it).
void staple_from(SSL_CTX* ctx, StapleSlot* slot);

class Stapler {
 public:
  Stapler();
  ~Stapler();  // stops the worker
  Stapler(const Stapler&) = delete;
  Stapler& operator=(const Stapler&) = delete;

  // The slot serving `chain_pem` (one per chain), or null when its leaf
  // names no OCSP responder. `name` is for the log. Any thread.
  std::shared_ptr<StapleSlot> slot(const std::string& chain_pem, const std::string& name);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace trackrelay::track
