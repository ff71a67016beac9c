// rewrite/engine.cc — see engine.h.
#include "rewrite/engine.h"

#include <string.h>

#include <algorithm>
#include <optional>
#include <tuple>

#include "base/crypto.h"
#include "base/strings.h"
#include "mime/codec.h"
#include "mime/splice.h"
#include "mime/structure.h"
#include "rewrite/account.h"
#include "rewrite/part_rewriter.h"

namespace trackrelay::rewrite {
namespace {

// The id of a Message-ID field value: the first <...>, else the first word
// (comments and anything after the id are not part of it). Empty when none.
std::string message_id_of(std::string_view value) {
  auto lt = value.find('<');
  if (lt != std::string_view::npos) {
    auto gt = value.find('>', lt);
    if (gt != std::string_view::npos) return std::string(trim(value.substr(lt + 1, gt - lt - 1)));
  }
  value = trim(value);
  return std::string(value.substr(0, value.find_first_of(" \t(")));
}

// Why a decoded text part must be left alone although its headers looked
// fine: inline PGP (a signature over the text), or bytes that show it is not
// ASCII-compatible after all (a UTF-16/32 byte-order mark, NUL bytes).
std::optional<std::string> unsafe_text(std::string_view body) {
  if (body.starts_with("\xFF\xFE") || body.starts_with("\xFE\xFF") ||
      body.starts_with(std::string_view("\0\0\xFE\xFF", 4))) {
    return "a UTF-16/32 byte-order mark";
  }
  if (body.find('\0') != std::string_view::npos) return "NUL bytes (not an ASCII-compatible text)";
  // Both markers start with this; one memmem (glibc's two-way search) instead
  // of string_view::find's memchr for every '-' of the body (CSS has many).
  constexpr std::string_view kBegin = "-----BEGIN PGP ";
  for (std::size_t at = 0; at < body.size();) {
    const void* hit = memmem(body.data() + at, body.size() - at, kBegin.data(), kBegin.size());
    if (!hit) break;
    const std::string_view rest = body.substr(static_cast<const char*>(hit) - body.data());
    if (rest.starts_with("-----BEGIN PGP SIGNED MESSAGE-----") ||
        rest.starts_with("-----BEGIN PGP MESSAGE-----")) {
      return "inline PGP (rewriting would break it)";
    }
    at = body.size() - rest.size() + 1;
  }
  return std::nullopt;
}

// The same leaves and skipped parts, in the same places and encodings.
bool same_shape(const mime::Structure& a, const mime::Structure& b) {
  auto leaf = [](const mime::TextLeaf& l) {
    return std::tie(l.path, l.media_type, l.charset, l.encoding);
  };
  auto skip = [](const mime::SkippedPart& p) { return std::tie(p.path, p.media_type, p.reason); };
  return std::equal(a.leaves.begin(), a.leaves.end(), b.leaves.begin(), b.leaves.end(),
                    [&](const auto& x, const auto& y) { return leaf(x) == leaf(y); }) &&
         std::equal(a.skipped.begin(), a.skipped.end(), b.skipped.begin(), b.skipped.end(),
                    [&](const auto& x, const auto& y) { return skip(x) == skip(y); });
}

void add_links(Outcome& out, std::vector<UntrackedLink> links, const std::string& part = "") {
  for (UntrackedLink& l : links) {
    if (!part.empty()) l.part = part;
    out.untracked_links.push_back(std::move(l));
  }
}

// The counters follow from links_tracked and the list (engine.h).
Outcome finish(Outcome out) {
  out.links_opted_out =
      static_cast<int>(std::count_if(out.untracked_links.begin(), out.untracked_links.end(),
                                     [](const UntrackedLink& l) { return l.opted_out; }));
  out.links_untracked = static_cast<int>(out.untracked_links.size()) - out.links_opted_out;
  out.links_candidates = out.links_tracked + out.links_untracked;
  return out;
}

// `structure` (when the message could be analysed) is used to list the
// links that now stay untracked: every candidate, with `why`.
Outcome pass_through(std::string_view message, Outcome out, std::string why,
                     const mime::Structure* structure, LinkScanner& scanner,
                     const conf::Config& config) {
  out.message = without_subaccount_header(message);
  out.changed = out.message.size() != message.size();
  out.links_tracked = 0;
  out.pixels_added = 0;
  out.message_id_added = false;
  out.untracked_links.clear();
  std::optional<Result<mime::Structure>> own;
  if (!structure && message.size() <= config.rewrite.max_message_bytes) {
    // Our scanner alone: the cross-check may be what refused the message.
    own.emplace(mime::analyse(message, mime::CrossCheck::kSkip));
    if (own->ok()) structure = &**own;
  }
  if (structure) {
    add_links(out, census_message(message, *structure, "message forwarded unchanged: " + why,
                                  scanner, config));
  }
  out.log.push_back("message forwarded unchanged: " + why);
  return finish(std::move(out));
}

// The tracking switches of one message: the defaults, overridden by its controls.
struct Switches {
  bool click = false;
  bool open = false;
  bool initial = false;
  bool text = false;
};

Switches switches_of(const MessageControls& controls, const conf::TrackingDefaults& d) {
  Switches w;
  w.click = controls.click_tracking.value_or(d.click_tracking);
  w.open = controls.open_tracking.value_or(d.open_tracking);
  w.initial = w.open && controls.initial_open.value_or(d.initial_open);
  w.text = w.click && controls.text_tracking.value_or(d.text_tracking);
  return w;
}

// The per-message control headers: X-MSYS-API first, so that it wins over the
// others; every control header and X-MSYS-SUBACCOUNT is removed (patches).
// Sets *msgid_field to the first Message-ID.
Result<bool> read_controls(const mime::Structure& structure, Outcome& out,
                           std::vector<mime::Patch>& patches,
                           const mime::HeaderField** msgid_field) {
  int msys_count = 0;
  for (const auto& h : structure.headers) {
    if (iequals(h.name, "X-MSYS-API")) {
      if (++msys_count > 1) {
        return Error{"X-MSYS-API: the header appears more than once", Errc::kInvalid};
      }
      if (auto r = apply_msys_api(h.value, out.controls); !r) return r.failure();
    }
  }
  for (const auto& h : structure.headers) {
    if (is_control_header(h.name)) {
      apply_other_service_header(h.name, h.value, out.controls);
      patches.push_back(mime::Patch{h.offset, h.length, ""});
    } else if (iequals(h.name, kSubaccountHeader)) {
      patches.push_back(mime::Patch{h.offset, h.length, ""});
    } else if (iequals(h.name, "Message-ID") && !*msgid_field) {
      *msgid_field = &h;
    }
  }
  for (auto& n : out.controls.notes) out.log.push_back(n);
  return true;
}

// The message's Message-ID, or a new one (marked added).
void set_message_id(Outcome& out, const mime::HeaderField* msgid_field, const conf::Config& config,
                    std::int64_t now_unix) {
  if (msgid_field) out.message_id = message_id_of(msgid_field->value);
  if (!out.message_id.empty()) return;
  std::string host = out.sending_domain.empty() ? config.system_domain : out.sending_domain;
  out.message_id = std::to_string(now_unix) + "." + random_hex(12) + ".trackrelay@" + host;
  out.message_id_added = true;
}

// What every link and pixel of the message shares.
PartContext message_context(const Outcome& out, const Envelope& envelope,
                            const conf::Config& config, std::int64_t now_unix) {
  PartContext ctx;
  ctx.config = &config;
  ctx.key = token::Key{config.keys.front().id, config.keys.front().secret};
  ctx.claims.tracking_domain = out.tracking.domain;
  ctx.claims.message_id = out.message_id;
  if (envelope.rcpt_to.size() == 1) ctx.claims.rcpt_to = envelope.rcpt_to.front();
  ctx.claims.campaign_id = out.controls.campaign_id;
  ctx.claims.sending_domain = out.sending_domain;
  ctx.claims.issued_at = now_unix;
  ctx.claims.subaccount_id = envelope.subaccount_id;
  ctx.claims.transmission_id = envelope.transmission_id;
  ctx.origin = tracking_origin(out.tracking);
  return ctx;
}

// Everything rewrite_message needs while it walks the leaves.
struct LeafWalk {
  std::string_view message;
  const conf::Config& config;
  LinkScanner& scanner;
  Switches switches;
  std::string eol;
  PartContext ctx;
  bool pixel_done = false;
  TokenMemo memo;  // ctx.memo points here
};

// Rewrites one text leaf; a patch for it when it changed.
void rewrite_leaf(const mime::TextLeaf& leaf, LeafWalk& w, Outcome& out,
                  std::vector<mime::Patch>& patches) {
  const conf::Config& config = w.config;
  const bool html = leaf.media_type == "text/html";
  std::size_t limit =
      html ? config.rewrite.max_html_part_bytes : config.rewrite.max_text_part_bytes;
  std::string_view raw = w.message.substr(leaf.body_offset, leaf.body_length);
  const auto left_alone = [&](const std::string& why, std::string_view body) {
    out.log.push_back("part " + leaf.path + " left alone: " + why);
    add_links(out,
              census_body(body, html, leaf.path, "part left alone: " + why, w.scanner, config));
  };
  if (leaf.body_length > limit) {
    auto whole = mime::decode_body(raw, leaf.encoding);
    left_alone("larger than the configured limit", whole ? std::string_view(*whole) : raw);
    return;
  }
  // 7bit/8bit/binary bodies are read in place (decode_body would copy them).
  const bool identity = leaf.encoding != mime::TransferEncoding::kQuotedPrintable &&
                        leaf.encoding != mime::TransferEncoding::kBase64;
  auto owned =
      identity ? Result<std::string>(std::string()) : mime::decode_body(raw, leaf.encoding);
  if (!owned) {
    left_alone(owned.error(), raw);
    return;
  }
  const std::string_view decoded = identity ? raw : std::string_view(*owned);
  if (auto why = unsafe_text(decoded)) {
    left_alone(*why, decoded);
    return;
  }
  PartContext& ctx = w.ctx;
  ctx.eol = leaf.eol.empty() ? w.eol : leaf.eol;
  ctx.utf8 = leaf.charset == "utf-8" || leaf.charset == "utf8";
  ctx.identity_encoding = identity;
  PartResult pr;
  if (html) {
    ctx.track_links = w.switches.click;
    // One pixel pair per message: in the first HTML part, unless already there.
    bool pixels = !w.pixel_done && !has_tracking_pixel(decoded, config);
    ctx.open_pixel = w.switches.open && pixels;
    ctx.initial_open_pixel = w.switches.initial && pixels;
    w.pixel_done = true;
    pr = rewrite_html_part(decoded, ctx, w.scanner);
  } else {
    ctx.track_links = w.switches.text;
    pr = rewrite_text_part(decoded, ctx);
  }
  for (auto& line : pr.log) out.log.push_back("part " + leaf.path + ": " + line);
  add_links(out, std::move(pr.untracked), leaf.path);
  if (!pr.changed) return;
  out.links_tracked += pr.tracked;
  out.pixels_added += pr.pixels;
  patches.push_back(mime::Patch{
      leaf.body_offset, leaf.body_length,
      identity ? std::move(pr.body) : mime::encode_body(pr.body, leaf.encoding, ctx.eol, raw)});
}

// The fields added at the end of the header block (X-Trackrelay-Rewritten,
// a new Message-ID when tokens were issued), as one patch.
void add_header_fields(std::string_view message, const mime::Structure& structure,
                       const std::string& eol, const mime::HeaderField* msgid_field, Outcome& out,
                       std::vector<mime::Patch>& patches) {
  // A header block that does not end with a line break (no body at all) gets one first.
  std::string added;
  if (structure.headers_end == message.size() && !message.empty() && message.back() != '\n') {
    added = eol;
  }
  bool issued_tokens = out.links_tracked > 0 || out.pixels_added > 0;
  if (out.message_id_added && issued_tokens) {
    std::string field = "Message-ID: <" + out.message_id + ">" + eol;
    if (msgid_field) {  // present but empty: replace it rather than add a second one
      patches.push_back(mime::Patch{msgid_field->offset, msgid_field->length, std::move(field)});
    } else {
      added += field;
    }
    out.log.push_back("added Message-ID <" + out.message_id + ">");
  } else {
    out.message_id_added = false;
  }
  added += std::string(kRewrittenHeader) + ": " + out.tracking.domain + eol;
  patches.push_back(mime::Patch{structure.headers_end, 0, std::move(added)});
}

// The sending domain: the From: header's address, else the envelope sender.
void find_sending_domain(const mime::Structure& structure, const Envelope& envelope, Outcome& out) {
  const mime::HeaderField* from_field = nullptr;
  for (const auto& h : structure.headers) {
    if (iequals(h.name, "From") && !from_field) from_field = &h;
  }
  if (from_field) {
    out.friendly_from = from_address(from_field->value);
    out.sending_domain = address_domain(out.friendly_from);
  }
  if (out.sending_domain.empty()) {
    out.sending_domain = address_domain(envelope.mail_from);
    if (!out.sending_domain.empty()) out.log.push_back("sending domain from the envelope sender");
  }
}

}  // namespace

Result<Outcome> rewrite_message(std::string_view message, const Envelope& envelope,
                                const conf::Config& config, LinkScanner& scanner,
                                std::int64_t now_unix) {
  Outcome out;
  out.transmission_id = envelope.transmission_id;
  if (message.size() > config.rewrite.max_message_bytes) {
    return pass_through(message, std::move(out),
                        "larger than rewrite.max_message_bytes (" +
                            std::to_string(config.rewrite.max_message_bytes) + ")",
                        nullptr, scanner, config);
  }
  auto structure = mime::analyse(message);
  if (!structure) {
    return pass_through(message, std::move(out), structure.error(), nullptr, scanner, config);
  }
  for (const auto& h : structure->headers) {
    // Rewritten once already (a second filter in the same path, a loop):
    // a second pass would track what the first left alone on purpose.
    if (iequals(h.name, kRewrittenHeader)) {
      return pass_through(message, std::move(out), "already rewritten (" + h.name + ")",
                          &*structure, scanner, config);
    }
  }
  find_sending_domain(*structure, envelope, out);
  out.tracking = choose_tracking_domain(config, out.sending_domain, envelope.subaccount_id);
  if (out.tracking.reason == TrackingChoice::Reason::kNone) {
    std::string why = out.tracking.why;
    return pass_through(message, std::move(out), std::move(why), &*structure, scanner, config);
  }
  std::vector<mime::Patch> patches;
  const mime::HeaderField* msgid_field = nullptr;
  if (auto r = read_controls(*structure, out, patches, &msgid_field); !r) return r.failure();
  std::string eol = structure->eol.empty() ? "\r\n" : structure->eol;
  set_message_id(out, msgid_field, config, now_unix);

  for (const auto& s : structure->skipped) {
    out.log.push_back("part " + s.path + " (" + s.media_type + ") left alone: " + s.reason);
  }
  add_links(out, census_skipped(message, *structure, scanner, config));
  LeafWalk walk{message, config,
                scanner, switches_of(out.controls, config.defaults),
                eol,     message_context(out, envelope, config, now_unix),
                false,   {}};
  walk.ctx.memo = &walk.memo;
  for (const mime::TextLeaf& leaf : structure->leaves) rewrite_leaf(leaf, walk, out, patches);

  if (patches.empty()) {
    out.message_id_added = false;
    out.message = std::string(message);
    return finish(std::move(out));
  }
  add_header_fields(message, *structure, eol, msgid_field, out, patches);
  auto spliced = mime::splice(message, std::move(patches));
  if (!spliced) {
    return pass_through(message, std::move(out), "internal: " + spliced.error(), &*structure,
                        scanner, config);
  }
  // Never make a message worse: the output must parse into the same leaves.
  // Both parsers again (ours and mimetic's cross-check): on malformed input a
  // re-encoded body can change how a lenient parser splits the message even
  // when ours sees the same leaves (found by fuzzing); then the original goes.
  auto again = mime::analyse(*spliced);
  if (!again || !same_shape(*structure, *again)) {
    return pass_through(
        message, std::move(out),
        "rewritten message would not re-parse" + (again ? std::string{} : ": " + again.error()),
        &*structure, scanner, config);
  }
  out.message = std::move(*spliced);
  out.changed = true;
  return finish(std::move(out));
}

}  // namespace trackrelay::rewrite
