// track/tls_ocsp.cc — see tls_ocsp.h. May call: acme/ocsp.h, base/,
// Boost.Asio, OpenSSL.
#include "track/tls_ocsp.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstring>
#include <vector>

#include "acme/ocsp.h"
#include "base/log.h"

namespace trackrelay::track {
namespace {

namespace asio = boost::asio;

constexpr std::chrono::seconds kTick{1};
// Refreshed at least hourly; a response without nextUpdate is stapled for an hour.
constexpr std::int64_t kMaxAgeMs = 3600000;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int on_status(SSL* ssl, void* arg) {
  const auto* slot = static_cast<const StapleSlot*>(arg);
  const std::shared_ptr<const Staple> s = slot->current();
  if (!s || s->der.empty() || now_ms() >= s->next_update_ms) return SSL_TLSEXT_ERR_NOACK;
  auto* copy = static_cast<unsigned char*>(OPENSSL_malloc(s->der.size()));
  if (copy == nullptr) return SSL_TLSEXT_ERR_NOACK;
  std::memcpy(copy, s->der.data(), s->der.size());
  if (SSL_set_tlsext_status_ocsp_resp(ssl, copy, static_cast<long>(s->der.size())) != 1) {
    OPENSSL_free(copy);
    return SSL_TLSEXT_ERR_NOACK;
  }
  return SSL_TLSEXT_ERR_OK;
}

std::int64_t retry_after_ms(int failures) {
  const int doublings = std::clamp(failures - 1, 0, 20);
  return std::min<std::int64_t>(std::int64_t{10000} << doublings, kMaxAgeMs);
}

void note(StapleSlot& slot, const std::string& problem) {
  if (problem == slot.last_problem) return;
  slot.last_problem = problem;
  if (problem.empty()) {
    log::info("track", slot.name() + ": OCSP response stapled");
  } else {
    log::warning("track", slot.name() + ": no OCSP staple: " + problem);
  }
}

// One fetch for `slot` (worker thread).
void refresh(StapleSlot& slot) {
  auto a = acme::query_ocsp(slot.chain_pem());
  const std::int64_t now = now_ms();
  if (!a) {
    ++slot.failures;
    slot.refresh_at = now + retry_after_ms(slot.failures);
    note(slot, a.error());  // a staple still current stays until its nextUpdate
    return;
  }
  slot.failures = 0;
  slot.refresh_at = acme::ocsp_refresh_at(*a, now, kMaxAgeMs);
  if (a->status != acme::OcspAnswer::Status::kGood) {
    slot.set(nullptr);
    note(slot, "the responder says " + std::string(acme::status_name(a->status)) +
                   (a->reason.empty() ? "" : " (" + a->reason + ")"));
    return;
  }
  auto s = std::make_shared<Staple>();
  s->der = std::move(a->der);
  s->next_update_ms = a->next_update_ms != 0 ? a->next_update_ms : now + kMaxAgeMs;
  slot.set(std::move(s));
  note(slot, "");
}

}  // namespace

std::shared_ptr<const Staple> StapleSlot::current() const {
  std::lock_guard lock(mu_);
  return staple_;
}

void StapleSlot::set(std::shared_ptr<const Staple> s) {
  std::lock_guard lock(mu_);
  staple_ = std::move(s);
}

void staple_from(SSL_CTX* ctx, StapleSlot* slot) {
  SSL_CTX_set_tlsext_status_cb(ctx, on_status);
  SSL_CTX_set_tlsext_status_arg(ctx, slot);
}

struct Stapler::Impl : std::enable_shared_from_this<Stapler::Impl> {
  asio::thread_pool worker{1};
  asio::steady_timer timer{worker};
  std::atomic<bool> stopping{false};
  std::mutex mu;
  std::map<std::string, std::weak_ptr<StapleSlot>> slots;  // by chain PEM

  void schedule() {
    timer.expires_after(kTick);
    timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->stopping) return;
      self->tick();
      self->schedule();
    });
  }

  // Fetches every due slot; forgets the ones no certificate set holds.
  void tick() {
    std::vector<std::shared_ptr<StapleSlot>> live;
    {
      std::lock_guard lock(mu);
      for (auto it = slots.begin(); it != slots.end();) {
        if (auto s = it->second.lock()) {
          live.push_back(std::move(s));
          ++it;
        } else {
          it = slots.erase(it);
        }
      }
    }
    for (const auto& s : live) {
      if (stopping) return;
      if (now_ms() >= s->refresh_at) refresh(*s);
    }
  }
};

Stapler::Stapler() : impl_(std::make_shared<Impl>()) {
  impl_->schedule();
}

Stapler::~Stapler() {
  impl_->stopping = true;
  asio::post(impl_->worker, [impl = impl_] { impl->timer.cancel(); });
  impl_->worker.join();
}

std::shared_ptr<StapleSlot> Stapler::slot(const std::string& chain_pem, const std::string& name) {
  std::lock_guard lock(impl_->mu);
  if (auto s = impl_->slots[chain_pem].lock()) return s;
  if (acme::ocsp_responder(chain_pem).empty()) {
    impl_->slots.erase(chain_pem);
    return nullptr;
  }
  auto s = std::make_shared<StapleSlot>(chain_pem, name);
  impl_->slots[chain_pem] = s;
  return s;
}

}  // namespace trackrelay::track
