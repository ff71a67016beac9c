// store/event_json.h — an Event as the events API and `trackrelay events
// --json` show it (the hosted service's field names), and timestamps in
// ISO 8601. May call: store/event_store.h, Boost.JSON.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "store/event_store.h"

namespace trackrelay::store {

// The one place an event row becomes SparkPost's event JSON (the events API,
// `trackrelay events --json`, webhooks): {"type", "event_id", "timestamp"
// (ISO 8601 UTC, milliseconds), "message_id", "transmission_id",
// "campaign_id", "subaccount_id" (0: the primary account), "rcpt_to",
// "raw_rcpt_to", "rcpt_meta" (object), "rcpt_tags" (array),
// "friendly_from", "sending_domain", "tracking_domain", "msg_from" (when
// known)}; clicks add "target_link_url", "target_link_name"; clicks and
// opens add "user_agent", "ip_address", "method"; injections add "msg_size".
boost::json::object to_json(const Event& e);

// "2024-05-01T12:00:00.000Z"
std::string format_iso8601(std::int64_t unix_ms);

// Accepts "2024-05-01", "2024-05-01T12:00", "2024-05-01T12:00:00[.fff]" with
// "Z", "+hh:mm" or no zone (UTC), and plain unix seconds. nullopt otherwise.
std::optional<std::int64_t> parse_iso8601_ms(std::string_view text);

}  // namespace trackrelay::store
