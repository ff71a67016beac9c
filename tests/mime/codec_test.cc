// tests/mime/codec_test.cc — quoted-printable (exhaustive), the streaming
// QpDecoder under random chunking, base64 via OpenSSL, body helpers.
#include "mime/codec.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace trackrelay::mime {
namespace {

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < s.size()) {
    std::size_t nl = s.find('\n', start);
    if (nl == std::string::npos) nl = s.size();
    std::size_t end = nl;
    if (end > start && s[end - 1] == '\r') --end;
    lines.push_back(s.substr(start, end - start));
    start = nl + 1;
  }
  return lines;
}

bool is_upper_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

// Every output line <= 76; every "=" is an =XX escape or a final soft break;
// no literal byte that QP must escape; no trailing whitespace.
void expect_well_formed_qp(const std::string& encoded) {
  for (const std::string& line : split_lines(encoded)) {
    EXPECT_LE(line.size(), 76u) << line;
    for (std::size_t i = 0; i < line.size(); ++i) {
      const auto u = static_cast<unsigned char>(line[i]);
      if (line[i] == '=') {
        if (i + 1 == line.size()) continue;  // soft break
        ASSERT_LT(i + 2, line.size() + 0) << "split escape in: " << line;
        EXPECT_TRUE(is_upper_hex(line[i + 1]) && is_upper_hex(line[i + 2])) << line;
        i += 2;
      } else {
        EXPECT_TRUE((u >= 33 && u <= 126) || u == ' ' || u == '\t') << "byte " << int(u);
      }
    }
    if (!line.empty()) {
      EXPECT_NE(line.back(), ' ') << line;
      EXPECT_NE(line.back(), '\t') << line;
    }
  }
}

TEST(Qp, EveryByteValueAloneAndInContext) {
  for (int b = 0; b < 256; ++b) {
    const std::string one(1, static_cast<char>(b));
    for (const std::string& input : {one, "a" + one + "b", one + one + "\n", "x\n" + one}) {
      const std::string enc = qp_encode(input, "\n");
      expect_well_formed_qp(enc);
      std::string expected;  // a CRLF is a line break: written as LF
      for (std::size_t i = 0; i < input.size(); ++i) {
        if (!(input[i] == '\r' && i + 1 < input.size() && input[i + 1] == '\n')) {
          expected.push_back(input[i]);
        }
      }
      EXPECT_EQ(qp_decode(enc), expected) << "byte " << b;
    }
    const std::string enc = qp_encode("a" + one + "b", "\r\n");
    if (b == '\n') {
      EXPECT_EQ(enc, "a\r\nb");
    } else if (b == '=') {
      EXPECT_EQ(enc, "a=3Db");
    } else if ((b >= 33 && b <= 126) || b == ' ' || b == '\t') {
      EXPECT_EQ(enc, "a" + one + "b");
    } else {
      static const char* hex = "0123456789ABCDEF";
      EXPECT_EQ(enc, std::string("a=") + hex[b >> 4] + hex[b & 15] + "b") << "byte " << b;
    }
  }
}

TEST(Qp, EncodeSpecificForms) {
  EXPECT_EQ(qp_encode("", "\r\n"), "");
  EXPECT_EQ(qp_encode("a=b", "\n"), "a=3Db");
  EXPECT_EQ(qp_encode("a \nb\t\n", "\n"), "a=20\nb=09\n");       // trailing whitespace
  EXPECT_EQ(qp_encode("a b\tc", "\n"), "a b\tc");                // inner whitespace kept
  EXPECT_EQ(qp_encode("end ", "\r\n"), "end=20");                // at end of input too
  EXPECT_EQ(qp_encode("line\r\n", "\r\n"), "line\r\n");          // ends with hard break
  EXPECT_EQ(qp_encode("line", "\r\n"), "line");                  // ... exactly when input does
  EXPECT_EQ(qp_encode("a\nb\r\n", "\r\n"), "a\r\nb\r\n");        // LF becomes the part's EOL
  EXPECT_EQ(qp_encode("a\r\nb\n", "\n"), "a\nb\n");              // CRLF is a break with LF too
  EXPECT_EQ(qp_encode("--bnd\n-x\n", "\n"), "=2D-bnd\n=2Dx\n");  // never a delimiter line
  EXPECT_EQ(qp_encode("a\rb", "\r\n"), "a=0Db");                 // bare CR is data
  EXPECT_EQ(qp_encode(".\n", "\n"), "=2E\n");                    // SMTP dot line
  EXPECT_EQ(qp_encode("From here\nx From y", "\n"), "=46rom here\nx From y");
  EXPECT_EQ(qp_encode("caf\xc3\xa9", "\n"), "caf=C3=A9");
}

TEST(Qp, SoftBreaksAtExactLengths) {
  // 76 characters fit on one line without a soft break.
  const std::string a76(76, 'a');
  EXPECT_EQ(qp_encode(a76, "\n"), a76);
  EXPECT_EQ(qp_encode(a76 + "\n", "\n"), a76 + "\n");
  // 77 need one: 75 + "=" then the rest.
  EXPECT_EQ(qp_encode(a76 + "a", "\r\n"), std::string(75, 'a') + "=\r\naa");
  // An escape is never split: 74 'a' then =FF does not fit before a soft "=".
  EXPECT_EQ(qp_encode(std::string(74, 'a') + "\xff" + "b", "\n"), std::string(74, 'a') + "=\n=FFb");
  // ... but may end a line exactly at column 76 when it is the last token.
  EXPECT_EQ(qp_encode(std::string(73, 'a') + "\xff", "\n"), std::string(73, 'a') + "=FF");
  // Trailing space as the last token, and a dot or "From " after a soft break.
  EXPECT_EQ(qp_encode(std::string(75, 'a') + " ", "\n"), std::string(75, 'a') + "=\n=20");
  EXPECT_EQ(qp_encode(std::string(75, 'a') + ".b", "\n"), std::string(75, 'a') + "=\n=2Eb");
  const std::string long_text(1000, 'x');
  const std::string enc = qp_encode(long_text, "\n");
  expect_well_formed_qp(enc);
  EXPECT_EQ(qp_decode(enc), long_text);
}

TEST(Qp, DecodeIsLenient) {
  EXPECT_EQ(qp_decode("a=3Db"), "a=b");
  EXPECT_EQ(qp_decode("a=3db"), "a=b");  // lower-case hex accepted
  EXPECT_EQ(qp_decode("a=ZZb"), "a=ZZb");
  EXPECT_EQ(qp_decode("a=G1"), "a=G1");
  EXPECT_EQ(qp_decode("a=4"), "a=4");
  EXPECT_EQ(qp_decode("a= b"), "a= b");
  EXPECT_EQ(qp_decode("==x"), "==x");
  EXPECT_EQ(qp_decode("=="), "=");  // literal "=", then a soft break at the end
  EXPECT_EQ(qp_decode("ab=\ncd"), "abcd");
  EXPECT_EQ(qp_decode("ab=\r\ncd"), "abcd");
  EXPECT_EQ(qp_decode("ab= \t\r\ncd"), "abcd");  // blanks after a soft-break "="
  EXPECT_EQ(qp_decode("ab="), "ab");             // soft break at the very end
  EXPECT_EQ(qp_decode("ab=\r"), "ab=\r");
  EXPECT_EQ(qp_decode("ab  \r\ncd\t\n"), "ab\r\ncd\n");  // trailing whitespace dropped
  EXPECT_EQ(qp_decode("ab  "), "ab  ");                  // no line break follows: kept
  EXPECT_EQ(qp_decode("a \rb"), "a \rb");
  EXPECT_EQ(qp_decode("a\r\nb\nc"), "a\r\nb\nc");  // breaks kept as written
  EXPECT_EQ(qp_decode(""), "");
}

std::string random_bytes(std::mt19937& rng, std::size_t n) {
  std::uniform_int_distribution<int> byte(0, 255);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(byte(rng));
  return s;
}

TEST(Qp, RoundTripRandomBinaryAndText) {
  std::mt19937 rng(12345);
  for (int iter = 0; iter < 300; ++iter) {
    // Arbitrary binary survives with LF breaks, except that CRLF becomes LF.
    const std::string bin = random_bytes(rng, rng() % 600);
    const std::string enc = qp_encode(bin, "\n");
    expect_well_formed_qp(enc);
    std::string bin_lf;
    for (std::size_t i = 0; i < bin.size(); ++i) {
      if (!(bin[i] == '\r' && i + 1 < bin.size() && bin[i + 1] == '\n')) bin_lf.push_back(bin[i]);
    }
    ASSERT_EQ(qp_decode(enc), bin_lf);

    // Text with CRLF breaks survives exactly with CRLF breaks.
    std::string text;
    const int lines = static_cast<int>(rng() % 20);
    for (int i = 0; i < lines; ++i) {
      std::string line = random_bytes(rng, rng() % 200);
      std::erase(line, '\n');
      if (rng() % 3 == 0) line += std::string(rng() % 3, ' ');  // trailing blanks
      text += line;
      if (i + 1 < lines || rng() % 2) text += "\r\n";
    }
    const std::string enc2 = qp_encode(text, "\r\n");
    expect_well_formed_qp(enc2);
    ASSERT_EQ(qp_decode(enc2), text);
    EXPECT_EQ(enc2.ends_with("\r\n"), text.ends_with("\r\n"));
  }
}

std::string random_qp_soup(std::mt19937& rng) {
  static const std::vector<std::string> pieces = {
      "a",  "b",    "=",     "=4",  "=41",  "=3d",    "=ZZ", " ",    "\t",     "\r",
      "\n", "\r\n", "=\r\n", "=\n", "= \n", "  \r\n", "x=",  "\xff", "=0D=0A", "hello world"};
  std::string s;
  const int n = static_cast<int>(rng() % 60);
  for (int i = 0; i < n; ++i) s += pieces[rng() % pieces.size()];
  return s;
}

TEST(QpDecoder, AnyChunkingEqualsQpDecode) {
  for (unsigned seed = 1; seed <= 400; ++seed) {
    std::mt19937 rng(seed);
    const std::string input = random_qp_soup(rng);
    const std::string expected = qp_decode(input);
    for (int round = 0; round < 5; ++round) {
      QpDecoder dec;
      std::string out;
      std::size_t pos = 0;
      while (pos < input.size()) {
        const std::size_t len = std::min<std::size_t>(rng() % 8, input.size() - pos);
        dec.feed(std::string_view(input).substr(pos, len), out);
        pos += len;
      }
      dec.finish(out);
      ASSERT_EQ(out, expected) << "seed " << seed << " input " << input;
    }
    QpDecoder bytewise;
    std::string out;
    for (char c : input) bytewise.feed(std::string_view(&c, 1), out);
    bytewise.finish(out);
    ASSERT_EQ(out, expected) << "seed " << seed;
  }
}

TEST(QpDecoder, EncodedTextStreamed) {
  std::mt19937 rng(99);
  const std::string text = random_bytes(rng, 5000);
  const std::string enc = qp_encode(text, "\n");
  QpDecoder dec;
  std::string out;
  for (std::size_t pos = 0; pos < enc.size(); pos += 7) {
    dec.feed(std::string_view(enc).substr(pos, 7), out);
  }
  dec.finish(out);
  EXPECT_EQ(out, text);
}

TEST(Base64, KnownVectorsAndWhitespace) {
  EXPECT_EQ(*base64_decode(""), "");
  EXPECT_EQ(*base64_decode("Zg=="), "f");
  EXPECT_EQ(*base64_decode("Zm8="), "fo");
  EXPECT_EQ(*base64_decode("Zm9v"), "foo");
  EXPECT_EQ(*base64_decode(" Zm\r\n9v\tYmFy \n"), "foobar");
  EXPECT_EQ(base64_encode("foobar", "\r\n", true), "Zm9vYmFy\r\n");
  EXPECT_EQ(base64_encode("foobar", "\r\n", false), "Zm9vYmFy");
  EXPECT_EQ(base64_encode("", "\r\n", true), "");
}

TEST(Base64, RejectsGarbage) {
  for (const char* bad :
       {"Zm9v!", "Zm9", "Z===", "Zg==Zg==", "Zm=v", "Zm9v\x80", "Zg=", "====", "Zm9v-_"}) {
    EXPECT_FALSE(base64_decode(bad).ok()) << bad;
  }
}

TEST(Base64, RoundTripsWithLineShape) {
  std::mt19937 rng(7);
  for (std::size_t n = 0; n < 400; n += 1 + n / 10) {
    const std::string data = random_bytes(rng, n);
    for (const char* eol : {"\n", "\r\n"}) {
      for (bool final_eol : {false, true}) {
        const std::string enc = base64_encode(data, eol, final_eol);
        for (const std::string& line : split_lines(enc)) EXPECT_LE(line.size(), 76u);
        EXPECT_EQ(enc.ends_with(eol), final_eol && !data.empty());
        const Result<std::string> dec = base64_decode(enc);
        ASSERT_TRUE(dec.ok()) << dec.error();
        EXPECT_EQ(*dec, data);
      }
    }
  }
  // 57 bytes make exactly one full 76-character line.
  EXPECT_EQ(base64_encode(std::string(57, 'x'), "\n", false).size(), 76u);
  EXPECT_EQ(base64_encode(std::string(58, 'x'), "\n", false).find('\n'), 76u);
}

TEST(BodyCodec, IdentityForUnencoded) {
  for (TransferEncoding e :
       {TransferEncoding::kSevenBit, TransferEncoding::kEightBit, TransferEncoding::kBinary}) {
    const std::string raw = "x =41 \xff\r\n";
    EXPECT_EQ(*decode_body(raw, e), raw);
    EXPECT_EQ(encode_body(raw, e, "\n", raw), raw);
  }
}

TEST(BodyCodec, KeepsTheOriginalShape) {
  // base64: final line break or not, as the original.
  EXPECT_EQ(encode_body("foo", TransferEncoding::kBase64, "\r\n", "Zm9v\r\n"), "Zm9v\r\n");
  EXPECT_EQ(encode_body("foo", TransferEncoding::kBase64, "\r\n", "Zm9v"), "Zm9v");
  // QP: a body ending in a soft break keeps it.
  EXPECT_EQ(*decode_body("abc=\n", TransferEncoding::kQuotedPrintable), "abc");
  EXPECT_EQ(encode_body("abc", TransferEncoding::kQuotedPrintable, "\n", "abc=\n"), "abc=\n");
  EXPECT_EQ(encode_body("abc\n", TransferEncoding::kQuotedPrintable, "\n", "abc\n"), "abc\n");
  EXPECT_FALSE(decode_body("@@@@", TransferEncoding::kBase64).ok());
}

}  // namespace
}  // namespace trackrelay::mime
