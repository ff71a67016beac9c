// metrics/instruments.cc — trackrelay's metrics (see instruments.h and
// docs/metrics.md). May call: metrics/registry.h.
#include "metrics/instruments.h"

namespace trackrelay::metrics {
namespace {

std::vector<std::string> message_outcomes() {
  return {"sent", "refused", "rejected", "aborted", "other"};
}

std::vector<std::string> untracked_reasons() {
  return {"opt_out",      "message_unchanged",    "part_left_alone", "line_length",
          "url_too_long", "template_placeholder", "charset",         "other"};
}

}  // namespace

Instruments::Instruments(Registry& r)
    : registry_(r),
      sessions_(r.counter("trackrelay_relay_sessions_total", "SMTP sessions accepted by the relay")
                    .get()),
      sessions_active_(r.gauge("trackrelay_relay_sessions_active", "SMTP sessions open now").get()),
      messages_(r.counter("trackrelay_relay_messages_total",
                          "messages (transactions) by outcome: sent (the upstream accepted), "
                          "refused (the upstream refused), rejected (the relay refused), aborted",
                          {{"outcome", message_outcomes()}})),
      upstream_replies_(r.counter("trackrelay_relay_upstream_replies_total",
                                  "the upstream's replies to messages (end of DATA) by class",
                                  {{"class", {"2xx", "4xx", "5xx", "other"}}})),
      rewrite_(r.histogram("trackrelay_rewrite_seconds",
                           "time the rewrite engine spent on one message", seconds_buckets())
                   .get()),
      links_tracked_(
          r.counter("trackrelay_links_tracked_total", "links rewritten through a tracking domain")
              .get()),
      links_untracked_(r.counter("trackrelay_links_untracked_total",
                                 "links left untracked (opt_out: opted out, not a candidate) "
                                 "by reason category",
                                 {{"reason", untracked_reasons()}})),
      track_events_(r.counter(
          "trackrelay_track_events_total",
          "clicks and opens served (recorded events) by type, classification and tracking domain",
          {{"type", {"click", "open", "initial_open"}},
           {"classification", {"human", "apple_mpp", "image_proxy", "scanner"}},
           {"tracking_domain", {}, kMaxDomainLabels}})),
      track_responses_(r.counter("trackrelay_track_responses_total",
                                 "responses of the tracking endpoint by HTTP status",
                                 {{"code", {"200", "302", "400", "404", "503", "other"}}})),
      store_commit_(r.histogram("trackrelay_store_commit_seconds",
                                "time of one event-store group commit (fsync included)",
                                seconds_buckets())
                        .get()),
      cert_expiry_(r.gauge("trackrelay_tls_certificate_expiry_timestamp_seconds",
                           "notAfter of each configured tracking certificate (unix time), "
                           "labelled with its first domain",
                           {{"certificate", {}, kMaxDomainLabels}})) {}

void Instruments::relay_session_opened() {
  sessions_.inc();
  sessions_active_.add(1);
}

void Instruments::relay_session_closed() {
  sessions_active_.add(-1);
}

void Instruments::relay_message(std::string_view status) {
  messages_.with({status}).inc();
}

void Instruments::upstream_reply(int code) {
  const char* cls = code >= 200 && code < 300   ? "2xx"
                    : code >= 400 && code < 500 ? "4xx"
                    : code >= 500 && code < 600 ? "5xx"
                                                : "other";
  upstream_replies_.with({cls}).inc();
}

void Instruments::links_tracked(int n) {
  if (n > 0) links_tracked_.inc(static_cast<std::uint64_t>(n));
}

void Instruments::link_untracked(std::string_view reason) {
  links_untracked_.with({untracked_reason_label(reason)}).inc();
}

void Instruments::track_event(std::string_view type, std::string_view classification,
                              std::string_view tracking_domain) {
  track_events_.with({type, classification, tracking_domain}).inc();
}

void Instruments::track_response(int status) {
  const std::string code = std::to_string(status);
  track_responses_.with({code}).inc();
}

void Instruments::certificate_expiry(std::string_view name, double not_after_unix) {
  cert_expiry_.with({name}).set(not_after_unix);
}

std::string_view untracked_reason_label(std::string_view reason) {
  if (reason.starts_with("opt-out")) return "opt_out";
  if (reason.starts_with("message forwarded unchanged")) return "message_unchanged";
  if (reason.find("placeholder") != std::string_view::npos) return "template_placeholder";
  if (reason.find("998 octets") != std::string_view::npos) return "line_length";
  if (reason.starts_with("part left alone")) return "part_left_alone";
  if (reason.starts_with("tracked URL would be")) return "url_too_long";
  if (reason.find("charset") != std::string_view::npos) return "charset";
  return "other";
}

}  // namespace trackrelay::metrics
