// dns/resolver.h — asking DNS for a name's CNAME and addresses.
//
// Owns: CNAME, address and TXT lookups through the resolvers of `dns.resolvers` (or the system's),
// with one overall deadline, reported as found / definitely none / failed
// (timeout, SERVFAIL, refused): only the first two are definite answers,
// which is what verification and its flap protection depend on.
// May call: base/, c-ares (queries), libresolv (ns_parserr: reading answers).
//
// Resolver is an interface so the API's tests can answer from a table; the
// real one is make_resolver(). A Resolver is used by one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace trackrelay::dns {

struct Answer {
  enum class Kind {
    kFound,   // values holds the records
    kNone,    // the name does not exist (NXDOMAIN) or has no record of the type
    kFailed,  // no definite answer: timeout, SERVFAIL, REFUSED, network error
  };
  Kind kind = Kind::kFailed;
  // CNAME targets as sent (no trailing dot); IP addresses; TXT records (the
  // character-strings of one record concatenated, as RFC 7208 reads them).
  std::vector<std::string> values;
  std::string detail;  // "NXDOMAIN", "no CNAME record", "timed out after 2000 ms"
};

class Resolver {
 public:
  virtual ~Resolver() = default;
  // The CNAME record of `name` (an A-label), not followed.
  virtual Answer cname(std::string_view name) = 0;
  // The IPv4 and IPv6 addresses of `name` (CNAMEs followed).
  virtual Answer addresses(std::string_view name) = 0;
  // The TXT records of `name` (sending-domain verification). Not pure, so
  // fakes that need no TXT keep compiling: they answer kFailed.
  virtual Answer txt(std::string_view name);
};

// `servers`: "127.0.0.1", "127.0.0.1:5353", "[::1]:53"; empty: /etc/resolv.conf.
// `timeout_ms` bounds each lookup, every server and retry included. Fails
// when a server address cannot be parsed (the error names it).
Result<std::unique_ptr<Resolver>> make_resolver(const std::vector<std::string>& servers,
                                                int timeout_ms);

// Checks `servers` the way make_resolver() does, without a channel.
Result<void> check_servers(const std::vector<std::string>& servers);

}  // namespace trackrelay::dns
