// relay/upstream_target.h — what relay.upstream names: an SMTP "host:port"
// or "maildir:PATH" (the built-in capture). Other addresses (listen, clients)
// are net/'s.
//
// May call: base/, net/.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"
#include "net/address.h"

namespace trackrelay::relay {

struct UpstreamTarget {
  enum class Kind { kSmtp, kMaildir } kind = Kind::kSmtp;
  net::HostPort smtp;
  std::string maildir;  // the directory (conf/ resolved a relative one against the config file)
};
Result<UpstreamTarget> parse_upstream(std::string_view text);

}  // namespace trackrelay::relay
