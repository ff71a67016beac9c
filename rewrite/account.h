// rewrite/account.h — the X-MSYS-SUBACCOUNT header: which (sub)account a
// message is sent for (SparkPost's SMTP header of that name).
//
// Owns: finding the header in a message's raw header block (no MIME parse,
// so it works on any message, also one the engine leaves alone), reading its
// value, and removing it. Whether the value is allowed is the relay's
// decision (the session's account, relay/session.cc); the engine removes the
// header from every message it forwards (rewrite/engine.h).
//
// May call: base/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace trackrelay::rewrite {

inline constexpr std::string_view kSubaccountHeader = "X-MSYS-SUBACCOUNT";

// The subaccount id the message's X-MSYS-SUBACCOUNT names; nullopt when the
// header is absent. Errors (for a 5xx reply): the header appears more than
// once, or its value is not a decimal id ("X-MSYS-SUBACCOUNT: expected a
// subaccount id (digits), got 'abc'").
Result<std::optional<std::int64_t>> subaccount_header(std::string_view message);

// `message` without its X-MSYS-SUBACCOUNT field(s) (folded lines included);
// every other byte unchanged.
std::string without_subaccount_header(std::string_view message);

}  // namespace trackrelay::rewrite
