// mime/codec.h — Content-Transfer-Encoding codecs for rewritten leaf bodies.
//
// Not mimetic's codecs, on purpose: Debian's mimetic 0.9.8 QP encoder switches
// to a "binary" mode at the first byte >= 0x80 (spaces become =20, line breaks
// =0D=0A) and ends lines with a bare LF, and its base64 decoder had an
// out-of-bounds read fixed only after 0.9.8. Base64 uses OpenSSL's EVP
// encoder/decoder; quoted-printable is implemented here with exhaustive tests.
//
// May call: base/, OpenSSL.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "mime/structure.h"

namespace trackrelay::mime {

// Quoted-printable (RFC 2045 §6.7). Decoding is lenient the way mail readers
// are: "=" followed by anything but two hex digits or a line break is kept
// literally; trailing whitespace before a line break is dropped; soft breaks
// ("=" EOL) are removed; line breaks (CRLF or LF) are kept as they were.
std::string qp_decode(std::string_view encoded);

// Encodes text. Every LF and every CRLF in `decoded` is a hard line break and
// is written as `eol` (in a QP body a line break is never data: decoding
// turned the part's breaks into LF or CRLF, and the transport may convert
// them anyway, so "=0D" before a break would decode as a stray CR). A bare CR
// is data ("=0D"). Output lines are at most 76 characters including the
// soft-break "=", "=" is written "=3D", trailing space/tab before a hard
// break is encoded, a line never starts with ".", "From " or "-" (so no
// output line can be a dot-stuffing hazard, an mbox separator or a MIME
// boundary delimiter), and the output ends with a hard break exactly when
// the input did.
std::string qp_encode(std::string_view decoded, std::string_view eol);

// Streaming QP decoder: feeding any split of the input gives qp_decode's result.
class QpDecoder {
 public:
  void feed(std::string_view chunk, std::string& out);
  void finish(std::string& out);

 private:
  std::string pending_;  // bytes that cannot be decided yet ("=", "=A", spaces before EOL)
};

// Base64 (RFC 2045 §6.8) via OpenSSL. Decoding ignores whitespace and line
// breaks; any other non-alphabet byte or bad padding is an error.
Result<std::string> base64_decode(std::string_view encoded);
// 76-character lines separated by `eol`; ends with `eol` when `final_eol`.
std::string base64_encode(std::string_view data, std::string_view eol, bool final_eol);

// Body-level helpers used by the rewrite engine. decode_body fails only for
// base64 that does not decode; 7bit/8bit/binary are identity.
Result<std::string> decode_body(std::string_view raw, TransferEncoding);
// `original_raw` lets the encoder keep the original's shape (final line break
// or not).
std::string encode_body(std::string_view decoded, TransferEncoding, std::string_view eol,
                        std::string_view original_raw);

}  // namespace trackrelay::mime
