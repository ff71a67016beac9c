// app/relay_injections.h — relay::Injections over the event store, for
// `serve` (injection events when the upstream accepts a message).
// May call: relay/injections.h, store/event_store.h.
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "relay/injections.h"

namespace trackrelay::app {

// Opens its own EventStore (writer thread, group commit) on the store file
// `path`. The error names the file.
// `spool_dir` (store_spool): where injections wait while PostgreSQL is away;
// with one, a database unreachable now is no error (they are spooled until it
// answers), without one it is (Errc::kUnavailable).
Result<std::shared_ptr<relay::Injections>> open_relay_injections(const std::string& path,
                                                                 const std::string& spool_dir = "");

}  // namespace trackrelay::app
