// track/classify.cc — matching requests against the who-clicked rules, the
// rules file, the burst window. May call: net/, store/event_store.h, base/,
// yaml-cpp.
#include "track/classify.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "base/strings.h"

namespace trackrelay::track {
namespace {

constexpr std::string_view kKindNames[] = {"human", "apple_mpp", "image_proxy", "scanner"};

bool icontains(std::string_view haystack, std::string_view needle) {
  if (needle.empty()) return true;
  if (needle.size() > haystack.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    if (iequals(haystack.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

bool header_matches(const Signals& s, const std::pair<std::string, std::string>& want) {
  return std::any_of(s.headers.begin(), s.headers.end(), [&](const auto& h) {
    return iequals(h.first, want.first) && icontains(h.second, want.second);
  });
}

bool matches(const Rule& r, const Signals& s, const boost::asio::ip::address* addr) {
  const bool click = s.type == "click";
  if (r.disabled || (click ? !r.clicks : !r.opens)) return false;
  if (!r.user_agent_contains.empty() &&
      std::none_of(r.user_agent_contains.begin(), r.user_agent_contains.end(),
                   [&](const std::string& v) { return icontains(s.user_agent, v); })) {
    return false;
  }
  if (!r.user_agent_equals.empty() &&
      std::find(r.user_agent_equals.begin(), r.user_agent_equals.end(), s.user_agent) ==
          r.user_agent_equals.end()) {
    return false;
  }
  if (!r.networks.empty() && (addr == nullptr || !net::in_any(r.networks, *addr))) return false;
  if (!r.methods.empty() &&
      std::none_of(r.methods.begin(), r.methods.end(),
                   [&](const std::string& m) { return iequals(m, s.method); })) {
    return false;
  }
  if (!r.headers.empty() && std::none_of(r.headers.begin(), r.headers.end(),
                                         [&](const auto& h) { return header_matches(s, h); })) {
    return false;
  }
  return true;
}

// --- the rules file ---

std::string where(const std::string& file, const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  if (m.line < 0) return file;
  return file + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

Error fail(const std::string& file, const YAML::Node& n, const std::string& what) {
  return Error{where(file, n) + ": error: " + what};
}

bool valid_rule_name(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

// A scalar or a list of scalars.
Result<std::vector<std::string>> strings(const std::string& file, const YAML::Node& n,
                                         const std::string& key) {
  std::vector<std::string> out;
  if (n.IsScalar()) {
    out.push_back(n.Scalar());
  } else if (n.IsSequence()) {
    for (const YAML::Node& item : n) {
      if (!item.IsScalar()) return fail(file, item, key + ": expected a string");
      out.push_back(item.Scalar());
    }
  } else {
    return fail(file, n, key + ": expected a string or a list of strings");
  }
  return out;
}

// One field of a rule into `r`; the error names the file position.
Result<bool> read_field(const std::string& file, const std::string& key, const YAML::Node& v,
                        Rule& r, bool& has_kind) {
  if (key == "kind") {
    if (!v.IsScalar() || !parse_kind(v.Scalar(), r.kind)) {
      return fail(file, v, "kind: expected human, apple_mpp, image_proxy or scanner");
    }
    has_kind = true;
    return true;
  }
  if (key == "source") {
    if (!v.IsScalar()) return fail(file, v, "source: expected a string");
    r.source = v.Scalar();
    return true;
  }
  if (key == "disabled") {
    if (!v.IsScalar() || (v.Scalar() != "true" && v.Scalar() != "false")) {
      return fail(file, v, "disabled: expected true or false");
    }
    r.disabled = v.Scalar() == "true";
    return true;
  }
  if (key == "headers") {
    if (!v.IsMap()) return fail(file, v, "headers: expected a map of header name to text");
    r.headers.clear();
    for (const auto& h : v) {
      if (!h.second.IsScalar()) return fail(file, h.second, "headers: expected a string value");
      r.headers.emplace_back(h.first.Scalar(), h.second.Scalar());
    }
    return true;
  }
  auto list = strings(file, v, key);
  if (!list) return Error{list.error()};
  if (key == "events") {
    r.clicks = r.opens = false;
    for (const std::string& e : *list) {
      if (e == "click") {
        r.clicks = true;
      } else if (e == "open") {
        r.opens = true;
      } else {
        return fail(file, v, "events: expected click and/or open, not '" + e + "'");
      }
    }
  } else if (key == "user_agent_contains") {
    r.user_agent_contains = std::move(list).value();
  } else if (key == "user_agent_equals") {
    r.user_agent_equals = std::move(list).value();
  } else if (key == "methods") {
    r.methods = std::move(list).value();
  } else if (key == "networks") {
    r.networks.clear();
    for (const std::string& text : *list) {
      auto c = net::parse_cidr(text);
      if (!c) return fail(file, v, "networks: " + c.error());
      r.networks.push_back(*c);
    }
  } else {
    return fail(file, v, "unknown rule key '" + key + "'");
  }
  return true;
}

// One entry of `rules:`, merged into `table` (replacing a rule of the same name).
Result<bool> read_rule(const std::string& file, const YAML::Node& n, std::vector<Rule>& table) {
  if (!n.IsMap()) return fail(file, n, "a rule must be a map");
  const YAML::Node name = n["name"];
  if (!name || !name.IsScalar() || !valid_rule_name(name.Scalar())) {
    return fail(file, name ? name : n, "rule name: expected 1-64 of a-z, 0-9, _ and -");
  }
  auto it = std::find_if(table.begin(), table.end(),
                         [&](const Rule& r) { return r.name == name.Scalar(); });
  const bool replaces = it != table.end();
  Rule r;
  r.name = name.Scalar();
  if (replaces) r.kind = it->kind;
  bool has_kind = replaces;
  std::size_t matchers = 0;
  for (const auto& kv : n) {
    const std::string key = kv.first.Scalar();
    if (key == "name") continue;
    if (auto ok = read_field(file, key, kv.second, r, has_kind); !ok) return ok;
    if (key != "kind" && key != "source" && key != "disabled" && key != "events") ++matchers;
  }
  if (replaces && matchers == 0) {  // `disabled`, `kind` or `source` only: keep the matchers
    Rule kept = *it;
    kept.kind = r.kind;
    kept.disabled = r.disabled;
    if (!r.source.empty()) kept.source = r.source;
    r = std::move(kept);
  } else if (matchers == 0 && !r.disabled) {
    return fail(file, n,
                "rule '" + r.name +
                    "' has no matcher (user_agent_contains, "
                    "user_agent_equals, networks, methods, headers)");
  }
  if (!has_kind) return fail(file, n, "rule '" + r.name + "' needs a kind");
  if (r.source.empty() && !r.disabled) {
    return fail(file, n, "rule '" + r.name + "' needs a source (where the rule comes from)");
  }
  if (replaces) {
    *it = std::move(r);
  } else {
    table.push_back(std::move(r));
  }
  return true;
}

}  // namespace

std::string_view kind_name(Kind kind) {
  return kKindNames[static_cast<int>(kind)];
}

bool parse_kind(std::string_view name, Kind& kind) {
  for (int i = 0; i < 4; ++i) {
    if (kKindNames[i] == name) {
      kind = static_cast<Kind>(i);
      return true;
    }
  }
  return false;
}

Result<std::vector<Rule>> merge_rules(std::vector<Rule> base, std::string_view yaml,
                                      const std::string& name) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::ParserException& e) {
    return Error{name + ":" + std::to_string(e.mark.line + 1) + ":" +
                 std::to_string(e.mark.column + 1) + ": error: " + e.msg};
  }
  if (!root || root.IsNull()) return base;
  if (!root.IsMap()) return fail(name, root, "expected a map with a 'rules' list");
  for (const auto& kv : root) {
    if (kv.first.Scalar() != "rules") {
      return fail(name, kv.first, "unknown key '" + kv.first.Scalar() + "' (expected 'rules')");
    }
    if (!kv.second.IsSequence()) return fail(name, kv.second, "rules: expected a list");
    for (const YAML::Node& n : kv.second) {
      if (auto r = read_rule(name, n, base); !r) return Error{r.error()};
    }
  }
  return base;
}

Result<Rules> load_rules(const std::string& path, int quick_click_seconds) {
  Rules rules;
  rules.quick_click_seconds = quick_click_seconds;
  if (path.empty()) {
    rules.rules = builtin_rules();
    return rules;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{path + ": error: cannot read the classification rules file"};
  std::ostringstream text;
  text << in.rdbuf();
  auto merged = merge_rules(builtin_rules(), text.str(), path);
  if (!merged) return Error{merged.error()};
  rules.rules = std::move(merged).value();
  return rules;
}

Classification classify(const Rules& rules, const Signals& s) {
  Classification c;
  boost::system::error_code ec;
  const auto addr = boost::asio::ip::make_address(s.client_address, ec);
  bool matched = false;
  for (const Rule& r : rules.rules) {
    if (!matches(r, s, ec ? nullptr : &addr)) continue;
    if (!matched) c.kind = r.kind;
    matched = true;
    c.reasons.push_back(r.name);
  }
  if (s.type == "click") {
    const bool quick = rules.quick_click_seconds > 0 && s.issued_at_s > 0 &&
                       s.now_ms / 1000 - s.issued_at_s <= rules.quick_click_seconds;
    if (quick) c.reasons.emplace_back("quick_click");
    if (s.link_burst) c.reasons.emplace_back("link_burst");
    if (!matched && (quick || s.link_burst)) c.kind = Kind::kScanner;
  }
  return c;
}

BurstWindow::BurstWindow(std::size_t max_messages, std::int64_t window_ms)
    : max_messages_(std::max<std::size_t>(max_messages, 1)), window_ms_(window_ms) {}

bool BurstWindow::clicked(const std::string& message, std::string_view target,
                          std::int64_t now_ms) {
  auto it = recent_.find(message);
  if (it == recent_.end()) {
    if (recent_.size() >= max_messages_) {  // forget the least recently clicked message
      recent_.erase(lru_.back());
      lru_.pop_back();
    }
    lru_.push_front(message);
    it = recent_.emplace(message, Recent{{}, lru_.begin()}).first;
  } else {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
  }
  auto& clicks = it->second.clicks;
  std::erase_if(clicks, [&](const auto& c) { return now_ms - c.first >= window_ms_; });
  const bool burst =
      std::any_of(clicks.begin(), clicks.end(), [&](const auto& c) { return c.second != target; });
  if (clicks.size() < 64) clicks.emplace_back(now_ms, std::string(target));
  return burst;
}

void classify_event(const Rules& rules, BurstWindow& burst, store::Event& e,
                    const net::HttpRequest& req) {
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  for (const auto& field : req) headers.emplace_back(field.name_string(), field.value());
  Signals s;
  s.type = e.type;
  s.method = e.method;
  s.user_agent = e.user_agent;
  s.client_address = e.ip_address;
  s.headers = headers;
  s.now_ms = e.timestamp_ms;
  s.issued_at_s = e.issued_at_s;
  if (e.type == "click") {
    s.link_burst =
        burst.clicked(e.message_id + "\n" + e.rcpt_to, e.target_link_url, e.timestamp_ms);
  }
  Classification c = classify(rules, s);
  e.classification = std::string(kind_name(c.kind));
  e.classification_reasons = std::move(c.reasons);
}

}  // namespace trackrelay::track
