// mime/structure.cc — the line-oriented scanner behind analyse() (see
// structure.h for why this is not mimetic's parser).
//
// Owns: splitting the original bytes into header blocks and multipart parts
// with exact offsets. What an entity *is* (enter, rewrite, leave alone) is
// decided by internal::classify() (entity_type.cc); the independent mimetic
// parse we compare against lives in mimetic_check.cc.
//
// Rules, in the order a reader of the code meets them:
//  * A line ends at LF, with an optional CR before it; a bare CR is data.
//  * An mbox "From " line at offset 0 is not a header field; the header block
//    starts after it (it is never emitted differently: we only splice bodies).
//  * A header block is field lines ("name:" where name is printable ASCII
//    without ':' or space) and their continuation lines, up to a blank line,
//    or up to the end of the entity. Any other line ends it early and marks it
//    malformed (as Python's email package and mimetic both do): the whole
//    message is refused when that happens at the top level, a text part with
//    a malformed header is left alone.
//  * A delimiter line is "--" boundary at the start of a line, optionally
//    "--" (close), optional space/tab, then EOL or end of input. Exact match:
//    "--boundaryX" is not a delimiter. The EOL before a delimiter line belongs
//    to the delimiter, so a part never includes it.
//  * Parts are cut top-down: an enclosing multipart's delimiter lines split
//    the message first, so an inner part can never run past them.
//  * Preamble and epilogue are ignored (never rewritten).
#include "mime/structure.h"

#include <string>
#include <string_view>
#include <vector>

#include "mime/entity_type.h"
#include "mime/mimetic_check.h"
#include "mime/splice.h"

namespace trackrelay::mime {
namespace {

using internal::EntityFields;
using internal::EntityKind;
using internal::EntityType;

constexpr int kMaxDepth = 50;
constexpr std::string_view kMessagePath = "0";  // the message itself, in logs

struct Line {
  std::size_t begin = 0;
  std::size_t end = 0;   // excludes the EOL
  std::size_t next = 0;  // first byte after the EOL (== end when there is none)
};

Line line_at(std::string_view m, std::size_t pos, std::size_t limit) {
  const std::size_t nl = m.substr(0, limit).find('\n', pos);
  if (nl == std::string_view::npos) return {pos, limit, limit};
  const std::size_t end = (nl > pos && m[nl - 1] == '\r') ? nl - 1 : nl;
  return {pos, end, nl + 1};
}

struct HeaderBlock {
  std::vector<HeaderField> fields;
  std::size_t end = 0;         // offset of the blank line (or where the body starts)
  std::size_t body_begin = 0;  // after the blank line
  bool malformed = false;
  std::string eol;  // of the entity's first line; "" when it has none
};

bool is_field_name_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u >= 33 && u <= 126 && c != ':';
}

HeaderBlock parse_header_block(std::string_view m, std::size_t begin, std::size_t limit) {
  HeaderBlock hb;
  hb.end = limit;  // no blank line: the block runs to the end of the entity
  hb.body_begin = limit;
  const auto malformed_at = [&hb](std::size_t pos) {
    hb.end = pos;
    hb.body_begin = pos;
    hb.malformed = true;
  };
  for (std::size_t pos = begin; pos < limit;) {
    const Line l = line_at(m, pos, limit);
    if (pos == begin) hb.eol = std::string(m.substr(l.end, l.next - l.end));
    if (l.begin == l.end) {  // blank line (it has an EOL, since pos < limit)
      hb.end = pos;
      hb.body_begin = l.next;
      break;
    }
    if (m[pos] == ' ' || m[pos] == '\t') {
      if (hb.fields.empty()) {
        malformed_at(pos);
        break;
      }
      HeaderField& f = hb.fields.back();
      f.value.append(m.substr(l.begin, l.end - l.begin));  // unfold: drop the EOL only
      f.length = l.next - f.offset;
    } else {
      std::size_t colon = l.begin;
      while (colon < l.end && is_field_name_char(m[colon])) ++colon;
      if (colon == l.begin || colon == l.end || m[colon] != ':') {
        malformed_at(pos);
        break;
      }
      HeaderField f;
      f.name = std::string(m.substr(l.begin, colon - l.begin));
      f.value = std::string(m.substr(colon + 1, l.end - colon - 1));
      f.offset = l.begin;
      f.length = l.next - l.begin;
      hb.fields.push_back(std::move(f));
    }
    pos = l.next;
  }
  for (HeaderField& f : hb.fields) {
    const std::size_t first = f.value.find_first_not_of(" \t");
    f.value.erase(0, first == std::string::npos ? f.value.size() : first);
  }
  return hb;
}

std::string normalised(std::string_view v) {
  const std::size_t b = v.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  const std::size_t e = v.find_last_not_of(" \t\r\n");
  return to_lower(v.substr(b, e - b + 1));
}

// The first Content-Type / -Transfer-Encoding / -Disposition of an entity.
// Readers disagree on whether the first or the last of two conflicting
// Content-Type or Content-Transfer-Encoding fields wins, so that is an error.
Result<EntityFields> entity_fields(const std::vector<HeaderField>& fields) {
  EntityFields out;
  for (const HeaderField& f : fields) {
    const std::string name = to_lower(f.name);
    std::optional<std::string>* slot = nullptr;
    if (name == "content-type") {
      slot = &out.content_type;
    } else if (name == "content-transfer-encoding") {
      slot = &out.transfer_encoding;
    } else if (name == "content-disposition") {
      slot = &out.disposition;
    } else {
      continue;
    }
    if (!*slot) {
      *slot = f.value;
    } else if (slot != &out.disposition && normalised(**slot) != normalised(f.value)) {
      return Error{"conflicting " + f.name + " fields at offset " + std::to_string(f.offset)};
    }
  }
  return out;
}

// Is `line` (without its EOL) a delimiter line for `dash_boundary` ("--b")?
bool is_delimiter(std::string_view line, std::string_view dash_boundary, bool& close) {
  if (!line.starts_with(dash_boundary)) return false;
  std::string_view rest = line.substr(dash_boundary.size());
  close = rest.starts_with("--");
  if (close) rest.remove_prefix(2);
  return rest.find_first_not_of(" \t") == std::string_view::npos;
}

class Walker {
 public:
  Walker(std::string_view m, Structure& out, std::vector<std::string>& shape)
      : m_(m), out_(out), shape_(shape) {}

  // Edits that turn the message into what mimetic is shown (see hide_body).
  std::vector<Patch>& mimetic_view() { return mimetic_view_; }

  // The entity [begin, limit) whose header block is `hb`: handled (recorded,
  // skipped or ignored), or an error.
  Result<void> entity(const HeaderBlock& hb, std::size_t limit, const std::string& path,
                      bool in_digest, int depth, const std::string& parent_eol) {
    const std::string shown = path.empty() ? std::string(kMessagePath) : path;
    Result<EntityFields> fields = entity_fields(hb.fields);
    if (!fields.ok()) return Error{"part " + shown + ": " + fields.error()};
    const EntityType t = internal::classify(*fields, in_digest);
    shape_.push_back(path + " " + t.media_type);
    const std::string eol = hb.eol.empty() ? parent_eol : hb.eol;
    switch (t.kind) {
      case EntityKind::kError:
        return Error{"part " + shown + ": " + t.error};
      case EntityKind::kSkipped:
        out_.skipped.push_back(skipped_part(shown, t, t.skip_reason, hb, limit));
        hide_body(t, hb.body_begin, limit);
        return {};
      case EntityKind::kOther:
        return {};
      case EntityKind::kText:
        if (hb.malformed) {
          out_.skipped.push_back(skipped_part(shown, t, "malformed header block", hb, limit));
          return {};
        }
        out_.leaves.push_back({t.media_type, t.charset, t.encoding, hb.body_begin,
                               limit - hb.body_begin, body_eol(hb.body_begin, limit, eol), shown});
        return {};
      case EntityKind::kMultipart:
        if (hb.malformed) return Error{"part " + shown + ": malformed header block in a multipart"};
        if (depth >= kMaxDepth) {
          return Error{"part " + shown + ": multipart nesting deeper than " +
                       std::to_string(kMaxDepth)};
        }
        return multipart(t, hb.body_begin, limit, path, shown, depth, eol);
    }
    return {};
  }

 private:
  static SkippedPart skipped_part(const std::string& shown, const EntityType& t, std::string why,
                                  const HeaderBlock& hb, std::size_t limit) {
    SkippedPart p;
    p.path = shown;
    p.media_type = t.media_type;
    p.reason = std::move(why);
    p.attachment = t.attachment;
    p.charset = t.charset;
    p.boundary = t.boundary;
    p.encoding = t.encoding;
    p.body_offset = hb.body_begin;
    p.body_length = limit - hb.body_begin;
    return p;
  }

  // mimetic recurses into message/rfc822 and multipart bodies that we do not
  // enter, and one unclosed multipart in there (a truncated message in a
  // bounce, say) makes it drop every later part of the enclosing multipart
  // (its HigherLevelBoundary handling returns from both levels). What such a
  // body contains does not matter to us, except lines that a prefix-matching
  // reader would take for an enclosing delimiter ("--outer" followed by
  // anything): only those are kept, so that ambiguity is still caught.
  void hide_body(const EntityType& t, std::size_t begin, std::size_t limit) {
    const bool multipart = t.media_type.starts_with("multipart/");
    if (!multipart && t.media_type != "message/rfc822") return;
    std::string kept = "\n";  // an empty header block for the nested entity
    for (std::size_t pos = begin; pos < limit;) {
      const Line l = line_at(m_, pos, limit);
      const std::string_view line = m_.substr(l.begin, l.end - l.begin);
      for (const std::string& b : enclosing_) {
        if (line.starts_with("--") && line.substr(2).starts_with(b)) {
          kept.append(line);
          kept.push_back('\n');
          break;
        }
      }
      pos = l.next;
    }
    if (multipart) kept += "--" + t.boundary + "--\n";  // closed and empty
    mimetic_view_.push_back({begin, limit - begin, std::move(kept)});
  }

  // The line ending of the body's first line, else of the entity's header.
  std::string body_eol(std::size_t begin, std::size_t limit, const std::string& fallback) const {
    const Line l = line_at(m_, begin, limit);
    if (l.next == l.end) return fallback;
    return std::string(m_.substr(l.end, l.next - l.end));
  }

  struct Delimiter {
    std::size_t begin = 0;  // the "--" of the line
    std::size_t next = 0;   // after its EOL
    bool close = false;
    bool eof = false;  // stand-in for a missing close delimiter
  };

  Result<void> multipart(const EntityType& t, std::size_t body_begin, std::size_t limit,
                         const std::string& path, const std::string& shown, int depth,
                         const std::string& eol) {
    const std::string dash_boundary = "--" + t.boundary;
    std::vector<Delimiter> delims;
    for (std::size_t pos = body_begin; pos < limit;) {
      const Line l = line_at(m_, pos, limit);
      bool close = false;
      if (is_delimiter(m_.substr(l.begin, l.end - l.begin), dash_boundary, close)) {
        delims.push_back({l.begin, l.next, close, false});
        if (close) break;  // the rest is the epilogue
      }
      pos = l.next;
    }
    if (delims.empty()) {
      return Error{"part " + shown + ": " + t.media_type +
                   " has no delimiter line for boundary \"" + t.boundary + "\""};
    }
    if (!delims.back().close) {
      // A missing close delimiter is common in real mail (truncating MUAs and
      // list software). When this multipart runs to the end of the message,
      // its last part unambiguously ends at EOF and is accepted as such
      // (Python's email and mimetic read it the same way). Anywhere else the
      // part would end at an enclosing delimiter that its own multipart never
      // announced, which readers handle differently: refused.
      if (limit != m_.size()) {
        return Error{"part " + shown + ": " + t.media_type +
                     " is not closed before its enclosing part ends"};
      }
      delims.push_back({limit, limit, true, true});
    }
    const bool digest = t.media_type == "multipart/digest";
    enclosing_.push_back(t.boundary);
    for (std::size_t i = 0; i + 1 < delims.size(); ++i) {
      const std::size_t begin = delims[i].next;
      std::size_t end = delims[i + 1].begin;
      if (!delims[i + 1].eof && end > begin && m_[end - 1] == '\n') {
        --end;
        if (end > begin && m_[end - 1] == '\r') --end;
      }
      const HeaderBlock hb = parse_header_block(m_, begin, end);
      auto r = entity(hb, end, internal::child_path(path, i + 1), digest, depth + 1, eol);
      if (!r) return r;
    }
    enclosing_.pop_back();
    return {};
  }

  std::string_view m_;
  Structure& out_;
  std::vector<std::string>& shape_;
  std::vector<std::string> enclosing_;  // boundaries of the multiparts we are in
  std::vector<Patch> mimetic_view_;
};

std::string first_difference(const std::vector<std::string>& ours,
                             const std::vector<std::string>& theirs) {
  const auto show = [](const std::vector<std::string>& v, std::size_t i) {
    if (i >= v.size()) return std::string("(nothing)");
    // Appended piece by piece: GCC 12 -O2 reports a false -Wrestrict for insert(0, ...).
    std::string s = "\"";
    if (v[i].starts_with(' ')) s.append(kMessagePath);
    s.append(v[i]);
    s.push_back('"');
    return s;
  };
  for (std::size_t i = 0; i < ours.size() || i < theirs.size(); ++i) {
    if (i >= ours.size() || i >= theirs.size() || ours[i] != theirs[i]) {
      return "entity " + std::to_string(i + 1) + ": ours " + show(ours, i) + ", mimetic " +
             show(theirs, i);
    }
  }
  return "";
}

}  // namespace

Result<Structure> analyse(std::string_view message, CrossCheck cross_check) {
  std::size_t start = 0;
  if (message.starts_with("From ")) start = line_at(message, 0, message.size()).next;
  const HeaderBlock hb = parse_header_block(message, start, message.size());
  if (hb.malformed) {
    return Error{"malformed header line at offset " + std::to_string(hb.end)};
  }
  Structure s;
  s.headers = hb.fields;
  s.headers_end = hb.end;
  s.eol = hb.eol.empty() ? "\r\n" : hb.eol;

  std::vector<std::string> shape;
  Walker walker(message, s, shape);
  if (auto r = walker.entity(hb, message.size(), "", false, 0, s.eol); !r) return r.failure();

  // Cross-check: an independent parser must see the same entities, in the same
  // order, with the same media types, down to where we stop descending.
  if (cross_check == CrossCheck::kSkip) return s;
  // Without hidden bodies mimetic reads the message itself (no copy).
  const bool hidden = !walker.mimetic_view().empty();
  Result<std::string> view = std::string();
  if (hidden) view = splice(message, std::move(walker.mimetic_view()));
  if (!view.ok()) return Error{"cross-check: " + view.error()};
  const std::string_view shown = hidden ? std::string_view(*view) : message;
  Result<std::vector<std::string>> theirs = internal::mimetic_shape(shown.substr(start));
  if (!theirs.ok()) return Error{"cross-check: " + theirs.error()};
  if (std::string diff = first_difference(shape, *theirs); !diff.empty()) {
    return Error{"cross-check: mimetic disagrees at " + diff};
  }
  return s;
}

}  // namespace trackrelay::mime
