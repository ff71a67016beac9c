// metrics/instruments.h — trackrelay's own metrics: every name, help text
// and label set in one place (docs/metrics.md documents the same list).
//
// Owns: registering the relay, rewrite, tracker, store and TLS metrics in a
// Registry and the one-line calls the measured code makes. Label values come
// from closed sets (an outcome, a reply class, an event type, a
// classification, a reason category) or from operator-configured names with
// a cap (tracking domains, certificates); an unknown value is counted as
// "other", never as a new series. May call: metrics/registry.h.
//
// The measured code (relay/, track/, store/) holds an `Instruments*` (null:
// not measured) and never sees the exposition format.
#pragma once

#include <string_view>

#include "metrics/registry.h"

namespace trackrelay::metrics {

// Distinct tracking domains (and certificates) given their own series; the
// rest are counted under "other".
inline constexpr std::size_t kMaxDomainLabels = 50;

class Instruments {
 public:
  explicit Instruments(Registry& registry);
  Instruments(const Instruments&) = delete;
  Instruments& operator=(const Instruments&) = delete;

  Registry& registry() { return registry_; }

  // relay/: a session was accepted / ended.
  void relay_session_opened();
  void relay_session_closed();
  // A transaction's outcome as the relay logs it: sent, refused (by the
  // upstream), rejected (by the relay), aborted.
  void relay_message(std::string_view status);
  // The upstream's reply to a message: counted by class (2xx, 4xx, 5xx).
  void upstream_reply(int code);
  // One message through the rewrite engine (metrics::timed() takes it).
  Histogram& rewrite_histogram() { return rewrite_; }
  // The links of a rewritten message: `untracked` is rewrite::Outcome's
  // untracked_links (anything with a `reason` string).
  template <class Links>
  void rewrite_outcome(int tracked, const Links& untracked) {
    links_tracked(tracked);
    for (const auto& link : untracked) link_untracked(link.reason);
  }
  void links_tracked(int n);
  // An untracked (or opted-out) link, by rewrite's reason text: counted by
  // its category (see untracked_reason_label).
  void link_untracked(std::string_view reason);

  // track/: a recorded click or open and the response to a request.
  void track_event(std::string_view type, std::string_view classification,
                   std::string_view tracking_domain);
  void track_response(int status);

  // store/: one group commit (for store::Options::commit_seconds).
  Histogram& store_commit_seconds() { return store_commit_; }

  // TLS: a configured certificate's notAfter, unix seconds; `name` is its
  // first configured domain.
  void certificate_expiry(std::string_view name, double not_after_unix);

 private:
  Registry& registry_;
  Counter& sessions_;
  Gauge& sessions_active_;
  Family<Counter>& messages_;
  Family<Counter>& upstream_replies_;
  Histogram& rewrite_;
  Counter& links_tracked_;
  Family<Counter>& links_untracked_;
  Family<Counter>& track_events_;
  Family<Counter>& track_responses_;
  Histogram& store_commit_;
  Family<Gauge>& cert_expiry_;
};

// rewrite/'s reason for leaving a link alone → a bounded label: opt_out,
// message_unchanged, part_left_alone, line_length, url_too_long,
// template_placeholder, charset, other.
std::string_view untracked_reason_label(std::string_view reason);

}  // namespace trackrelay::metrics
