// track/store_view.cc — see store_view.h. May call: store/, base/.
#include "track/store_view.h"

#include "base/log.h"
#include "store/location.h"

namespace trackrelay::track {

Challenges::Challenges(const std::vector<store::ChallengeRow>& rows) {
  for (const store::ChallengeRow& r : rows) by_token_[r.token] = r.key_authorization;
}

std::optional<std::string> Challenges::find(std::string_view token) const {
  auto it = by_token_.find(token);
  if (it == by_token_.end()) return std::nullopt;
  return it->second;
}

StoreView::StoreView(std::unique_ptr<store::CertStore> store, StoreViewOptions options)
    : store_(std::move(store)), options_(std::move(options)), last_known_(options_.last_known_dir) {
  if (!options_.on_certificates) want_certificates_ = false;
  if (store::is_database_uri(options_.store)) {
    listener_ = std::make_unique<store::ChangeListener>(options_.store, store::kChallengesChannel,
                                                        [this] { refresh_challenges(); });
  }
  thread_ = std::jthread([this](std::stop_token st) { run(st); });
}

StoreView::~StoreView() {
  listener_.reset();  // its callback wakes this view: stopped first
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
}

std::optional<std::string> StoreView::challenge(std::string_view token) const {
  return challenges()->find(token);
}

std::shared_ptr<const Challenges> StoreView::challenges() const {
  std::lock_guard lock(mu_);
  return challenges_;
}

void StoreView::refresh_challenges() {
  {
    std::lock_guard lock(mu_);
    want_challenges_ = true;
  }
  cv_.notify_all();
}

void StoreView::refresh_certificates() {
  if (!options_.on_certificates) return;
  {
    std::lock_guard lock(mu_);
    want_certificates_ = true;
  }
  cv_.notify_all();
}

bool StoreView::wait_first_certificates(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout,
                      [this] { return certificate_reads_ > 0 || !options_.on_certificates; });
}

std::uint64_t StoreView::challenge_reads() const {
  std::lock_guard lock(mu_);
  return challenge_reads_;
}

void StoreView::run(std::stop_token st) {
  const std::chrono::milliseconds every = listener_ ? options_.pg_poll : options_.poll;
  auto next_poll = std::chrono::steady_clock::now();
  while (!st.stop_requested()) {
    bool challenges = false;
    bool certificates = false;
    {
      std::unique_lock lock(mu_);
      cv_.wait_until(lock, st, next_poll,
                     [this] { return want_challenges_ || want_certificates_; });
      if (st.stop_requested()) return;
      challenges = want_challenges_ || std::chrono::steady_clock::now() >= next_poll;
      certificates = want_certificates_;
      want_challenges_ = false;
      want_certificates_ = false;
    }
    if (challenges) {
      read_challenges();
      next_poll = std::chrono::steady_clock::now() + every;
    }
    if (certificates) read_certificates();
  }
}

void StoreView::read_challenges() {
  auto rows = store_->challenges();
  if (!rows) {
    if (!challenges_failing_) {
      log::error("track", "acme challenges: " + rows.error() +
                              "; answering from the ones read before until the store answers");
    }
    challenges_failing_ = true;
  } else if (challenges_failing_) {
    log::info("track", "acme challenges: the store answers again");
    challenges_failing_ = false;
  }
  auto next = rows ? std::make_shared<const Challenges>(*rows) : nullptr;
  {
    std::lock_guard lock(mu_);
    if (next) challenges_ = std::move(next);
    ++challenge_reads_;
  }
  cv_.notify_all();
}

void StoreView::read_certificates() {
  auto rows = store::certificates_or_last_known(*store_, last_known_);
  if (!rows) {
    if (!certificates_failing_) {
      log::error("track", "store certificates: " + rows.error() + "; the ones in use stay");
    }
    certificates_failing_ = true;
  } else {
    certificates_failing_ = false;
    options_.on_certificates(std::move(rows).value());
  }
  {
    std::lock_guard lock(mu_);
    ++certificate_reads_;
  }
  cv_.notify_all();
}

}  // namespace trackrelay::track
