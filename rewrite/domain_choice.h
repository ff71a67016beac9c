// rewrite/domain_choice.h — which tracking domain a message's links go through.
//
// Owns: the sending domain of a message (the domain of the From: header
// address, else the envelope sender) and the rule for choosing the tracking
// domain of a message sent by one account (0: the primary account, N: a
// subaccount). Only that account's domains apply; domains from the file
// belong to the primary account:
//   1. the account's sending domain's linked tracking domain (when it is the
//      account's too);
//   2. the account's designated default tracking domain;
//   3. when the account has exactly one tracking domain and none is
//      designated, that one ("once a single custom tracking domain is
//      configured, it becomes the default");
//   4. the operator's system default domain.
// With tracking.senders: declared (the default), mail whose sending domain
// is not a sending domain of the account is not tracked at all (kNone, with
// the reason in `why`); with `any`, such mail goes on with step 2. A
// subaccount never gets the primary account's default. Every domain in a
// Config is verified (the file's by the operator, the store's by DNS: the
// effective configuration holds only verified ones).
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
  // kNone: the message is not tracked (tracking.senders: declared).
  enum class Reason { kSendingDomain, kDefault, kOnlyDomain, kSystem, kNone };
  std::string domain;  // lower-case A-label; "" with kNone
  bool secure = false;
  std::optional<std::uint16_t> port;
  Reason reason = Reason::kSystem;
  std::string why;  // kNone: why the message is not tracked (for the log)
};
std::string_view describe(TrackingChoice::Reason);

// `account`: the message's subaccount id (0: the primary account).
TrackingChoice choose_tracking_domain(const conf::Config& config, std::string_view sending_domain,
                                      std::int64_t account = 0);

// "scheme://domain[:port]" for a choice; the port is omitted when it is the
// scheme's default.
std::string tracking_origin(const TrackingChoice& choice);

}  // namespace trackrelay::rewrite
