// rewrite/engine.h — rewrite one message: the whole engine behind the relay
// and `trackrelay rewrite`.
//
// Owns: the order of operations for one message. mime/ says where the text
// leaves are; controls.h reads X-MSYS-API and friends; domain_choice.h picks
// the tracking domain; a LinkScanner and scan_text find links; target.h
// decides what is tracked; token/ signs; the result is spliced into the
// original bytes so that every byte outside rewritten leaf bodies is
// unchanged — except the removed control headers (X-MSYS-SUBACCOUNT is
// removed from every message, even one otherwise left alone), and the fields added at
// the end of the header block: Message-ID (when missing and tokens were
// issued) and X-Trackrelay-Rewritten (on every changed message).
//
// Failure policy: a malformed X-MSYS-API is the caller's input error (the
// only error returned). Anything the engine cannot do safely — an
// unparseable structure, a part over a limit, a parse that fails, output that
// would not re-parse — leaves that part or the whole message untouched and is
// reported in Outcome::log. A rewrite never makes a message worse. Mail the
// message's account does not send (tracking.senders: declared, see
// domain_choice.h) is forwarded byte-identical but for X-MSYS-SUBACCOUNT:
// its X-MSYS-API is neither read nor removed, no Message-ID is added.
//
// May call: mime/, token/, conf/, base/ and the rest of rewrite/.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "conf/config.h"
#include "rewrite/controls.h"
#include "rewrite/coverage.h"
#include "rewrite/domain_choice.h"
#include "rewrite/link_scanner.h"

namespace trackrelay::rewrite {

// Added to every message the engine changes; a message that already has it
// is forwarded unchanged (a second trackrelay in the same path, or a loop,
// must not track what the first left alone on purpose).
inline constexpr std::string_view kRewrittenHeader = "X-Trackrelay-Rewritten";

struct Envelope {
  std::string mail_from;  // without angle brackets; "" for the null sender
  std::vector<std::string> rcpt_to;
  // The account the message is sent for (0: the primary account): only its
  // domains apply, and its id goes into every token (rewrite/domain_choice.h).
  std::int64_t subaccount_id = 0;
  // The id trackrelay gives the relayed message (decimal digits, set once per
  // transaction by the relay; copies per recipient share it); goes into every
  // token and the Outcome. "": none (`trackrelay rewrite`).
  std::string transmission_id{};
};

struct Outcome {
  std::string message;   // what to forward (the input itself when unchanged)
  bool changed = false;  // message != input
  std::string sending_domain;
  TrackingChoice tracking;
  std::string message_id;  // without angle brackets
  bool message_id_added = false;
  std::string transmission_id;  // the envelope's
  std::string friendly_from;    // the From: header's address ("" when none)
  // Link coverage (coverage.h): links_candidates == links_tracked +
  // links_untracked. Opted-out links are not candidates; they are counted
  // apart and listed in untracked_links with opted_out set.
  int links_tracked = 0;
  int links_untracked = 0;  // candidates left alone (placeholder, too long, part skipped, ...)
  int links_candidates = 0;
  int links_opted_out = 0;
  std::vector<UntrackedLink> untracked_links;  // every one, with its part and reason
  int pixels_added = 0;
  MessageControls controls;
  std::vector<std::string> log;  // one human-readable line per notable decision
};

// `now_unix` is the issue time written into tokens (injectable for tests).
Result<Outcome> rewrite_message(std::string_view message, const Envelope& envelope,
                                const conf::Config& config, LinkScanner& scanner,
                                std::int64_t now_unix);

}  // namespace trackrelay::rewrite
