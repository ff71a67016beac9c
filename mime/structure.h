// mime/structure.h — where the rewritable text lives in a raw RFC 5322 message.
//
// Owns: finding, in the ORIGINAL bytes, the header fields of the message and
// the encoded body of every text/html and text/plain leaf that may be
// rewritten, at any depth of multipart nesting. Nothing here copies or
// re-serialises the message: callers splice replacements into the original
// bytes (see splice.h), so every byte outside the rewritten bodies is emitted
// exactly as received.
//
// mimetic (Debian 0.9.8) is used for what it does right: parsing header fields
// and their parameters (Content-Type, Content-Transfer-Encoding,
// Content-Disposition) and, through its istream parser (run over the bytes in
// place, see mimetic_check.h), an independent parse of the tree that is
// cross-checked against ours. It cannot be used to write the message back:
// its writer re-folds headers and re-quotes parameters, its random-access
// MimeEntity(begin,end) parser finds boundaries in the middle of lines, and it
// reports no byte offsets. Hence the line-oriented boundary scanner here.
//
// May call: base/, mimetic.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace trackrelay::mime {

enum class TransferEncoding { kSevenBit, kEightBit, kBinary, kQuotedPrintable, kBase64 };

struct HeaderField {
  std::string name;        // as written (compare case-insensitively)
  std::string value;       // unfolded (CR/LF of folds removed), leading whitespace trimmed
  std::size_t offset = 0;  // first byte of the field name in the message
  std::size_t length = 0;  // through the EOL ending its last (folded) line
};

// A text leaf that may be rewritten.
struct TextLeaf {
  std::string media_type;  // "text/html" or "text/plain" (lower-case)
  std::string charset;     // lower-case; "" when absent
  TransferEncoding encoding = TransferEncoding::kSevenBit;
  std::size_t body_offset = 0;  // the encoded body in the original message
  std::size_t body_length = 0;  // excludes the EOL that belongs to the next boundary line
  std::string eol;              // "\r\n" or "\n": the line ending this part uses
  std::string path;             // "1.2" style part number, for logs; "0" = the message itself
};

// A part deliberately left alone, with why (logged by the caller).
struct SkippedPart {
  std::string path;  // as TextLeaf::path
  std::string media_type;
  std::string reason;       // "attachment", "charset utf-16 is not ASCII-compatible",
                            // "multipart/signed", "unknown transfer encoding x-uue", ...
  bool attachment = false;  // left alone because it is an attachment (reason "attachment")
  // Where it is, for callers that look inside without rewriting (the
  // rewrite engine counts the links it leaves there). `encoding` is 7bit
  // when the field was unknown (the body is then read as it is).
  std::string charset;
  std::string boundary;  // multipart/* (not validated)
  TransferEncoding encoding = TransferEncoding::kSevenBit;
  std::size_t body_offset = 0;
  std::size_t body_length = 0;
};

struct Structure {
  std::vector<HeaderField> headers;  // the top-level header fields, in order
  std::size_t headers_end = 0;       // offset of the blank line ending the header block
                                     // (== message size when there is none)
  std::string eol;                   // the line ending of the top-level header block
  std::vector<TextLeaf> leaves;      // in message order
  std::vector<SkippedPart> skipped;
};

// Analyses `message`. An error means the message cannot be handled safely
// (e.g. unterminated multipart, our tree disagrees with mimetic's); the caller
// passes the message through byte-identical and logs the error text.
//
// kSkip leaves out the mimetic cross-check (the fuzz targets use it to check
// our own scanner alone; the rewrite engine always runs both).
enum class CrossCheck { kRun, kSkip };
Result<Structure> analyse(std::string_view message, CrossCheck cross_check = CrossCheck::kRun);

// Is this charset one whose ASCII bytes mean ASCII (so links can be found and
// spliced as bytes)? Unknown/absent charsets count as ASCII-compatible;
// utf-16/32, utf-7 and iso-2022-* do not.
bool ascii_compatible_charset(std::string_view charset_lower);

}  // namespace trackrelay::mime
