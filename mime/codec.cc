// mime/codec.cc — quoted-printable and base64 for rewritten leaf bodies.
//
// Why not mimetic's codecs (see codec.h): Debian's mimetic 0.9.8 QP encoder
// switches to a "binary" mode at the first byte >= 0x80 (spaces become =20,
// line breaks =0D=0A) and ends lines with a bare LF, and its base64 decoder
// had an out-of-bounds read fixed only after 0.9.8. Base64 therefore goes
// through OpenSSL's EVP block functions (whitespace is stripped and the
// alphabet and padding are checked here first, since EVP_DecodeBlock is
// lenient about both); quoted-printable is implemented here.
//
// Both QP directions work on lines: a hard line break is LF or CRLF (a bare
// CR is data), and the decoder keeps each break exactly as it was written.
#include "mime/codec.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>

namespace trackrelay::mime {
namespace {

constexpr std::size_t kQpMaxLine = 76;        // RFC 2045 §6.7 rule 5, including a soft-break "="
constexpr std::size_t kBase64LineBytes = 57;  // 76 characters of output

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;  // lenient: RFC says upper case
  return -1;
}

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

// The bytes the decoder must look at; any other byte is copied as it is.
constexpr std::array<bool, 256> kQpDecision = [] {
  std::array<bool, 256> t{};
  t['='] = t['\r'] = t[' '] = t['\t'] = true;
  return t;
}();

// Where a run of bytes that decode as themselves, starting at `j`, ends: at
// the next byte that needs a decision, except that a single blank followed
// by a byte that is neither a blank nor a line break is data too (what the
// blank branch of qp_decode_some would append).
std::size_t plain_run_end(std::string_view in, std::size_t j) {
  const std::size_t n = in.size();
  while (j < n) {
    if (!kQpDecision[static_cast<unsigned char>(in[j])]) {
      ++j;
    } else if (is_blank(in[j]) && j + 1 < n && !is_blank(in[j + 1]) && in[j + 1] != '\r' &&
               in[j + 1] != '\n') {
      ++j;
    } else {
      break;
    }
  }
  return j;
}

// Decodes as much of `in` as can be decided; with `at_end` all of it. Returns
// the number of bytes consumed (the rest needs more input to be decided).
std::size_t qp_decode_some(std::string_view in, bool at_end, std::string& out) {
  const std::size_t n = in.size();
  std::size_t i = 0;
  while (i < n) {
    const char c = in[i];
    if (is_blank(c)) {
      std::size_t j = i;
      while (j < n && is_blank(in[j])) ++j;
      if (j == n) {
        if (!at_end) return i;
        out.append(in.substr(i));  // trailing blanks at the very end: no line break follows
        return n;
      }
      if (in[j] == '\r' && j + 1 == n && !at_end) return i;
      if (in[j] == '\n' || (in[j] == '\r' && j + 1 < n && in[j + 1] == '\n')) {
        i = j;  // trailing whitespace before a line break: dropped
        continue;
      }
      out.append(in.substr(i, j - i));
      i = j;
    } else if (c == '\r') {
      if (i + 1 == n && !at_end) return i;
      if (i + 1 < n && in[i + 1] == '\n') {
        out.append("\r\n");
        i += 2;
      } else {
        out.push_back('\r');
        ++i;
      }
    } else if (c == '=') {
      // Soft line break: "=" [blanks] (CRLF | LF | end of input).
      std::size_t j = i + 1;
      while (j < n && is_blank(in[j])) ++j;
      if (j == n) {
        if (!at_end) return i;
        return n;  // "=" at the very end: a soft break, nothing follows
      }
      if (in[j] == '\n') {
        i = j + 1;
        continue;
      }
      if (in[j] == '\r') {
        if (j + 1 == n && !at_end) return i;
        if (j + 1 < n && in[j + 1] == '\n') {
          i = j + 2;
          continue;
        }
      }
      if (i + 2 >= n && !at_end) return i;
      const int hi = i + 1 < n ? hex_value(in[i + 1]) : -1;
      const int lo = i + 2 < n ? hex_value(in[i + 2]) : -1;
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 3;
      } else {
        out.push_back('=');  // lenient: a bad escape is kept literally
        ++i;
      }
    } else {
      // Plain run: copy up to the next byte that needs a decision.
      const std::size_t j = plain_run_end(in, i + 1);
      out.append(in.substr(i, j - i));
      i = j;
    }
  }
  return n;
}

constexpr std::array<char, 16> kHex = {'0', '1', '2', '3', '4', '5', '6', '7',
                                       '8', '9', 'A', 'B', 'C', 'D', 'E', 'F'};

// Bytes written as themselves anywhere but at the start or the end of a line.
constexpr std::array<bool, 256> kMidLineLiteral = [] {
  std::array<bool, 256> t{};
  for (int b = 33; b <= 126; ++b) t[static_cast<std::size_t>(b)] = b != '=';
  t[' '] = true;
  t['\t'] = true;
  return t;
}();

// Encodes one line (no hard break in it) into `out`.
void qp_encode_line(std::string_view line, std::string_view eol, std::string& out) {
  std::size_t col = 0;
  for (std::size_t k = 0; k < line.size(); ++k) {
    // Fast path: a run of mid-line literals, neither the first nor the last
    // byte of an output line, copied at once (what the byte loop would write).
    if (col > 0 && col < kQpMaxLine - 1) {
      const std::size_t limit = std::min(line.size() - 1, k + (kQpMaxLine - 1 - col));
      std::size_t j = k;
      while (j < limit && kMidLineLiteral[static_cast<unsigned char>(line[j])]) ++j;
      out.append(line.substr(k, j - k));
      col += j - k;
      k = j;
      if (k == line.size()) break;
    }
    const auto b = static_cast<unsigned char>(line[k]);
    const bool last = k + 1 == line.size();
    const auto literal = [&](bool at_line_start) {
      // A line starting "--" could be taken for a MIME boundary: encode "-".
      if (at_line_start && (b == '.' || b == '-' || line.substr(k).starts_with("From "))) {
        return false;
      }
      if (b == ' ' || b == '\t') return !last;  // whitespace before a hard break is encoded
      return b >= 33 && b <= 126 && b != '=';
    };
    bool lit = literal(col == 0);
    std::size_t width = lit ? 1 : 3;
    // The last token may use column 76; any other needs room for a soft "=".
    if (col + width > (last ? kQpMaxLine : kQpMaxLine - 1)) {
      out.push_back('=');
      out.append(eol);
      col = 0;
      lit = literal(true);
      width = lit ? 1 : 3;
    }
    if (lit) {
      out.push_back(static_cast<char>(b));
    } else {
      out.push_back('=');
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 0xf]);
    }
    col += width;
  }
}

bool is_base64_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

}  // namespace

std::string qp_decode(std::string_view encoded) {
  std::string out;
  out.reserve(encoded.size());
  qp_decode_some(encoded, true, out);
  return out;
}

void QpDecoder::feed(std::string_view chunk, std::string& out) {
  pending_.append(chunk);
  const std::size_t used = qp_decode_some(pending_, false, out);
  pending_.erase(0, used);
}

void QpDecoder::finish(std::string& out) {
  qp_decode_some(pending_, true, out);
  pending_.clear();
}

std::string qp_encode(std::string_view decoded, std::string_view eol) {
  std::string out;
  out.reserve(decoded.size() + decoded.size() / 8);
  std::size_t pos = 0;
  while (pos < decoded.size()) {
    const std::size_t nl = decoded.find('\n', pos);
    if (nl == std::string_view::npos) {
      qp_encode_line(decoded.substr(pos), eol, out);
      break;
    }
    // LF and CRLF are both line breaks, written as the part's `eol`.
    const bool crlf = nl > pos && decoded[nl - 1] == '\r';
    const std::size_t end = crlf ? nl - 1 : nl;
    qp_encode_line(decoded.substr(pos, end - pos), eol, out);
    out.append(eol);
    pos = nl + 1;
  }
  return out;
}

Result<std::string> base64_decode(std::string_view encoded) {
  std::string clean;
  clean.reserve(encoded.size());
  std::size_t padding = 0;
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    const char c = encoded[i];
    if (is_base64_space(c)) continue;
    if (c == '=') {
      ++padding;
    } else if (!is_base64_char(c) || padding > 0) {
      return Error{"base64: unexpected byte " + std::to_string(static_cast<unsigned char>(c)) +
                   " at offset " + std::to_string(i)};
    }
    clean.push_back(c);
  }
  if (clean.size() % 4 != 0 || padding > 2) {
    return Error{"base64: bad length or padding"};
  }
  std::string out;
  out.reserve(clean.size() / 4 * 3);
  constexpr std::size_t kChunk = 1 << 20;  // a multiple of 4; keeps EVP's int lengths small
  std::string block;
  for (std::size_t pos = 0; pos < clean.size(); pos += kChunk) {
    const std::size_t len = std::min(kChunk, clean.size() - pos);
    block.resize(len / 4 * 3);
    const int got = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(block.data()),
                                    reinterpret_cast<const unsigned char*>(clean.data() + pos),
                                    static_cast<int>(len));
    if (got < 0 || static_cast<std::size_t>(got) != block.size()) {
      return Error{"base64: OpenSSL could not decode"};
    }
    out.append(block);
  }
  out.resize(out.size() - padding);  // EVP_DecodeBlock outputs zero bytes for "="
  return out;
}

std::string base64_encode(std::string_view data, std::string_view eol, bool final_eol) {
  std::string out;
  const std::size_t lines = (data.size() + kBase64LineBytes - 1) / kBase64LineBytes;
  out.reserve(lines * (76 + eol.size()));
  std::array<unsigned char, 80> line{};
  for (std::size_t pos = 0; pos < data.size(); pos += kBase64LineBytes) {
    const std::size_t len = std::min(kBase64LineBytes, data.size() - pos);
    const int n =
        EVP_EncodeBlock(line.data(), reinterpret_cast<const unsigned char*>(data.data() + pos),
                        static_cast<int>(len));
    if (pos != 0) out.append(eol);
    out.append(reinterpret_cast<const char*>(line.data()), static_cast<std::size_t>(n));
  }
  if (final_eol && !data.empty()) out.append(eol);
  return out;
}

Result<std::string> decode_body(std::string_view raw, TransferEncoding encoding) {
  switch (encoding) {
    case TransferEncoding::kQuotedPrintable:
      return qp_decode(raw);
    case TransferEncoding::kBase64:
      return base64_decode(raw);
    case TransferEncoding::kSevenBit:
    case TransferEncoding::kEightBit:
    case TransferEncoding::kBinary:
      break;
  }
  return std::string(raw);
}

std::string encode_body(std::string_view decoded, TransferEncoding encoding, std::string_view eol,
                        std::string_view original_raw) {
  switch (encoding) {
    case TransferEncoding::kQuotedPrintable: {
      std::string out = qp_encode(decoded, eol);
      // Some encoders end a body without a final line break with "=" EOL (a
      // soft break); keep that shape so the bytes before the next boundary
      // look as they did.
      std::string_view tail = original_raw;
      while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r')) tail.remove_suffix(1);
      const bool soft_end = tail.size() < original_raw.size() && tail.ends_with('=');
      if (soft_end && !out.empty() && !out.ends_with(eol)) {
        out.push_back('=');
        out.append(eol);
      }
      return out;
    }
    case TransferEncoding::kBase64:
      return base64_encode(decoded, eol, original_raw.ends_with('\n'));
    case TransferEncoding::kSevenBit:
    case TransferEncoding::kEightBit:
    case TransferEncoding::kBinary:
      break;
  }
  return std::string(decoded);
}

}  // namespace trackrelay::mime
