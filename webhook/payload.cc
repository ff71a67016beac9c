// webhook/payload.cc — see payload.h. May call: store/event_json.h, Boost.JSON.
#include "webhook/payload.h"

#include <boost/json.hpp>

#include "store/event_json.h"

namespace trackrelay::webhook {

const std::vector<std::string_view>& event_types() {
  static const std::vector<std::string_view> kTypes = {"click", "open", "initial_open",
                                                       "injection"};
  return kTypes;
}

bool is_webhook_event_type(std::string_view type) {
  for (std::string_view t : event_types()) {
    if (t == type) return true;
  }
  return false;
}

std::string_view msys_key(std::string_view type) {
  return type == "injection" ? "message_event" : "track_event";
}

std::string batch_body(const std::vector<store::Event>& events) {
  boost::json::array out;
  out.reserve(events.size());
  for (const store::Event& e : events) {
    boost::json::object msys;
    msys[msys_key(e.type)] = store::to_json(e);
    boost::json::object item;
    item["msys"] = std::move(msys);
    out.push_back(std::move(item));
  }
  return boost::json::serialize(out);
}

std::string test_body(std::int64_t now_ms) {
  store::Event e;
  e.event_id = "test";
  e.type = "click";
  e.timestamp_ms = now_ms;
  e.tracking_domain = "click.example.com";
  e.target_link_url = "https://www.example.com/";
  e.target_link_name = "example";
  e.message_id = "test";
  e.rcpt_to = "recipient@example.com";
  e.campaign_id = "trackrelay-validate";
  e.sending_domain = "example.com";
  e.user_agent = "trackrelay-validate";
  e.ip_address = "192.0.2.1";
  e.method = "GET";
  return batch_body({e});
}

}  // namespace trackrelay::webhook
