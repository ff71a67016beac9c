// rewrite/domain_choice.h — which tracking domain a message's links go through.
//
// Owns: the sending domain of a message (the domain of the From: header
// address, else the envelope sender) and the seed's rule for choosing the
// tracking domain:
//   1. the tracking domain associated with the sending domain;
//   2. the designated default tracking domain;
//   3. when exactly one tracking domain exists and none is designated, that one
//      ("once a single custom tracking domain is configured, it becomes the
//      default");
//   4. the operator's system default domain.
// Every domain in a Config is verified (the operator declared it), so no
// verification state is consulted here yet.
//
// May call: conf/, base/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "conf/config.h"

namespace trackrelay::rewrite {

// The address in a From: header value (unfolded): the first mailbox's
// addr-spec, handling display names, quoted strings, comments and groups.
// Empty when there is none.
std::string from_address(std::string_view from_value);

// The lower-case A-label domain of an address ("" when it has none or it is
// not a valid domain name).
std::string address_domain(std::string_view address);

struct TrackingChoice {
  enum class Reason { kSendingDomain, kDefault, kOnlyDomain, kSystem };
  std::string domain;  // lower-case A-label
  bool secure = false;
  std::optional<std::uint16_t> port;
  Reason reason = Reason::kSystem;
};
std::string_view describe(TrackingChoice::Reason);

TrackingChoice choose_tracking_domain(const conf::Config& config, std::string_view sending_domain);

// "scheme://domain[:port]" for a choice; the port is omitted when it is the
// scheme's default.
std::string tracking_origin(const TrackingChoice& choice);

}  // namespace trackrelay::rewrite
