// fuzz/fuzz_codec.h — fuzz target body for the transfer codecs (mime/codec.h):
// quoted-printable and base64, one-shot and streaming.
//
// Input: byte 0 flags (bit 0: base64 final line break), byte 1 the number n
// (mod 16) of chunk-length bytes that follow, n bytes of chunk lengths (each
// mod 9, cycled) for the streaming decoder, then the payload.
//
// Invariants:
//  * qp_decode(qp_encode(x, eol)) == x with every line break (LF or CRLF)
//    written as eol (as codec.h documents);
//  * qp_encode output: printable ASCII and eol only, lines <= 76 characters,
//    no line starting with ".", "-" or "From ", no line ending in a blank, ending
//    with a line break exactly when the input does;
//  * QpDecoder fed in the chosen chunks == qp_decode, on arbitrary bytes and
//    on encoder output;
//  * base64_decode(base64_encode(x, eol, final)) == x, 76-character lines;
//    arbitrary base64_decode never crashes and what it accepts re-encodes;
//  * decode_body(encode_body(x, ...)) gives back x for QP and base64.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_common.h"
#include "mime/codec.h"

namespace trackrelay::fuzz {
namespace codec_detail {

// The text as qp_encode(…, "\r\n") canonicalises it: a bare LF becomes CRLF.
inline std::string crlf_canonical(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) out.push_back('\r');
    out.push_back(s[i]);
  }
  return out;
}

// The text as qp_encode(…, "\n") canonicalises it: every CRLF becomes LF.
inline std::string lf_canonical(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') continue;
    out.push_back(s[i]);
  }
  return out;
}

inline std::string streamed_qp(std::string_view in, const std::vector<std::size_t>& chunks) {
  mime::QpDecoder decoder;
  std::string out;
  std::size_t pos = 0;
  for (std::size_t k = 0; pos < in.size(); ++k) {
    const std::size_t len = chunks.empty() ? 1 : chunks[k % chunks.size()];
    const std::size_t take = len < in.size() - pos ? len : in.size() - pos;
    decoder.feed(in.substr(pos, take), out);
    pos += take;
    if (k > 4 * in.size() + 16) break;  // only zero-length chunks: stop feeding
  }
  if (pos < in.size()) decoder.feed(in.substr(pos), out);
  decoder.finish(out);
  return out;
}

// Splits encoder output at `eol` (which must end every line but the last).
inline std::vector<std::string_view> lines_of(std::string_view s, std::string_view eol) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (pos < s.size()) {
    const std::size_t e = s.find(eol, pos);
    if (e == std::string_view::npos) {
      out.push_back(s.substr(pos));
      break;
    }
    out.push_back(s.substr(pos, e - pos));
    pos = e + eol.size();
  }
  return out;
}

inline void check_qp_encoding(std::string_view x, std::string_view eol,
                              const std::vector<std::size_t>& chunks) {
  const std::string enc = mime::qp_encode(x, eol);
  const auto context = [&] { return "eol " + escaped(eol) + " input " + escaped(x); };
  for (const std::string_view line : lines_of(enc, eol)) {
    FUZZ_CHECK(line.size() <= 76, "line over 76: " + escaped(line) + "; " + context());
    for (const char c : line) {
      const auto u = static_cast<unsigned char>(c);
      FUZZ_CHECK(u == ' ' || u == '\t' || (u >= 33 && u <= 126),
                 "byte outside printable ASCII in " + escaped(line) + "; " + context());
    }
    FUZZ_CHECK(!line.starts_with(".") && !line.starts_with("From ") && !line.starts_with("-"),
               "line starts with '.', '-' or 'From ': " + escaped(line) + "; " + context());
    FUZZ_CHECK(line.empty() || (line.back() != ' ' && line.back() != '\t'),
               "line ends in a blank: " + escaped(line) + "; " + context());
  }
  FUZZ_CHECK(enc.ends_with(eol) == (!x.empty() && x.back() == '\n'),
             "final line break differs: " + context());
  const std::string expected = eol == "\n" ? lf_canonical(x) : crlf_canonical(x);
  const std::string dec = mime::qp_decode(enc);
  FUZZ_CHECK(dec == expected, "qp_decode(qp_encode(x)) != x: encoded " + escaped(enc) + "; " +
                                  "decoded " + escaped(dec) + "; " + context());
  FUZZ_CHECK(streamed_qp(enc, chunks) == dec, "QpDecoder differs on encoder output; " + context());
}

}  // namespace codec_detail

inline int check_codec(const std::uint8_t* data, std::size_t size) {
  using namespace codec_detail;
  Reader in(as_view(data, size));
  const std::uint8_t flags = in.byte();
  std::vector<std::size_t> chunks;
  for (int n = in.byte() % 16; n > 0; --n) chunks.push_back(in.byte() % 9);
  const std::string_view x = in.rest();

  // Quoted-printable: both directions, both line-ending styles, streaming.
  check_qp_encoding(x, "\n", chunks);
  check_qp_encoding(x, "\r\n", chunks);
  const std::string lenient = mime::qp_decode(x);
  FUZZ_CHECK(streamed_qp(x, chunks) == lenient, "QpDecoder != qp_decode on " + escaped(x));

  // Base64: round trip, line shape, arbitrary input.
  const bool final_eol = (flags & 1) != 0;
  for (const std::string_view eol : {std::string_view("\n"), std::string_view("\r\n")}) {
    const std::string enc = mime::base64_encode(x, eol, final_eol);
    for (const std::string_view line : lines_of(enc, eol)) {
      FUZZ_CHECK(line.size() <= 76, "base64 line over 76 characters");
    }
    FUZZ_CHECK(enc.ends_with(eol) == (final_eol && !x.empty()), "base64 final line break");
    const Result<std::string> dec = mime::base64_decode(enc);
    FUZZ_CHECK(dec.ok(), "base64_decode rejects base64_encode output: " + dec.error());
    FUZZ_CHECK(*dec == x, "base64 round trip differs for " + escaped(x));
  }
  if (const Result<std::string> any = mime::base64_decode(x); any.ok()) {
    const Result<std::string> again = mime::base64_decode(mime::base64_encode(*any, "\n", true));
    FUZZ_CHECK(again.ok() && *again == *any, "accepted base64 does not re-encode: " + escaped(x));
  }

  // Body helpers as the engine uses them, with the payload as its own "original".
  for (const std::string_view eol : {std::string_view("\n"), std::string_view("\r\n")}) {
    const std::string qp =
        mime::encode_body(x, mime::TransferEncoding::kQuotedPrintable, eol, lenient);
    const Result<std::string> qp_back =
        mime::decode_body(qp, mime::TransferEncoding::kQuotedPrintable);
    FUZZ_CHECK(qp_back.ok() && *qp_back == (eol == "\n" ? lf_canonical(x) : crlf_canonical(x)),
               "QP encode_body/decode_body round trip differs for " + escaped(x));
    const std::string b64 = mime::encode_body(x, mime::TransferEncoding::kBase64, eol, x);
    const Result<std::string> b64_back = mime::decode_body(b64, mime::TransferEncoding::kBase64);
    FUZZ_CHECK(b64_back.ok() && *b64_back == x, "base64 encode_body/decode_body differs");
  }
  return 0;
}

}  // namespace trackrelay::fuzz
