// mime/entity_type.h — internal to mime/: what one MIME entity is, decided
// from its Content-Type, Content-Transfer-Encoding and Content-Disposition.
//
// Owns the single decision "enter / rewrite / leave alone / refuse" so that
// our own scanner (structure.cc) and the mimetic cross-check
// (mimetic_check.cc) classify entities with exactly the same rules: the
// cross-check then compares only where the two parsers put the parts, never
// two different readings of the same header.
//
// Content-Type and Content-Disposition are parsed with mimetic's ContentType /
// ContentDisposition (its field-parameter parser is what it does right); the
// results are then normalised and validated here, because mimetic keeps
// comments in values ("us-ascii (Plain text)"), does not trim, and cuts a
// quoted parameter at a ';' inside the quotes. Content-Transfer-Encoding is
// looked up in our alias table (transfer_encoding.h), not read by mimetic.
//
// May call: base/, mimetic.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/strings.h"
#include "mime/structure.h"

namespace trackrelay::mime::internal {

enum class EntityKind {
  kMultipart,  // enter: its parts are scanned (boundary is valid)
  kText,       // a text/plain or text/html leaf that may be rewritten
  kOther,      // a leaf that is not text (image, application, other text/*)
  kSkipped,    // deliberately left alone, subtree not entered (skip_reason)
  kError,      // the message cannot be handled safely (error)
};

// The raw (unfolded) values of the fields that matter; absent = nullopt.
struct EntityFields {
  std::optional<std::string> content_type;
  std::optional<std::string> transfer_encoding;
  std::optional<std::string> disposition;
};

struct EntityType {
  EntityKind kind = EntityKind::kOther;
  std::string media_type;  // lower-case "type/subtype"; "invalid" when unparseable
  std::string boundary;    // multipart/* (validated for kMultipart only)
  std::string charset;     // lower-case, comments and quotes removed; "" if absent
  TransferEncoding encoding = TransferEncoding::kSevenBit;
  std::string skip_reason;  // kSkipped
  bool attachment = false;  // kSkipped because it is an attachment
  std::string error;        // kError
};

// `in_digest`: the entity is a part of a multipart/digest, where the default
// Content-Type is message/rfc822 (RFC 2046 §5.1.5) instead of text/plain.
// Never throws (mimetic exceptions are caught and reported as kError).
EntityType classify(const EntityFields& fields, bool in_digest);

// "1.2" numbering: the parts of the top-level multipart are "1", "2", ...
std::string child_path(const std::string& parent, std::size_t index_from_1);

}  // namespace trackrelay::mime::internal
