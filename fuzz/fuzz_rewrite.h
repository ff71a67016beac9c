// fuzz/fuzz_rewrite.h — fuzz target body for the whole-message rewrite
// (rewrite/engine.h rewrite_message: MIME, controls, HTML, text, tokens,
// re-encoding, splicing).
//
// Input: a raw RFC 5322 message. Fixed: the configuration below (two
// tracking domains, one sending domain, key k1, the largest allowed tracked
// URL length), the envelope and the clock.
//
// Invariants:
//  * only a malformed X-MSYS-API is an error; `changed` is exactly
//    "output != input";
//  * a changed output analyses (mime::analyse) to the same leaves, and every
//    byte outside the leaf bodies is unchanged, except that control headers
//    (X-MSYS-API, X-Mailgun-Track*, X-PM-Track*) are removed, the
//    X-Trackrelay-Rewritten field is added, and a Message-ID field is added
//    (or fills an empty one) when Outcome says so;
//  * every tracking URL that appears in a rewritten leaf (decoded) and not in
//    the original verifies for the chosen tracking domain and carries the
//    message id; tracked links and pixels added mean new tokens;
//  * rewriting the output again changes nothing; with its
//    X-Trackrelay-Rewritten field removed, it tracks nothing more (when the
//    input had no control headers and no text opt-out suffixes, which the
//    first pass consumes).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/strings.h"
#include "conf/config.h"
#include "fuzz/fuzz_common.h"
#include "fuzz/message_checks.h"
#include "mime/codec.h"
#include "mime/structure.h"
#include "rewrite/controls.h"
#include "rewrite/domain_choice.h"
#include "rewrite/engine.h"
#include "rewrite/link_scanner.h"
#include "rewrite/text_scanner.h"
#include "token/token.h"

namespace trackrelay::fuzz {
namespace rewrite_detail {

inline constexpr std::int64_t kNow = 1700000000;

inline constexpr char kConfigYaml[] = R"(
tracking:
  system_domain: track.example.net
  senders: any  # every input is rewritten, whatever its From: domain
  keys:
    - {id: k1, secret: "fuzz-secret-0123456789abcdef0123456789abcdef"}
  tracking_domains:
    - {domain: click.example.com, secure: true, default: true}
    - {domain: links.example.org, port: 8080}
  sending_domains:
    - {domain: example.org, tracking_domain: links.example.org}
rewrite:
  max_tracked_url_length: 65536  # the largest allowed: no token it lets through may break
)";

// Loaded once and never modified: immutable, so not mutable global state.
inline const conf::Config& config() {
  static const std::shared_ptr<const conf::Config> kConfig = [] {
    conf::LoadResult r = conf::load_string(kConfigYaml, "<fuzz>");
    if (!r.ok()) {
      for (const conf::Diagnostic& d : r.diagnostics) std::fprintf(stderr, "%s\n", d.str().c_str());
      std::abort();
    }
    return r.config;
  }();
  return *kConfig;
}

inline Result<rewrite::Outcome> run(std::string_view message) {
  const std::unique_ptr<rewrite::LinkScanner> scanner = rewrite::make_scanner(config().rewrite);
  const rewrite::Envelope envelope{"sender@example.com", {"rcpt@example.net"}};
  return rewrite::rewrite_message(message, envelope, config(), *scanner, kNow);
}

constexpr bool is_token_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

// Every token after `origin` + "/f/" or "/q/" in `text`, with its kind letter.
inline std::vector<std::pair<char, std::string>> tokens_in(std::string_view text,
                                                           const std::string& origin) {
  std::vector<std::pair<char, std::string>> out;
  for (std::size_t at = text.find(origin); at != std::string_view::npos;
       at = text.find(origin, at + 1)) {
    const std::string_view rest = text.substr(at + origin.size());
    if (rest.size() < 3 || rest[0] != '/' || (rest[1] != 'f' && rest[1] != 'q') || rest[2] != '/') {
      continue;
    }
    std::size_t n = 3;
    while (n < rest.size() && is_token_char(rest[n])) ++n;
    out.emplace_back(rest[1], std::string(rest.substr(3, n - 3)));
  }
  return out;
}

// The first gap (header block up to the first leaf) with control header fields removed.
inline std::string without_control_headers(std::string_view gap, const mime::Structure& s) {
  std::string out;
  std::size_t pos = 0;
  for (const mime::HeaderField& h : s.headers) {
    if (!rewrite::is_control_header(h.name)) continue;
    out.append(gap.substr(pos, h.offset - pos));
    pos = h.offset + h.length;
  }
  out.append(gap.substr(pos));
  return out;
}

// True when a text/plain leaf has a URL opted out with [[data-msys-clicktrack="0"]]:
// the first pass removes that suffix (by design), so a second pass tracks the URL.
inline bool has_text_opt_out(std::string_view message, const mime::Structure& s) {
  for (const mime::TextLeaf& leaf : s.leaves) {
    if (leaf.media_type != "text/plain") continue;
    const Result<std::string> text =
        mime::decode_body(message.substr(leaf.body_offset, leaf.body_length), leaf.encoding);
    if (!text.ok()) continue;
    for (const rewrite::TextLink& link : rewrite::scan_text(*text)) {
      if (link.clicktrack_off) return true;
    }
  }
  return false;
}

// Removes header fields (offsets within `gap`, which starts at offset 0) from `gap`.
inline void erase_fields(std::string& gap, std::vector<const mime::HeaderField*> fields) {
  std::sort(fields.begin(), fields.end(),
            [](const auto* a, const auto* b) { return a->offset > b->offset; });
  for (const mime::HeaderField* f : fields) gap.erase(f->offset, f->length);
}

inline bool has_control_header(const mime::Structure& s) {
  for (const mime::HeaderField& h : s.headers) {
    if (rewrite::is_control_header(h.name)) return true;
  }
  return false;
}

}  // namespace rewrite_detail

inline int check_rewrite(const std::uint8_t* data, std::size_t size) {
  using namespace rewrite_detail;
  const std::string_view message = as_view(data, size);
  const Result<rewrite::Outcome> first = run(message);
  if (!first.ok()) {
    FUZZ_CHECK(first.code() == Errc::kInvalid, "unexpected error: " + first.error());
    return 0;
  }
  const rewrite::Outcome& out = *first;
  FUZZ_CHECK(out.changed == (out.message != message), "`changed` does not match the output");
  if (!out.changed) return 0;

  const auto context = [&] {
    return "input " + escaped(message, 1500) + "; output " + escaped(out.message, 1500);
  };
  const Result<mime::Structure> before = mime::analyse(message);
  FUZZ_CHECK(before.ok(), "a message analyse() refuses was changed; " + context());
  const Result<mime::Structure> after = mime::analyse(out.message);
  FUZZ_CHECK(after.ok(), "the output does not re-parse: " +
                             (after.ok() ? std::string() : after.error()) + "; " + context());
  check_structure_shape(out.message, *after);
  check_same_outside_leaves(message, *before, out.message, *after, context);

  // Gap 0: control headers removed; X-Trackrelay-Rewritten (and a Message-ID,
  // new or replacing an empty one) added; nothing else.
  std::string expected(gaps_between_leaves(message, *before)[0]);
  std::vector<const mime::HeaderField*> removed;
  bool empty_id_replaced = false;
  for (const mime::HeaderField& h : before->headers) {
    if (rewrite::is_control_header(h.name)) removed.push_back(&h);
    if (out.message_id_added && !empty_id_replaced && iequals(h.name, "Message-ID")) {
      removed.push_back(&h);  // the engine reads the first; it was empty
      empty_id_replaced = true;
    }
  }
  erase_fields(expected, removed);
  std::string got(gaps_between_leaves(out.message, *after)[0]);
  std::vector<const mime::HeaderField*> added;
  const mime::HeaderField* marker = nullptr;
  const mime::HeaderField* new_id = nullptr;
  for (const mime::HeaderField& h : after->headers) {
    if (h.name == rewrite::kRewrittenHeader && h.value == out.tracking.domain) marker = &h;
    if (out.message_id_added && h.name == "Message-ID" && h.value == "<" + out.message_id + ">") {
      new_id = &h;
    }
  }
  FUZZ_CHECK(marker != nullptr, "no X-Trackrelay-Rewritten field in the output; " + context());
  added.push_back(marker);
  if (out.message_id_added) {
    FUZZ_CHECK(new_id != nullptr, "the added Message-ID is not a header field; " + context());
    added.push_back(new_id);
  }
  erase_fields(got, added);
  FUZZ_CHECK(
      got == expected || separator_added(expected, got, *before, 0),
      "header block changed beyond controls and added fields: " + first_difference(expected, got));

  // New tokens in rewritten leaves verify for the chosen tracking domain.
  const std::string origin = rewrite::tracking_origin(out.tracking);
  std::vector<token::Key> keys;
  for (const conf::SigningKey& k : config().keys) keys.push_back({k.id, k.secret});
  int new_clicks = 0;
  int new_pixels = 0;
  for (std::size_t i = 0; i < before->leaves.size(); ++i) {
    const mime::TextLeaf& lb = before->leaves[i];
    const mime::TextLeaf& la = after->leaves[i];
    const std::string_view raw_b = message.substr(lb.body_offset, lb.body_length);
    const std::string_view raw_a =
        std::string_view(out.message).substr(la.body_offset, la.body_length);
    if (raw_a == raw_b) continue;
    const Result<std::string> db = mime::decode_body(raw_b, lb.encoding);
    const Result<std::string> da = mime::decode_body(raw_a, la.encoding);
    FUZZ_CHECK(db.ok() && da.ok(), "a rewritten leaf does not decode; " + context());
    for (const auto& [kind, tok] : tokens_in(*da, origin)) {
      if (db->find(origin + "/" + kind + "/" + tok) != std::string::npos) continue;
      const Result<token::Claims> claims = token::verify(tok, keys, out.tracking.domain);
      FUZZ_CHECK(claims.ok(), "an issued token does not verify: " +
                                  (claims.ok() ? std::string() : claims.error()) + ": " + tok +
                                  "; " + context());
      FUZZ_CHECK(claims->message_id == out.message_id, "token without the message id");
      FUZZ_CHECK((kind == 'f') == (claims->kind == token::Kind::kClick),
                 "token kind does not match its path");
      (kind == 'f' ? new_clicks : new_pixels)++;
    }
  }
  FUZZ_CHECK(out.links_tracked == 0 || new_clicks > 0, "links tracked without new tokens");
  FUZZ_CHECK(out.pixels_added == 0 || new_pixels > 0, "pixels added without new tokens");

  // Idempotence: the marker makes a second pass a no-op; without the marker
  // the links are already tracked and the pixels there, so it still is (unless
  // the first pass consumed per-message controls or text opt-out suffixes).
  const Result<rewrite::Outcome> second = run(out.message);
  FUZZ_CHECK(second.ok() && !second->changed, "a rewritten message is rewritten again");
  if (!has_control_header(*before) && !has_text_opt_out(message, *before)) {
    std::string unmarked = out.message;
    unmarked.erase(marker->offset, marker->length);
    const Result<rewrite::Outcome> again = run(unmarked);
    FUZZ_CHECK(again.ok(),
               "rewriting the output fails: " + (again.ok() ? std::string() : again.error()));
    FUZZ_CHECK(!again->changed || again->links_tracked + again->pixels_added == 0,
               "rewriting the output (without its marker) tracks more: " + context() + "; again " +
                   escaped(again->message, 1500));
  }
  return 0;
}

}  // namespace trackrelay::fuzz
