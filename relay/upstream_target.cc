// relay/upstream_target.cc — see upstream_target.h.
#include "relay/upstream_target.h"

namespace trackrelay::relay {

Result<UpstreamTarget> parse_upstream(std::string_view text) {
  UpstreamTarget out;
  constexpr std::string_view kMaildir = "maildir:";
  if (text.starts_with(kMaildir)) {
    out.kind = UpstreamTarget::Kind::kMaildir;
    out.maildir = std::string(text.substr(kMaildir.size()));
    if (out.maildir.empty()) return Error{"relay.upstream: maildir: needs a directory"};
    return out;
  }
  auto hp = net::parse_host_port(text, false);
  if (!hp) return Error{"relay.upstream: " + hp.error()};
  if (hp->host.empty()) return Error{"relay.upstream: '" + std::string(text) + "': empty host"};
  out.smtp = std::move(*hp);
  return out;
}

}  // namespace trackrelay::relay
