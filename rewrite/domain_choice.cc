// rewrite/domain_choice.cc — see domain_choice.h.
#include "rewrite/domain_choice.h"

#include "base/strings.h"

namespace trackrelay::rewrite {
namespace {

// Removes RFC 5322 comments "(...)" (nested, with quoted-pairs) outside quoted
// strings, and returns the text with quoted strings kept verbatim.
std::string strip_comments(std::string_view s) {
  std::string out;
  int depth = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\\' && i + 1 < s.size() && (quoted || depth > 0)) {
      if (depth == 0) out.append(s.substr(i, 2));
      ++i;
      continue;
    }
    if (depth == 0 && c == '"') quoted = !quoted;
    if (!quoted) {
      if (c == '(') {
        ++depth;
        continue;
      }
      if (c == ')' && depth > 0) {
        --depth;
        continue;
      }
    }
    if (depth == 0) out.push_back(c);
  }
  return out;
}

}  // namespace

std::string from_address(std::string_view value) {
  std::string s = strip_comments(value);
  // Walk outside quoted strings: the first "<...>" is the angle-addr of the
  // first mailbox; a ',' ends the first mailbox; "group:" starts a group.
  bool quoted = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\\' && quoted) {
      ++i;
      continue;
    }
    if (c == '"') {
      quoted = !quoted;
      continue;
    }
    if (quoted) continue;
    if (c == '<') {
      auto end = s.find('>', i);
      if (end == std::string::npos) return {};
      std::string addr(trim(std::string_view(s).substr(i + 1, end - i - 1)));
      // Obsolete source routes: "<@relay:user@example.com>".
      if (!addr.empty() && addr.front() == '@') {
        auto colon = addr.find(':');
        addr = colon == std::string::npos ? std::string{} : addr.substr(colon + 1);
      }
      return addr;
    }
    if (c == ':') {
      start = i + 1;  // group display name
    } else if (c == ',' || c == ';') {
      std::string addr(trim(std::string_view(s).substr(start, i - start)));
      if (addr.find('@') != std::string::npos) return addr;
      start = i + 1;
    }
  }
  std::string addr(trim(std::string_view(s).substr(start)));
  return addr.find('@') != std::string::npos ? addr : std::string{};
}

std::string address_domain(std::string_view address) {
  auto at = address.rfind('@');
  if (at == std::string_view::npos) return {};
  std::string_view domain = address.substr(at + 1);
  if (domain.empty() || domain.front() == '[') return {};  // domain literal: no sending domain
  auto alabel = conf::to_alabel(domain);
  return alabel ? *alabel : std::string{};
}

std::string_view describe(TrackingChoice::Reason r) {
  switch (r) {
    case TrackingChoice::Reason::kSendingDomain:
      return "sending domain";
    case TrackingChoice::Reason::kDefault:
      return "default";
    case TrackingChoice::Reason::kOnlyDomain:
      return "only tracking domain";
    case TrackingChoice::Reason::kSystem:
      return "system default";
    case TrackingChoice::Reason::kNone:
      return "not tracked";
  }
  return "unknown";
}

namespace {

// The account's default tracking domain: its designated one, else its only
// one (the primary account's rule is Config::default_tracking_domain()).
const conf::TrackingDomain* account_default(const conf::Config& config, std::int64_t account) {
  if (account == 0) return config.default_tracking_domain();
  const conf::TrackingDomain* only = nullptr;
  int count = 0;
  for (const conf::TrackingDomain& d : config.tracking_domains) {
    if (d.subaccount_id != account) continue;
    if (d.is_default) return &d;
    only = &d;
    ++count;
  }
  return count == 1 ? only : nullptr;
}

std::string account_name(std::int64_t account) {
  return account == 0 ? "the primary account" : "subaccount " + std::to_string(account);
}

}  // namespace

TrackingChoice choose_tracking_domain(const conf::Config& config, std::string_view sending_domain,
                                      std::int64_t account) {
  auto from = [](const conf::TrackingDomain& t, TrackingChoice::Reason why) {
    return TrackingChoice{t.domain, t.secure, t.port, why, {}};
  };
  const conf::SendingDomain* sd =
      sending_domain.empty() ? nullptr : config.find_sending_domain(sending_domain);
  const bool own = sd != nullptr && sd->subaccount_id == account;
  if (own) {
    const auto* td = config.find_tracking_domain(sd->tracking_domain);
    if (td != nullptr && td->subaccount_id == account) {
      return from(*td, TrackingChoice::Reason::kSendingDomain);
    }
  } else if (config.senders != "any") {
    TrackingChoice none{{}, false, std::nullopt, TrackingChoice::Reason::kNone, {}};
    if (sending_domain.empty()) {
      none.why = "no sending domain (tracking.senders: declared)";
    } else if (sd != nullptr) {
      none.why = "sending domain " + std::string(sending_domain) + " belongs to another account" +
                 " than " + account_name(account) + " (tracking.senders: declared)";
    } else {
      none.why = "sending domain " + std::string(sending_domain) +
                 " is not a verified sending domain of " + account_name(account) +
                 " (tracking.senders: declared)";
    }
    return none;
  }
  if (const auto* def = account_default(config, account)) {
    return from(*def, def->is_default ? TrackingChoice::Reason::kDefault
                                      : TrackingChoice::Reason::kOnlyDomain);
  }
  return TrackingChoice{config.system_domain,
                        config.system_secure,
                        config.system_port,
                        TrackingChoice::Reason::kSystem,
                        {}};
}

std::string tracking_origin(const TrackingChoice& c) {
  std::string out = c.secure ? "https://" : "http://";
  out += c.domain;
  if (c.port && *c.port != (c.secure ? 443 : 80)) out += ":" + std::to_string(*c.port);
  return out;
}

}  // namespace trackrelay::rewrite
