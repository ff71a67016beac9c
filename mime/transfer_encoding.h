// mime/transfer_encoding.h — what a Content-Transfer-Encoding field value
// means, including the misspellings that mail clients accept.
//
// Owns the alias table. RFC 2045 names five mechanisms (7bit, 8bit, binary,
// quoted-printable, base64); real mail also says "8bits", "8-bit", "8 bit",
// "7bits", "quoted printable", "quoted-printable;" or "base64 (encoded)", and
// Gmail, Outlook and Thunderbird display such parts like the mechanism they
// resemble. A value is normalised as follows, and only then looked up:
//
//   1. comments "( ... )" are removed (nested, outside quotes) and a value in
//      double quotes loses its quotes;
//   2. leading/trailing whitespace and trailing ';' are removed;
//   3. letters are lower-cased;
//   4. the separators ' ', '\t', '-' and '_' are removed;
//   5. a trailing plural "s" is removed from "7bits" / "8bits".
//
// The normalised key must then be one of:
//
//   key               encoding          examples accepted
//   7bit              7bit (identity)   7bit 7BIT 7bits 7-bit "7 bit" 7_bit 7bit;
//   8bit              8bit (identity)   8bit 8bits 8-bit "8 bit" "8 bits" 8-bits
//   binary            binary            binary Binary "binary;"
//   quotedprintable   quoted-printable  quoted-printable "quoted printable"
//                                       quoted_printable quotedprintable
//                                       "quoted-printable;" Quoted-Printable
//   base64            base64            base64 BASE64 base-64 "base 64" base64;
//
// Anything else (x-uuencode, "8bit quoted-printable", "base64; charset=x",
// "qp", an unbalanced comment) is unknown: the part is left alone, as before.
// Only the meaning is looked up here: the header field itself is never
// changed, so a rewritten part keeps the exact value it was sent with.
//
// May call: base/.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "mime/structure.h"

namespace trackrelay::mime {

// The normalised key of a field value (steps 1–5 above); nullopt when a
// comment or quote is not closed.
std::optional<std::string> transfer_encoding_key(std::string_view field_value);

// The encoding a field value stands for, or nullopt when it is not in the
// table. An empty value (after removing comments) counts as absent: 7bit.
std::optional<TransferEncoding> transfer_encoding_of(std::string_view field_value);

// "7bit", "8bit", "binary", "quoted-printable", "base64".
std::string_view transfer_encoding_name(TransferEncoding);

}  // namespace trackrelay::mime
