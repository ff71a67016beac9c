// relay/injections.h — who is told that the upstream accepted a message for
// a recipient (SparkPost's `injection` event).
//
// Owns: the sink's signature only. The session calls it from one place
// (Session::injected, relay/session_deliver.cc) once per recipient whose
// message the upstream accepted (its 2xx to the end of data): per copy with
// relay.per_recipient / LMTP, else once per accepted recipient of the one
// transaction. `serve` may set it (app/); null: nobody listens.
//
// May call: rewrite/engine.h (the types only).
#pragma once

#include <functional>

#include "rewrite/engine.h"

namespace trackrelay::relay {

// `envelope.rcpt_to` holds exactly the one recipient; `outcome` is the
// rewrite's (its `message` is empty: the bytes went upstream). Runs on the
// relay's blocking pool, never on the I/O thread: it may write to the store.
using Injections =
    std::function<void(const rewrite::Envelope& envelope, const rewrite::Outcome& outcome)>;

}  // namespace trackrelay::relay
