// rewrite/coverage.h — which links a recipient's client would show, and why
// each one the engine did not track was left alone (issue 18).
//
// Owns the definition of a *candidate*: an http(s) link (an href-like
// attribute that the LinkScanner reports, or a URL that scan_text finds) in
// a text/html or text/plain part that is not an attachment — in the parts the
// engine rewrites and in those it leaves alone (unknown transfer encoding,
// charset, size, multipart/signed, message/rfc822, a message forwarded
// unchanged, ...). Not candidates: other schemes, anchors and relative links,
// http(s) links without a host (href="http://", an empty template slot: a
// browser cannot open it, so there is no click to measure),
// links already pointing at a tracking domain (already measured), and
// attachments (a file the sender attached: a client offers it for download,
// and tracking it would change the file).
//
// Opted-out links (data-msys-clicktrack="0", the text suffix, click or text
// tracking switched off by X-MSYS-API or tracking.defaults) are listed with
// the reason "opt-out ..." but are NOT candidates: the sender asked for them
// not to be measured, so they are not missed clicks.
//
// A message over rewrite.max_message_bytes is not looked into: its links are
// not counted (the log says why it was forwarded unchanged).
//
// The census functions here look only; they never change a byte.
//
// May call: mime/, conf/, base/, the rest of rewrite/.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"
#include "mime/structure.h"
#include "rewrite/link_scanner.h"

namespace trackrelay::rewrite {

struct UntrackedLink {
  std::string part;    // "1.2", "0" = the message itself
  std::string reason;  // "template placeholder", "part left alone: unknown transfer encoding x"
  std::string url;     // as written, at most 200 bytes
  bool opted_out = false;
};

// Is `href` (as the browser sees it) an http(s) link? WHATWG clean-up first
// (leading/trailing C0 and spaces, tab/newline anywhere), then the scheme.
bool is_http_link(std::string_view href);

// The candidate links of one decoded body, each marked with `reason` (and
// opt-outs marked as such). `html`: scanned with `scanner`; when the scanner
// refuses the part (too large, too complex), href attributes are found by a
// plain search instead, so the count stays honest.
std::vector<UntrackedLink> census_body(std::string_view body, bool html, const std::string& part,
                                       const std::string& reason, LinkScanner& scanner,
                                       const conf::Config& config);

// The candidate links in the parts of `structure` (an analysis of
// `message`), including inside skipped multipart/signed and message/rfc822
// parts (which are analysed on their own), all marked with `reason` +
// each part's own reason where it has one.
std::vector<UntrackedLink> census_message(std::string_view message,
                                          const mime::Structure& structure,
                                          const std::string& reason, LinkScanner& scanner,
                                          const conf::Config& config);

// The links inside the parts `structure` skipped (see census_message), each
// with the reason "part left alone: <why>".
std::vector<UntrackedLink> census_skipped(std::string_view message,
                                          const mime::Structure& structure, LinkScanner& scanner,
                                          const conf::Config& config);

}  // namespace trackrelay::rewrite
