// relay/injections.cc — see injections.h.
#include "relay/injections.h"

#include <openssl/rand.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <optional>

#include "base/log.h"
#include "base/strings.h"

namespace trackrelay::relay {
namespace {

constexpr std::size_t kTransmissionDigits = 18;

std::string tags_json(const std::vector<std::string>& tags) {
  if (tags.empty()) return {};
  boost::json::array a;
  for (const std::string& t : tags) a.emplace_back(to_valid_utf8(t));
  return boost::json::serialize(a);
}

}  // namespace

std::int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string new_transmission_id() {
  std::string id;
  while (id.size() < kTransmissionDigits) {
    unsigned char buf[32];
    if (RAND_bytes(buf, sizeof buf) != 1) continue;
    for (unsigned char b : buf) {
      if (b >= 250) continue;  // 250 = 25 * 10: keep the digits uniform
      const char digit = static_cast<char>('0' + b % 10);
      if (id.empty() && digit == '0') continue;
      if (id.size() < kTransmissionDigits) id.push_back(digit);
    }
  }
  return id;
}

std::vector<Injection> injections_of(const rewrite::Envelope& envelope,
                                     const rewrite::Outcome& outcome,
                                     const std::vector<std::string>& accepted,
                                     std::size_t forwarded_size, std::int64_t now_ms) {
  Injection base;
  base.timestamp_ms = now_ms;
  base.transmission_id = envelope.transmission_id;
  base.message_id = outcome.message_id;
  base.campaign_id = outcome.controls.campaign_id;
  base.subaccount_id = envelope.subaccount_id;
  base.rcpt_meta = outcome.controls.metadata_json;
  base.rcpt_tags = tags_json(outcome.controls.tags);
  base.friendly_from = outcome.friendly_from;
  base.msg_from = envelope.mail_from;
  base.sending_domain = outcome.sending_domain;
  base.tracking_domain = outcome.tracking.domain;
  base.msg_size = static_cast<std::int64_t>(forwarded_size);
  std::vector<Injection> out;
  out.reserve(accepted.size());
  for (const std::string& rcpt : accepted) {
    Injection i = base;
    i.rcpt_to = to_lower(rcpt);
    i.raw_rcpt_to = rcpt;
    out.push_back(std::move(i));
  }
  return out;
}

boost::asio::awaitable<void> record_injections(boost::asio::any_io_executor blocking,
                                               std::shared_ptr<Injections> sink,
                                               std::vector<Injection> injections) {
  if (!sink || injections.empty()) co_return;
  const std::string transmission = injections.front().transmission_id;
  const std::size_t n = injections.size();
  // (co_spawn needs a default-constructible result: the error, or nothing.)
  std::optional<std::string> failed = co_await boost::asio::co_spawn(
      blocking,
      [&]() -> boost::asio::awaitable<std::optional<std::string>> {
        auto r = sink->record(std::move(injections));
        co_return r ? std::nullopt : std::optional<std::string>(r.error());
      },
      boost::asio::use_awaitable);
  if (failed) {
    log::error("relay", "injection events of transmission " + transmission + " (" +
                            std::to_string(n) + " recipients) not recorded: " + *failed);
  }
}

}  // namespace trackrelay::relay
