// rewrite/controls.h — per-message tracking controls from message headers.
//
// Owns: reading X-MSYS-API (the hosted service's SMTP API header, JSON) and
// the equivalent headers of other services, so senders can migrate
// unchanged: X-Mailgun-Track / X-Mailgun-Track-Clicks / X-Mailgun-Track-Opens
// (yes|no|htmlonly), X-PM-TrackOpens (true|false), X-PM-TrackLinks
// (None|HtmlAndText|HtmlOnly|TextOnly). X-MSYS-API wins over the others.
// Malformed X-MSYS-API is an input error (the relay answers 550 5.6.0 with the
// message); the others are advisory and ignored with a note when malformed.
//
// May call: base/, Boost.JSON.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace trackrelay::rewrite {

struct MessageControls {
  std::optional<bool> click_tracking;  // unset = configured default
  std::optional<bool> open_tracking;
  std::optional<bool> initial_open;
  std::optional<bool> text_tracking;  // only from X-PM-TrackLinks / X-Mailgun-Track-Clicks
  std::string campaign_id;            // <= 64 bytes
  std::string metadata_json;          // serialised JSON object, <= 1000 bytes ("" when absent)
  std::vector<std::string> tags;
  std::vector<std::string> notes;  // advisory-header problems, for the log
};

inline constexpr std::size_t kMaxCampaignId = 64;
inline constexpr std::size_t kMaxMetadata = 1000;

// Parses one X-MSYS-API value (unfolded) into `controls`. Errors name what is
// wrong: "X-MSYS-API: invalid JSON at offset 17: syntax error",
// "X-MSYS-API: campaign_id is longer than 64 bytes", ...
Result<bool> apply_msys_api(std::string_view json, MessageControls& controls);

// Applies an advisory header of another service (name compared
// case-insensitively). Returns false when `name` is not one of them.
bool apply_other_service_header(std::string_view name, std::string_view value,
                                MessageControls& controls);

// True for every header name this module consumes; those are removed from the
// forwarded message.
bool is_control_header(std::string_view name);

}  // namespace trackrelay::rewrite
