// app/relay_injections.cc — see relay_injections.h.
#include "app/relay_injections.h"

#include <chrono>

#include "store/event_store.h"

namespace trackrelay::app {
namespace {

// A stalled disk must not hold the client's 250 until it gives up and sends
// the message again (a duplicate): after this the injection is logged as not
// recorded (it may still commit) and the reply goes out.
constexpr std::chrono::milliseconds kMaxWait{5000};

store::Event event_of(relay::Injection&& i) {
  store::Event e;
  e.type = "injection";
  e.timestamp_ms = i.timestamp_ms;
  e.transmission_id = std::move(i.transmission_id);
  e.message_id = std::move(i.message_id);
  e.campaign_id = std::move(i.campaign_id);
  e.subaccount_id = i.subaccount_id;
  e.rcpt_to = std::move(i.rcpt_to);
  e.raw_rcpt_to = std::move(i.raw_rcpt_to);
  e.rcpt_meta = std::move(i.rcpt_meta);
  e.rcpt_tags = std::move(i.rcpt_tags);
  e.friendly_from = std::move(i.friendly_from);
  e.msg_from = std::move(i.msg_from);
  e.sending_domain = std::move(i.sending_domain);
  e.tracking_domain = std::move(i.tracking_domain);
  e.msg_size = i.msg_size;
  return e;
}

class StoreInjections final : public relay::Injections {
 public:
  explicit StoreInjections(std::unique_ptr<store::EventStore> s) : store_(std::move(s)) {}

  Result<bool> record(std::vector<relay::Injection> injections) override {
    std::vector<store::Event> events;
    events.reserve(injections.size());
    for (relay::Injection& i : injections) events.push_back(event_of(std::move(i)));
    // One queue entry per message: the store's writer commits it with
    // whatever else is queued (group commit), so concurrent sessions share fsyncs.
    return store_->append_all_and_wait(std::move(events), kMaxWait);
  }

 private:
  std::unique_ptr<store::EventStore> store_;  // thread-safe
};

}  // namespace

Result<std::shared_ptr<relay::Injections>> open_relay_injections(const std::string& path,
                                                                 const std::string& spool_dir) {
  store::Options options;
  options.path = path;
  options.spool_dir = spool_dir;
  options.create = false;
  // With a spool, a database unreachable at start is an outage like any
  // other (injections spooled); without one it is the error.
  if (!spool_dir.empty()) options.connect = store::Connect::kWhenReachable;
  auto s = store::EventStore::open(std::move(options));
  if (!s) return s.failure();
  return std::shared_ptr<relay::Injections>(std::make_shared<StoreInjections>(std::move(*s)));
}

}  // namespace trackrelay::app
