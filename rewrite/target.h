// rewrite/target.h — which links are tracked, and the exact target a click
// redirects to.
//
// Owns: turning an href (as the browser sees it: character references already
// decoded) or a URL found in text into the URL a browser would follow, per the
// WHATWG URL parser's input clean-up: leading/trailing C0 controls and spaces
// stripped, ASCII tab and newline removed. Non-ASCII hosts are converted to
// their A-label form and non-ASCII bytes, spaces, '"', '<', '>' and '`' in the
// rest of the URL are percent-encoded (as a browser does), so the stored
// target is ASCII and the redirect reaches the same resource.
//
// Tracked: http:// and https:// URLs with a plausible host. Not tracked, with
// the reason: other schemes (mailto:, tel:, sms:, cid:, data:, javascript:),
// anchors and relative URLs, template placeholders anywhere in the link
// ({{url}}, https://x.example/?u={{id}}, *|UNSUB|*, <%...%>: a template that
// was not merged yet must not be frozen into a signed target), links already
// pointing at a configured tracking domain's /f/ or /q/ (so rewriting twice is
// a no-op), and non-ASCII URLs in parts whose charset is not UTF-8 (the
// browser's encoding of their query depends on the document charset).
//
// May call: conf/, base/.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"
#include "conf/config.h"

namespace trackrelay::rewrite {

// Ok: the target to put in the token. Error: why the link stays untracked.
Result<std::string> browser_target(std::string_view href, bool utf8, const conf::Config& config);

// True when `url` points at /f/ or /q/ of the system or a configured tracking
// domain.
bool is_tracked_url(std::string_view url, const conf::Config& config);

}  // namespace trackrelay::rewrite
