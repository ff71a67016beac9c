// rewrite/part_rewriter.h — rewrite one decoded text/html or text/plain body.
//
// Owns: turning scanned links into patches on a decoded leaf body (tracked
// URL in place of the link, pixels, removal of the text opt-out suffix) and
// keeping lines <= 998 octets when the part is sent without a transfer
// encoding (7bit/8bit/binary): a long line is first broken inside the tag,
// before the href attribute, and a link that still cannot fit stays
// untracked. Internal to rewrite/; the engine calls it once per leaf.
//
// May call: mime/ (splice), token/, conf/, the rest of rewrite/.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "conf/config.h"
#include "rewrite/coverage.h"
#include "rewrite/link_scanner.h"
#include "token/token.h"

namespace trackrelay::rewrite {

// The tracked URLs already made for one message, by kind, target and link
// name: a token is a function of its claims, and the message-level claims
// are the same for every part, so a repeated link reuses its URL.
struct TokenMemo {
  std::unordered_map<std::string, std::string> urls;
};

struct PartContext {
  const conf::Config* config = nullptr;
  token::Key key;                  // the signing key
  token::Claims claims;            // message-level fields; kind/target/link_name set per link
  std::string origin;              // "https://click.example.com"
  std::string eol = "\r\n";        // line ending of the part
  bool utf8 = false;               // the part's charset is UTF-8
  bool identity_encoding = false;  // 7bit/8bit/binary: lines must stay <= 998
  bool track_links = true;
  bool open_pixel = false;
  bool initial_open_pixel = false;
  TokenMemo* memo = nullptr;  // the message's, when set (never shared between messages)
};

struct PartResult {
  std::string body;  // the new decoded body (valid only when changed)
  bool changed = false;
  int tracked = 0;
  // Candidate links left untracked, and opted-out links (coverage.h); `part`
  // is left empty for the engine to fill in.
  std::vector<UntrackedLink> untracked;
  int pixels = 0;
  std::vector<std::string> log;
};

PartResult rewrite_html_part(std::string_view html, const PartContext& ctx, LinkScanner& scanner);
PartResult rewrite_text_part(std::string_view text, const PartContext& ctx);

// True when `body` already carries an open pixel of a configured tracking
// domain (so a second pass adds none).
bool has_tracking_pixel(std::string_view body, const conf::Config& config);

inline constexpr std::size_t kMaxLineOctets = 998;

}  // namespace trackrelay::rewrite
