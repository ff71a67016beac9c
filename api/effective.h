// api/effective.h — the effective configuration: the file's, plus the
// verified domains the management API keeps in the store.
//
// Owns: how store domains enter a Config that the rewrite engine, the relay
// and the tracker use unchanged: the configuration file stays authoritative
// (a store row with a file domain's name is ignored), only verified tracking
// domains are added (an unverified one falls through to the default, then
// the system default), sending domains keep their link even to an
// unverified tracking domain (so it takes effect once verified), the primary
// account's stored default applies unless the file designates one, and the
// HTTP challenges to answer are listed. May call: conf/, store/domain_store.h.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "conf/config.h"
#include "store/domain_store.h"

namespace trackrelay::api {

struct Effective {
  std::shared_ptr<const conf::Config> config;
  // Why a store domain is not used, one line per domain (the caller logs
  // each line once): "sending domain example.com: tracking domain
  // click.example.com is not verified (pending); its mail uses ...".
  std::vector<std::string> notes;
};

Effective build_effective(const conf::Config& file, const store::DomainsSnapshot& domains);

}  // namespace trackrelay::api
