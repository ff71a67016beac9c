// rewrite/part_rewriter.cc — see part_rewriter.h.
#include "rewrite/part_rewriter.h"

#include <algorithm>
#include <optional>

#include "base/strings.h"
#include "mime/splice.h"
#include "rewrite/target.h"
#include "rewrite/text_scanner.h"

namespace trackrelay::rewrite {
namespace {

constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";

struct Candidate {
  // What dropping the candidate loses: a tracked link (it stays untracked), a
  // pixel (one fewer added), or an edit (a line break, an opt-out suffix).
  enum class Kind { kLink, kPixel, kEdit };

  Candidate(std::size_t offset, std::size_t length, std::string replacement,
            std::optional<std::size_t> break_at_, Kind kind_, std::string what_)
      : patch{offset, length, std::move(replacement)},
        break_at(break_at_),
        kind(kind_),
        is_link(kind_ == Kind::kLink),
        what(std::move(what_)) {}
  mime::Patch patch;
  std::optional<std::size_t> break_at;  // where an EOL may be inserted (HTML attribute start)
  Kind kind = Kind::kEdit;
  bool is_link = false;  // dropping it leaves a link untracked
  std::string what;      // for the log
};

void leave(PartResult& res, std::string reason, std::string_view url, bool opted_out = false) {
  res.untracked.push_back(
      UntrackedLink{"", std::move(reason), std::string(url.substr(0, 200)), opted_out});
}

// At most `max` bytes of `s`, never cutting a UTF-8 sequence in two.
std::string_view utf8_prefix(std::string_view s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xc0) == 0x80) --n;
  return s.substr(0, n);
}

std::string tracked_url(const PartContext& ctx, token::Kind kind, std::string_view target,
                        std::string_view link_name) {
  link_name = utf8_prefix(link_name, 63);
  std::string key;
  if (ctx.memo) {
    key.reserve(target.size() + link_name.size() + 2);
    key.push_back(static_cast<char>(kind));
    key.append(target).push_back('\0');
    key.append(link_name);
    if (auto it = ctx.memo->urls.find(key); it != ctx.memo->urls.end()) return it->second;
  }
  token::Claims c = ctx.claims;
  c.kind = kind;
  c.target = std::string(target);
  c.link_name = std::string(link_name);
  std::string url =
      ctx.origin + (kind == token::Kind::kClick ? "/f/" : "/q/") + token::encode(c, ctx.key);
  if (ctx.memo) ctx.memo->urls.emplace(std::move(key), url);
  return url;
}

// A token longer than verify() accepts: the link would break. (Possible with a
// long target or Message-ID, since rewrite.max_tracked_url_length may be
// configured above token::kMaxTokenLength.)
bool unverifiable(const PartContext& ctx, std::string_view tracked) {
  return tracked.size() > ctx.origin.size() + 3 + token::kMaxTokenLength;  // origin "/f/" token
}

bool too_long(const PartContext& ctx, std::string_view tracked) {
  return tracked.size() > ctx.config->rewrite.max_tracked_url_length || unverifiable(ctx, tracked);
}

// Empty when the pixel's token would not verify (a very long Message-ID).
std::string pixel_html(const PartContext& ctx, token::Kind kind) {
  const std::string url = tracked_url(ctx, kind, "", "");
  if (unverifiable(ctx, url)) return "";
  return "<img src=\"" + url +
         "\" width=\"1\" height=\"1\" alt=\"\" border=\"0\" style=\"height:1px !important;"
         "width:1px !important;border-width:0 !important;margin:0 !important;padding:0 "
         "!important\" />";
}

// Offsets of every line in `s` that is longer than kMaxLineOctets, as
// [begin, end) ranges excluding the line ending.
std::vector<std::pair<std::size_t, std::size_t>> long_lines(std::string_view s) {
  std::vector<std::pair<std::size_t, std::size_t>> out;
  std::size_t begin = 0;
  while (begin <= s.size()) {
    std::size_t nl = s.find('\n', begin);
    std::size_t end = nl == std::string_view::npos ? s.size() : nl;
    std::size_t content_end = (end > begin && s[end - 1] == '\r') ? end - 1 : end;
    if (content_end - begin > kMaxLineOctets) out.emplace_back(begin, content_end);
    if (nl == std::string_view::npos) break;
    begin = nl + 1;
  }
  return out;
}

// Splices the candidates (sorted by offset) into `src`, recording in
// *landed where each one's replacement landed in the output.
std::string splice(std::string_view src, const std::vector<Candidate>& cands,
                   std::vector<std::pair<std::size_t, std::size_t>>& landed) {
  std::string out;
  std::size_t size = src.size();
  for (const Candidate& c : cands) size += c.patch.replacement.size();
  out.reserve(size);
  landed.assign(cands.size(), {0, 0});
  std::size_t pos = 0;
  for (std::size_t i = 0; i < cands.size(); ++i) {
    const mime::Patch& p = cands[i].patch;
    out.append(src.substr(pos, p.offset - pos));
    landed[i] = {out.size(), out.size() + p.replacement.size()};
    out.append(p.replacement);
    pos = p.offset + p.length;
  }
  out.append(src.substr(pos));
  return out;
}

// Applies candidates; for identity encodings, keeps patched lines within the
// SMTP limit by inserting line breaks at break points or dropping links.
std::string apply(std::string_view src, std::vector<Candidate> cands, const PartContext& ctx,
                  PartResult& res) {
  std::sort(cands.begin(), cands.end(),
            [](const Candidate& a, const Candidate& b) { return a.patch.offset < b.patch.offset; });
  // Drops are one per long line for the first kGentleRounds rounds, then
  // every offender at once (bounded work on pathological parts).
  constexpr int kGentleRounds = 32;
  for (int round = 0; round < kGentleRounds + 8; ++round) {
    std::vector<std::pair<std::size_t, std::size_t>> landed;
    std::string out = splice(src, cands, landed);
    if (!ctx.identity_encoding) return out;
    auto longs = long_lines(out);
    if (longs.empty()) return out;
    std::vector<std::size_t> offenders;
    // The last offender on each long line: the one dropped when nothing can
    // be broken (one at a time, so that the others on the line stay tracked).
    std::vector<std::size_t> last_on_line(longs.size(), cands.size());
    for (std::size_t i = 0; i < cands.size(); ++i) {
      for (std::size_t j = 0; j < longs.size(); ++j) {
        const auto [b, e] = longs[j];
        // Exclusive: a pixel inserted as EOL + img + EOL next to a long line
        // does not make that line longer.
        if (landed[i].first < e && landed[i].second > b && !cands[i].patch.replacement.empty()) {
          offenders.push_back(i);
          last_on_line[j] = i;
          break;
        }
      }
    }
    if (offenders.empty()) return out;  // the line was already long in the original
    std::vector<Candidate> next;
    std::vector<bool> drop(cands.size(), false);
    // First break lines where we can; drop what cannot be broken only in a
    // round that could break nothing (a break may already fix the line).
    bool broke = false;
    for (std::size_t i : offenders) {
      Candidate& c = cands[i];
      if (c.break_at) {
        next.emplace_back(*c.break_at, 0, ctx.eol, std::nullopt, Candidate::Kind::kEdit,
                          "line break");
        c.break_at.reset();
        broke = true;
      }
    }
    for (std::size_t i : round < kGentleRounds ? last_on_line : offenders) {
      if (i == cands.size()) continue;
      Candidate& c = cands[i];
      if (!broke && !c.break_at) {
        drop[i] = true;
        if (c.is_link) {
          --res.tracked;
          leave(res, "line would exceed 998 octets", c.what);
        } else {
          res.log.push_back("not added: " + c.what + ": line would exceed 998 octets");
          if (c.kind == Candidate::Kind::kPixel) --res.pixels;
        }
      }
    }
    for (std::size_t i = 0; i < cands.size(); ++i) {
      if (!drop[i]) next.push_back(std::move(cands[i]));
    }
    // A break never lands inside a patch: attribute names precede their values.
    std::stable_sort(next.begin(), next.end(), [](const Candidate& a, const Candidate& b) {
      if (a.patch.offset != b.patch.offset) return a.patch.offset < b.patch.offset;
      return a.patch.length == 0 && b.patch.length != 0;
    });
    cands = std::move(next);
  }
  // Could not converge: keep the part as it was.
  res.log.push_back("part left untouched: could not keep lines within 998 octets");
  for (const Candidate& c : cands) {
    if (c.is_link) leave(res, "part left alone: could not keep lines within 998 octets", c.what);
  }
  res.tracked = 0;
  res.pixels = 0;
  return std::string(src);
}

// Appending at the end of a document without </body> is safe only when it
// ends in plain text: inside an unterminated tag, attribute value, comment or
// raw text the pixel would be swallowed — or would close a quote and turn an
// earlier, unterminated href into a link (found by fuzzing). Probe: the same
// document with an <a> appended must scan as the same links plus that one,
// exactly where it was put.
bool ends_in_text(std::string_view html, const HtmlScan& scan, LinkScanner& scanner) {
  constexpr std::string_view kProbeUrl = "https://eof-probe.invalid/";
  std::string probe(html);
  probe += "<a href=\"";
  const std::size_t value_at = probe.size();
  probe += kProbeUrl;
  probe += "\"></a>";
  auto r = scanner.scan(probe);
  if (!r || r->links.size() != scan.links.size() + 1) return false;
  const HtmlLink& last = r->links.back();
  return last.value_offset == value_at && last.value == kProbeUrl;
}

// Does `before` end with a non-empty `host`?
bool is_host_end(std::string_view before, std::string_view host) {
  return !host.empty() && before.ends_with(host);
}

}  // namespace

bool has_tracking_pixel(std::string_view body, const conf::Config& config) {
  // Does some "HOST/q/" occur, for a configured HOST (or HOST:PORT)? One
  // pass over the body for "/q/" (rare), then the hosts at each hit.
  const auto ends_with_host = [&](std::string_view before) {
    if (is_host_end(before, config.system_domain)) return true;
    for (const auto& t : config.tracking_domains) {
      if (is_host_end(before, t.domain)) return true;
      const std::string port = t.port ? ":" + std::to_string(*t.port) : std::string();
      if (t.port && before.ends_with(port) &&
          is_host_end(before.substr(0, before.size() - port.size()), t.domain)) {
        return true;
      }
    }
    return false;
  };
  for (std::size_t at = body.find("/q/"); at != std::string_view::npos;
       at = body.find("/q/", at + 1)) {
    if (ends_with_host(body.substr(0, at))) return true;
  }
  return false;
}

PartResult rewrite_html_part(std::string_view html, const PartContext& ctx, LinkScanner& scanner) {
  PartResult res;
  auto scan = scanner.scan(html);
  if (!scan) {
    res.log.push_back("HTML part left untouched: " + scan.error());
    res.untracked =
        census_body(html, true, "", "part left alone: " + scan.error(), scanner, *ctx.config);
    return res;
  }
  std::vector<Candidate> cands;
  for (const HtmlLink& link : scan->links) {
    if (!is_http_link(link.value) || is_tracked_url(trim(link.value), *ctx.config)) continue;
    if (link.clicktrack_off) {
      leave(res, "opt-out (data-msys-clicktrack=\"0\")", link.value, true);
      continue;
    }
    if (!ctx.track_links) {
      leave(res, "opt-out (click tracking off)", link.value, true);
      continue;
    }
    auto target = browser_target(link.value, ctx.utf8, *ctx.config);
    if (!target) {
      leave(res, target.error(), link.value);
      continue;
    }
    // gumbo replaces invalid bytes with U+FFFD: then its value is not what is written.
    std::string_view raw = html.substr(link.value_offset, link.value_length);
    if (link.value.find(kReplacementChar) != std::string::npos &&
        raw.find(kReplacementChar) == std::string_view::npos) {
      leave(res, "link contains bytes that are not valid in its charset", link.value);
      continue;
    }
    std::string url = tracked_url(ctx, token::Kind::kClick, *target, link.link_name);
    if (too_long(ctx, url)) {
      leave(res, "tracked URL would be " + std::to_string(url.size()) + " characters", *target);
      continue;
    }
    ++res.tracked;
    cands.emplace_back(link.value_offset, link.value_length, std::move(url), link.attr_offset,
                       Candidate::Kind::kLink, *target);
  }
  std::string initial_px =
      ctx.initial_open_pixel ? pixel_html(ctx, token::Kind::kInitialOpen) : std::string();
  std::string open_px = ctx.open_pixel ? pixel_html(ctx, token::Kind::kOpen) : std::string();
  if ((ctx.initial_open_pixel && initial_px.empty()) || (ctx.open_pixel && open_px.empty())) {
    res.log.push_back("pixels not added: their tokens would be too long to verify");
  }
  if (!initial_px.empty() && scan->body_start_end) {
    ++res.pixels;
    cands.emplace_back(*scan->body_start_end, 0, ctx.eol + initial_px + ctx.eol, std::nullopt,
                       Candidate::Kind::kPixel, "initial_open pixel");
  }
  if (!open_px.empty() && !scan->body_end_start && !ends_in_text(html, *scan, scanner)) {
    res.log.push_back(
        "open pixel not added: the HTML ends inside a tag, attribute, comment or raw text");
    open_px.clear();
  }
  if (!open_px.empty()) {
    ++res.pixels;
    std::size_t at = scan->body_end_start.value_or(html.size());
    std::string px = std::move(open_px);
    std::string ins = scan->body_end_start ? px + ctx.eol : ctx.eol + px + ctx.eol;
    if (!scan->body_end_start && (html.ends_with("\n"))) ins = px + ctx.eol;
    cands.emplace_back(at, 0, std::move(ins), std::nullopt, Candidate::Kind::kPixel, "open pixel");
  }
  if (cands.empty()) return res;
  res.body = apply(html, std::move(cands), ctx, res);
  res.changed = res.body != html;
  return res;
}

PartResult rewrite_text_part(std::string_view text, const PartContext& ctx) {
  PartResult res;
  std::vector<Candidate> cands;
  for (const TextLink& link : scan_text(text)) {
    std::string_view url = text.substr(link.offset, link.length);
    if (is_tracked_url(url, *ctx.config)) continue;
    if (link.clicktrack_off) {
      leave(res, "opt-out ([[data-msys-clicktrack=\"0\"]])", url, true);
      cands.emplace_back(link.offset + link.length, link.suffix_length, "", std::nullopt,
                         Candidate::Kind::kEdit, "opt-out suffix");
      continue;
    }
    if (!ctx.track_links) {
      leave(res, "opt-out (click or text tracking off)", url, true);
      continue;
    }
    auto target = browser_target(url, ctx.utf8, *ctx.config);
    if (!target) {
      leave(res, target.error(), url);
      continue;
    }
    std::string tracked = tracked_url(ctx, token::Kind::kClick, *target, "");
    if (too_long(ctx, tracked)) {
      leave(res, "tracked URL would be " + std::to_string(tracked.size()) + " characters", url);
      continue;
    }
    ++res.tracked;
    cands.emplace_back(link.offset, link.length, std::move(tracked), std::nullopt,
                       Candidate::Kind::kLink, *target);
  }
  if (cands.empty()) return res;
  res.body = apply(text, std::move(cands), ctx, res);
  res.changed = res.body != text;
  return res;
}

}  // namespace trackrelay::rewrite
