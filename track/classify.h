// track/classify.h — who made a click or an open: a person ("human"), Apple
// Mail Privacy Protection ("apple_mpp"), a mailbox provider's image proxy
// ("image_proxy") or a security scanner ("scanner").
//
// Owns: the rule type, the built-in rule table (classify_rules.cc, each rule
// with its `source`), the rules file named by track.classification_rules
// (YAML; a rule with a built-in's name replaces it, `disabled: true` turns it
// off, other names are appended; errors are file:line:col), the two rules
// that are behaviour rather than data (a click within
// track.quick_click_seconds of the token's issue time, and a burst of
// different links of one message within a second: BurstWindow), and
// classify(). Nothing is dropped: the caller records every event with its
// classification. May call: net/address.h, net/http_server.h (the request
// type), store/event_store.h (the Event type), base/, yaml-cpp.
//
// The kind is the first matching rule's in table order (built-ins first,
// then the file's); `reasons` names every rule that matched. Without a
// matching table rule, quick_click or link_burst make the kind "scanner".
#pragma once

#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <list>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/result.h"
#include "net/address.h"
#include "net/http_server.h"
#include "store/event_store.h"

namespace trackrelay::track {

enum class Kind { kHuman, kAppleMpp, kImageProxy, kScanner };
// "human", "apple_mpp", "image_proxy", "scanner".
std::string_view kind_name(Kind kind);
// The inverse of kind_name; false for anything else.
bool parse_kind(std::string_view name, Kind& kind);

// One classification rule. It matches a request when every matcher that is
// set matches (a matcher matches when any of its values does).
struct Rule {
  std::string name;  // [a-z0-9_-]{1,64}: what events list in classification.reasons
  Kind kind = Kind::kScanner;
  bool clicks = true;                            // applies to clicks
  bool opens = true;                             // applies to opens (open, initial_open)
  std::vector<std::string> user_agent_contains;  // case-insensitive substrings
  std::vector<std::string> user_agent_equals;    // the whole User-Agent, exactly
  std::vector<net::Cidr> networks;               // the client address (after trusted proxies)
  std::vector<std::string> methods;              // "HEAD"
  // Request headers: name (case-insensitive) and a case-insensitive
  // substring of its value ("" : the header is present).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string source;  // where the rule comes from: a URL or a document's name
  bool disabled = false;
};

struct Rules {
  std::vector<Rule> rules;  // enabled and disabled, in table order
  int quick_click_seconds = 0;
};

// The compiled-in table.
std::vector<Rule> builtin_rules();

// The built-in table merged with the YAML rules in `yaml` (`name` for
// diagnostics: "file:line:col: error: ..."). See docs/metrics.md for the format.
Result<std::vector<Rule>> merge_rules(std::vector<Rule> base, std::string_view yaml,
                                      const std::string& name);
// builtin_rules() merged with the file at `path` ("": the built-ins alone).
Result<Rules> load_rules(const std::string& path, int quick_click_seconds);

// What the classifier looks at in one request.
struct Signals {
  std::string_view type;  // "click", "open", "initial_open"
  std::string_view method;
  std::string_view user_agent;
  std::string_view client_address;  // the event's ip_address
  std::span<const std::pair<std::string_view, std::string_view>> headers;
  std::int64_t now_ms = 0;
  std::int64_t issued_at_s = 0;  // the token's issue time; 0: unknown
  bool link_burst = false;       // BurstWindow said so (clicks)
};

struct Classification {
  Kind kind = Kind::kHuman;
  std::vector<std::string> reasons;
};

Classification classify(const Rules& rules, const Signals& s);

// Recent clicks per message (message id + recipient), in the memory of one
// tracker: bounded to `max_messages` messages (the least recently clicked
// are forgotten). Clicks of one message that reach different trackers are
// not seen together.
class BurstWindow {
 public:
  explicit BurstWindow(std::size_t max_messages = 10000, std::int64_t window_ms = 1000);
  // Notes a click on `target` of `message`; true when another link of the
  // same message was clicked less than window_ms before.
  bool clicked(const std::string& message, std::string_view target, std::int64_t now_ms);

 private:
  struct Recent {
    std::vector<std::pair<std::int64_t, std::string>> clicks;  // within the window
    std::list<std::string>::iterator lru;
  };
  std::size_t max_messages_;
  std::int64_t window_ms_;
  std::unordered_map<std::string, Recent> recent_;
  std::list<std::string> lru_;  // front: most recently clicked
};

// Sets e.classification and e.classification_reasons for the served request
// `req` (its method and headers; the event carries the user agent, client
// address, token issue time and, for clicks, the target noted in `burst`).
void classify_event(const Rules& rules, BurstWindow& burst, store::Event& e,
                    const net::HttpRequest& req);

}  // namespace trackrelay::track
