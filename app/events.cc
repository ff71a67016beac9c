// app/events.cc — `trackrelay events`: list recorded clicks and opens.
//
//   trackrelay [--config FILE] events [--since T] [--type click|open|initial_open]...
//                                     [--limit N] [--json]
//
// Reads the store named by `store:` (never creates it). Prints the newest N
// (default 100, at most 10000) matching events, oldest first: one line per
// event, or with --json one JSON object per line (the events API's fields).
// T is an ISO 8601 time (2024-05-01, 2024-05-01T12:00:00Z, with an offset),
// unix seconds, or an age: 30m, 12h, 7d. --type may be repeated or a comma
// list. Exit status: 0, 64 usage, 66 no store, 74 store unreadable.
// May call: store/, conf/.
#include <sysexits.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <chrono>
#include <iostream>

#include "app/commands.h"
#include "store/event_json.h"
#include "store/event_store.h"
#include "store/location.h"

namespace trackrelay::app {
namespace {

int usage(const std::string& what) {
  std::cerr << "trackrelay: events: " << what
            << "\nusage: trackrelay [--config FILE] events [--since T] "
               "[--type click|open|initial_open] [--limit N] [--json]\n";
  return EX_USAGE;
}

// "30m", "12h", "7d", "90s" → that long before now.
std::optional<std::int64_t> parse_age_ms(std::string_view s) {
  if (s.size() < 2) return std::nullopt;
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size() - 1, n);
  if (ec != std::errc() || end != s.data() + s.size() - 1 || n < 0 || n > 1000000) {
    return std::nullopt;
  }
  std::int64_t unit = 0;
  switch (s.back()) {
    case 's':
      unit = 1000;
      break;
    case 'm':
      unit = 60 * 1000;
      break;
    case 'h':
      unit = 3600 * 1000;
      break;
    case 'd':
      unit = 86400 * 1000;
      break;
    default:
      return std::nullopt;
  }
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return now - n * unit;
}

std::string_view or_dash(const std::string& s) {
  return s.empty() ? std::string_view("-") : std::string_view(s);
}

}  // namespace

int cmd_events(const conf::Config& config, const std::vector<std::string>& args) {
  store::Query q;
  q.limit = 100;
  q.newest_first = true;
  bool json = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const bool has_value = i + 1 < args.size();
    if (a == "--json") {
      json = true;
    } else if (a == "--since" && has_value) {
      const std::string& t = args[++i];
      auto ms = store::parse_iso8601_ms(t);
      if (!ms) ms = parse_age_ms(t);
      if (!ms)
        return usage("--since: '" + t +
                     "' is not a time (2024-05-01T12:00:00Z, unix seconds, 30m, 12h, 7d)");
      q.from_ms = *ms;
    } else if (a == "--type" && has_value) {
      std::string_view list = args[++i];
      while (!list.empty()) {
        const auto comma = list.find(',');
        const std::string t(list.substr(0, comma));
        if (!store::is_event_type(t)) return usage("--type: unknown type '" + t + "'");
        q.types.push_back(t);
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
      }
    } else if (a == "--limit" && has_value) {
      const std::string& v = args[++i];
      std::size_t n = 0;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || end != v.data() + v.size() || n == 0 || n > store::kMaxLimit) {
        return usage("--limit: expected 1-" + std::to_string(store::kMaxLimit) + ", got '" + v +
                     "'");
      }
      q.limit = n;
    } else {
      return usage("unexpected argument '" + a + "'");
    }
  }
  store::Options options;
  options.path = config.store;
  options.create = false;
  auto opened = store::EventStore::open(std::move(options));
  if (!opened) {
    std::cerr << "trackrelay: events: " << opened.error() << "\n";
    return opened.code() == Errc::kNotFound ? EX_NOINPUT : EX_IOERR;
  }
  auto page = (*opened)->query(q);
  if (!page) {
    std::cerr << "trackrelay: events: " << store::store_name(config.store) << ": " << page.error()
              << "\n";
    return EX_IOERR;
  }
  std::reverse(page->events.begin(), page->events.end());
  for (const store::Event& e : page->events) {
    if (json) {
      std::cout << boost::json::serialize(store::to_json(e)) << "\n";
    } else {
      std::cout << store::format_iso8601(e.timestamp_ms) << "  " << e.type << "  " << e.method
                << "  " << or_dash(e.ip_address) << "  " << e.tracking_domain << "  "
                << or_dash(e.message_id) << "  " << or_dash(e.rcpt_to) << "  "
                << or_dash(e.campaign_id);
      if (e.type == "click") std::cout << "  " << e.target_link_url;
      std::cout << "\n";
    }
  }
  std::cout.flush();
  return std::cout.good() ? EX_OK : EX_IOERR;
}

}  // namespace trackrelay::app
