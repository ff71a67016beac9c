// store/event_json.cc — Event to JSON, ISO 8601 formatting and parsing.
// May call: store/event_store.h, Boost.JSON.
#include "store/event_json.h"

#include <boost/json/parse.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>

#include "base/strings.h"

namespace trackrelay::store {
namespace {

// Reads exactly `n` digits at `pos` into `out`.
bool digits(std::string_view s, std::size_t& pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  pos += n;
  return true;
}

// A stored JSON text (metadata, tags) as a value of `kind`; the empty
// value for "" or anything that does not parse as one.
boost::json::value stored_json(const std::string& text, boost::json::kind kind) {
  boost::json::value empty = kind == boost::json::kind::object
                                 ? boost::json::value(boost::json::object())
                                 : boost::json::value(boost::json::array());
  if (text.empty()) return empty;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec || v.kind() != kind) return empty;
  return v;
}

}  // namespace

// Text that came from outside (user agents, header values in tokens) may not
// be UTF-8; JSON output must be.
boost::json::object to_json(const Event& e) {
  boost::json::object o;
  o["type"] = e.type;
  o["event_id"] = e.event_id;
  o["timestamp"] = format_iso8601(e.timestamp_ms);
  o["message_id"] = to_valid_utf8(e.message_id);
  o["transmission_id"] = e.transmission_id;
  o["campaign_id"] = to_valid_utf8(e.campaign_id);
  o["subaccount_id"] = e.subaccount_id;
  o["rcpt_to"] = to_valid_utf8(e.rcpt_to);
  o["raw_rcpt_to"] = to_valid_utf8(e.raw_rcpt_to);
  o["rcpt_meta"] = stored_json(e.rcpt_meta, boost::json::kind::object);
  o["rcpt_tags"] = stored_json(e.rcpt_tags, boost::json::kind::array);
  o["friendly_from"] = to_valid_utf8(e.friendly_from);
  o["sending_domain"] = to_valid_utf8(e.sending_domain);
  o["tracking_domain"] = to_valid_utf8(e.tracking_domain);
  if (!e.msg_from.empty() || e.type == "injection") o["msg_from"] = to_valid_utf8(e.msg_from);
  if (e.type == "injection") {
    o["msg_size"] = std::to_string(e.msg_size);  // a string, as the hosted service sends it
    return o;
  }
  if (e.type == "click") {
    o["target_link_url"] = to_valid_utf8(e.target_link_url);
    o["target_link_name"] = to_valid_utf8(e.target_link_name);
  }
  o["user_agent"] = to_valid_utf8(e.user_agent);
  o["ip_address"] = e.ip_address;
  o["method"] = e.method;
  if (!e.classification.empty()) {  // who clicked (track/classify.h); absent before schema 6
    boost::json::array reasons;
    for (const std::string& r : e.classification_reasons) reasons.emplace_back(r);
    o["classification"] = {{"kind", e.classification}, {"reasons", std::move(reasons)}};
  }
  return o;
}

std::string format_iso8601(std::int64_t unix_ms) {
  using namespace std::chrono;
  const sys_time<milliseconds> t{milliseconds{unix_ms}};
  const sys_days day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss<milliseconds> tod{t - day};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02ld.%03ldZ", int(ymd.year()),
                unsigned(ymd.month()), unsigned(ymd.day()), long(tod.hours().count()),
                long(tod.minutes().count()), long(tod.seconds().count()),
                long(tod.subseconds().count()));
  return buf;
}

std::optional<std::int64_t> parse_iso8601_ms(std::string_view s) {
  using namespace std::chrono;
  if (!s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos) {
    std::int64_t secs = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), secs);
    if (ec != std::errc() || p != s.data() + s.size() || secs > 253402300799) return std::nullopt;
    return secs * 1000;
  }
  std::size_t pos = 0;
  int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0;
  if (!digits(s, pos, 4, y) || pos >= s.size() || s[pos++] != '-' || !digits(s, pos, 2, mo) ||
      pos >= s.size() || s[pos++] != '-' || !digits(s, pos, 2, d)) {
    return std::nullopt;
  }
  const year_month_day ymd{year{y}, month{unsigned(mo)}, day{unsigned(d)}};
  if (!ymd.ok()) return std::nullopt;
  std::int64_t offset_min = 0;
  if (pos < s.size()) {
    if (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') return std::nullopt;
    ++pos;
    if (!digits(s, pos, 2, h) || pos >= s.size() || s[pos++] != ':' || !digits(s, pos, 2, mi)) {
      return std::nullopt;
    }
    if (pos < s.size() && s[pos] == ':') {
      ++pos;
      if (!digits(s, pos, 2, sec)) return std::nullopt;
      if (pos < s.size() && s[pos] == '.') {
        ++pos;
        std::size_t start = pos;
        int scale = 100;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
          ms += (s[pos] - '0') * scale;
          scale /= 10;
          ++pos;
        }
        if (pos == start) return std::nullopt;
      }
    }
    if (h > 23 || mi > 59 || sec > 60) return std::nullopt;
    if (pos < s.size()) {
      if (s[pos] == 'Z' || s[pos] == 'z') {
        ++pos;
      } else if (s[pos] == '+' || s[pos] == '-') {
        const int sign = s[pos++] == '-' ? -1 : 1;
        int oh, om;
        if (!digits(s, pos, 2, oh)) return std::nullopt;
        if (pos < s.size() && s[pos] == ':') ++pos;
        if (!digits(s, pos, 2, om) || oh > 23 || om > 59) return std::nullopt;
        offset_min = sign * (oh * 60 + om);
      }
    }
    if (pos != s.size()) return std::nullopt;
  }
  const auto t = sys_days{ymd} + hours{h} + minutes{mi} + seconds{sec} + milliseconds{ms} -
                 minutes{offset_min};
  return duration_cast<milliseconds>(t.time_since_epoch()).count();
}

}  // namespace trackrelay::store
