// rewrite/controls.cc — see controls.h.
#include "rewrite/controls.h"

#include <algorithm>
#include <array>
#include <boost/json.hpp>

#include "base/strings.h"

namespace trackrelay::rewrite {
namespace {

namespace json = boost::json;

Error msys_error(std::string what) {
  return Error{"X-MSYS-API: " + std::move(what), Errc::kInvalid};
}

Result<bool> read_bool(const json::object& options, std::string_view key,
                       std::optional<bool>& out) {
  auto it = options.find(key);
  if (it == options.end() || it->value().is_null()) return true;
  const json::value& v = it->value();
  if (v.is_bool()) {
    out = v.as_bool();
    return true;
  }
  // The hosted service documents booleans; accept 0/1 as some clients send them.
  if (v.is_int64() && (v.as_int64() == 0 || v.as_int64() == 1)) {
    out = v.as_int64() == 1;
    return true;
  }
  return msys_error("options." + std::string(key) + " must be true or false");
}

}  // namespace

Result<bool> apply_msys_api(std::string_view text, MessageControls& c) {
  json::error_code ec;
  json::parse_options opts;
  opts.max_depth = 16;
  json::value root = json::parse(json::string_view(text.data(), text.size()), ec, {}, opts);
  if (ec) return msys_error("invalid JSON: " + ec.message());
  if (!root.is_object()) return msys_error("the value must be a JSON object");
  const json::object& obj = root.as_object();

  if (auto it = obj.find("options"); it != obj.end() && !it->value().is_null()) {
    if (!it->value().is_object()) return msys_error("options must be an object");
    const json::object& o = it->value().as_object();
    for (auto [key, field] : std::array<std::pair<std::string_view, std::optional<bool>*>, 3>{
             {{"click_tracking", &c.click_tracking},
              {"open_tracking", &c.open_tracking},
              {"initial_open", &c.initial_open}}}) {
      if (auto r = read_bool(o, key, *field); !r) return r;
    }
  }
  if (auto it = obj.find("campaign_id"); it != obj.end() && !it->value().is_null()) {
    if (!it->value().is_string()) return msys_error("campaign_id must be a string");
    const json::string& s = it->value().as_string();
    if (s.size() > kMaxCampaignId) {
      return msys_error("campaign_id is longer than 64 bytes (" + std::to_string(s.size()) + ")");
    }
    c.campaign_id.assign(s.data(), s.size());
  }
  if (auto it = obj.find("metadata"); it != obj.end() && !it->value().is_null()) {
    if (!it->value().is_object()) return msys_error("metadata must be a JSON object");
    std::string m = json::serialize(it->value());
    if (m.size() > kMaxMetadata) {
      return msys_error("metadata is longer than 1000 bytes (" + std::to_string(m.size()) + ")");
    }
    c.metadata_json = std::move(m);
  }
  if (auto it = obj.find("tags"); it != obj.end() && !it->value().is_null()) {
    if (!it->value().is_array()) return msys_error("tags must be an array of strings");
    c.tags.clear();
    for (const json::value& t : it->value().as_array()) {
      if (!t.is_string()) return msys_error("tags must be an array of strings");
      c.tags.emplace_back(t.as_string().data(), t.as_string().size());
    }
  }
  return true;
}

bool apply_other_service_header(std::string_view name, std::string_view raw_value,
                                MessageControls& c) {
  std::string v(trim(raw_value));
  auto yes_no = [&](std::optional<bool>& out, std::string_view header) {
    if (iequals(v, "yes") || iequals(v, "true")) {
      out = true;
    } else if (iequals(v, "no") || iequals(v, "false")) {
      out = false;
    } else {
      c.notes.push_back(std::string(header) + ": ignored unknown value '" + v + "'");
    }
  };
  if (iequals(name, "X-Mailgun-Track")) {
    std::optional<bool> on;
    yes_no(on, name);
    if (on) {
      if (!c.click_tracking) c.click_tracking = on;
      if (!c.open_tracking) c.open_tracking = on;
    }
  } else if (iequals(name, "X-Mailgun-Track-Clicks")) {
    if (iequals(v, "htmlonly")) {
      if (!c.click_tracking) c.click_tracking = true;
      c.text_tracking = false;
    } else {
      std::optional<bool> on;
      yes_no(on, name);
      if (on && !c.click_tracking) c.click_tracking = on;
    }
  } else if (iequals(name, "X-Mailgun-Track-Opens") || iequals(name, "X-PM-TrackOpens")) {
    std::optional<bool> on;
    yes_no(on, name);
    if (on && !c.open_tracking) c.open_tracking = on;
  } else if (iequals(name, "X-PM-TrackLinks")) {
    bool html = false, text = false;
    if (iequals(v, "HtmlAndText")) {
      html = text = true;
    } else if (iequals(v, "HtmlOnly")) {
      html = true;
    } else if (iequals(v, "TextOnly")) {
      text = true;
    } else if (!iequals(v, "None")) {
      c.notes.push_back("X-PM-TrackLinks: ignored unknown value '" + v + "'");
      return true;
    }
    if (!c.click_tracking) c.click_tracking = html || text;
    c.text_tracking = text;
    if (text && !html) c.notes.push_back("X-PM-TrackLinks: TextOnly also tracks HTML links");
  } else {
    return false;
  }
  return true;
}

bool is_control_header(std::string_view name) {
  for (std::string_view h : {"X-MSYS-API", "X-Mailgun-Track", "X-Mailgun-Track-Clicks",
                             "X-Mailgun-Track-Opens", "X-PM-TrackOpens", "X-PM-TrackLinks"}) {
    if (iequals(name, h)) return true;
  }
  return false;
}

}  // namespace trackrelay::rewrite
