// webhook/payload.h — what a webhook POST carries: SparkPost's batch shape,
// a JSON array of {"msys":{"track_event":{…}}} (clicks and opens) or
// {"msys":{"message_event":{…}}} (injection), each event as the events API
// shows it (store/event_json.h, the one serializer), and the event types a
// webhook may ask for. May call: store/event_json.h, Boost.JSON.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "store/event_store.h"

namespace trackrelay::webhook {

// The types a webhook's `events` may name, in documentation order.
const std::vector<std::string_view>& event_types();
bool is_webhook_event_type(std::string_view type);

// "message_event" for injection, "track_event" for clicks and opens.
std::string_view msys_key(std::string_view type);

// The body of one batch: [{"msys":{"track_event":{...}}}, ...].
std::string batch_body(const std::vector<store::Event>& events);

// The body `validate` sends when the caller gives no message: one sample
// click, marked as a test (event_id "test", campaign_id "trackrelay-validate").
std::string test_body(std::int64_t now_ms);

}  // namespace trackrelay::webhook
