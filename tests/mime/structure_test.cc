// tests/mime/structure_test.cc — analyse() on hand-written messages: offsets
// are checked against the exact bytes, in LF and CRLF variants.
#include "mime/structure.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace trackrelay::mime {
namespace {

// Writes `lf_text` with `eol` line endings.
std::string with_eol(const std::string& lf_text, const std::string& eol) {
  std::string out;
  for (char c : lf_text) {
    if (c == '\n') {
      out += eol;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string body_of(const std::string& msg, const TextLeaf& leaf) {
  return msg.substr(leaf.body_offset, leaf.body_length);
}

Structure analyse_ok(const std::string& msg) {
  Result<Structure> r = analyse(msg);
  EXPECT_TRUE(r.ok()) << r.error();
  return r.ok() ? std::move(r).value() : Structure{};
}

std::string analyse_error(const std::string& msg) {
  const Result<Structure> r = analyse(msg);
  EXPECT_FALSE(r.ok());
  return r.ok() ? std::string() : r.error();
}

class StructureEol : public ::testing::TestWithParam<std::string> {};

TEST_P(StructureEol, NestedAlternativeInMixedInRelated) {
  const std::string& eol = GetParam();
  const std::string msg = with_eol(
      "From: a@example.com\n"
      "Content-Type: multipart/related; boundary=\"rel\"\n"
      "\n"
      "preamble --rel not a delimiter\n"
      "--rel\n"
      "Content-Type: multipart/mixed; boundary=mix\n"
      "\n"
      "--mix\n"
      "Content-Type: multipart/alternative;\n"
      "\tboundary=\"alt 1\"\n"
      "\n"
      "--alt 1\n"
      "Content-Type: text/plain; charset=UTF-8\n"
      "\n"
      "plain body\n"
      "see --alt 1 mid-line\n"
      "--alt 1\n"
      "Content-Type: text/html; charset=\"ISO-8859-1\"\n"
      "Content-Transfer-Encoding: Quoted-Printable\n"
      "\n"
      "<p>html=3D</p>\n"
      "\n"
      "--alt 1--\n"
      "alt epilogue\n"
      "--mix\n"
      "Content-Type: image/png\n"
      "Content-Transfer-Encoding: base64\n"
      "\n"
      "iVBORw0K\n"
      "--mix--   \n"
      "--rel\n"
      "Content-Type: text/html\n"
      "\n"
      "<b>second</b>\n"
      "--rel--\n"
      "epilogue\n"
      "--rel\n",
      eol);
  const Structure s = analyse_ok(msg);
  EXPECT_EQ(s.eol, eol);
  ASSERT_EQ(s.headers.size(), 2u);
  EXPECT_EQ(s.headers[1].name, "Content-Type");
  EXPECT_EQ(s.headers_end, msg.find(eol + eol) + eol.size());
  ASSERT_EQ(s.leaves.size(), 3u);
  EXPECT_EQ(s.leaves[0].path, "1.1.1");
  EXPECT_EQ(s.leaves[0].media_type, "text/plain");
  EXPECT_EQ(s.leaves[0].charset, "utf-8");
  EXPECT_EQ(body_of(msg, s.leaves[0]), with_eol("plain body\nsee --alt 1 mid-line", eol));
  EXPECT_EQ(s.leaves[1].path, "1.1.2");
  EXPECT_EQ(s.leaves[1].media_type, "text/html");
  EXPECT_EQ(s.leaves[1].charset, "iso-8859-1");
  EXPECT_EQ(s.leaves[1].encoding, TransferEncoding::kQuotedPrintable);
  EXPECT_EQ(body_of(msg, s.leaves[1]), with_eol("<p>html=3D</p>\n", eol));
  EXPECT_EQ(s.leaves[2].path, "2");
  EXPECT_EQ(s.leaves[2].charset, "");
  EXPECT_EQ(body_of(msg, s.leaves[2]), "<b>second</b>");
  for (const TextLeaf& l : s.leaves) EXPECT_EQ(l.eol, eol);
  EXPECT_TRUE(s.skipped.empty());
}

TEST_P(StructureEol, Base64HtmlLeafOffsetsAreExact) {
  const std::string& eol = GetParam();
  const std::string b64 = with_eol("PGEgaHJlZj0iaHR0cDovL2V4YW1wbGUuY29tIj54PC9hPg==\n", eol);
  const std::string msg = with_eol(
                              "Subject: x\n"
                              "MIME-Version: 1.0\n"
                              "Content-Type: multipart/alternative; boundary=b\n"
                              "\n"
                              "--b\n"
                              "Content-Type: text/html; charset=utf-8\n"
                              "Content-Transfer-Encoding: base64\n"
                              "\n",
                              eol) +
                          b64 + eol + "--b--" + eol;
  const Structure s = analyse_ok(msg);
  ASSERT_EQ(s.leaves.size(), 1u);
  EXPECT_EQ(s.leaves[0].encoding, TransferEncoding::kBase64);
  EXPECT_EQ(s.leaves[0].body_offset, msg.find("PGEg"));
  EXPECT_EQ(s.leaves[0].body_length, b64.size());  // its own final EOL, not the delimiter's
  EXPECT_EQ(body_of(msg, s.leaves[0]), b64);
}

TEST_P(StructureEol, FoldedHeadersHaveExactOffsets) {
  const std::string& eol = GetParam();
  const std::string msg = with_eol(
      "Subject: first\n"
      "  second\n"
      "\tthird\n"
      "X-Empty:\n"
      "To:  a@example.com\n"
      "\n"
      "body\n",
      eol);
  const Structure s = analyse_ok(msg);
  ASSERT_EQ(s.headers.size(), 3u);
  EXPECT_EQ(s.headers[0].offset, 0u);
  EXPECT_EQ(s.headers[0].length, msg.find("X-Empty"));
  EXPECT_EQ(s.headers[0].value, "first  second\tthird");
  EXPECT_EQ(s.headers[1].offset, msg.find("X-Empty"));
  EXPECT_EQ(s.headers[1].length, 8 + eol.size());
  EXPECT_EQ(s.headers[1].value, "");
  EXPECT_EQ(s.headers[2].value, "a@example.com");
  EXPECT_EQ(s.headers[2].offset + s.headers[2].length, s.headers_end);
  ASSERT_EQ(s.leaves.size(), 1u);  // no Content-Type: text/plain
  EXPECT_EQ(s.leaves[0].media_type, "text/plain");
  EXPECT_EQ(s.leaves[0].path, "0");
  EXPECT_EQ(body_of(msg, s.leaves[0]), "body" + eol);
}

INSTANTIATE_TEST_SUITE_P(LfAndCrlf, StructureEol, ::testing::Values("\n", "\r\n"),
                         [](const auto& info) { return info.param == "\n" ? "LF" : "CRLF"; });

TEST(Structure, MixedLineEndingsUseEachPartsOwn) {
  const std::string msg =
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
      "--b\n"
      "Content-Type: text/plain\n\n"
      "lf body\n"
      "--b\r\n"
      "Content-Type: text/plain\r\n\r\n"
      "crlf body\r\n"
      "--b--\n";
  const Structure s = analyse_ok(msg);
  EXPECT_EQ(s.eol, "\r\n");
  ASSERT_EQ(s.leaves.size(), 2u);
  EXPECT_EQ(s.leaves[0].eol, "\n");
  EXPECT_EQ(body_of(msg, s.leaves[0]), "lf body");
  EXPECT_EQ(s.leaves[1].eol, "\r\n");
  EXPECT_EQ(body_of(msg, s.leaves[1]), "crlf body");
}

TEST(Structure, NoHeaderBodySeparatorAndEmptyBodies) {
  const std::string only_headers = "Subject: x\nFrom: y\n";
  const Structure s = analyse_ok(only_headers);
  EXPECT_EQ(s.headers_end, only_headers.size());
  ASSERT_EQ(s.leaves.size(), 1u);
  EXPECT_EQ(s.leaves[0].body_length, 0u);

  // Empty parts: the EOL before a delimiter belongs to it, so "--b" EOL EOL
  // "--b" is an empty part (no header, no body).
  const Structure e = analyse_ok(
      "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n--b\nContent-Type: "
      "text/html\n\n--b--\n");
  ASSERT_EQ(e.leaves.size(), 2u);
  EXPECT_EQ(e.leaves[0].body_length, 0u);
  EXPECT_EQ(e.leaves[1].body_length, 0u);
  EXPECT_EQ(e.leaves[1].media_type, "text/html");
  // Two delimiter lines in a row (no CRLF of a body part between them) are not
  // RFC 2046 syntax and mimetic takes the second one as body text: refused.
  EXPECT_NE(analyse_error("Content-Type: multipart/mixed; boundary=b\n\n--b\n--b\n"
                          "Content-Type: text/html\n\n--b--\n")
                .find("cross-check"),
            std::string::npos);
}

TEST(Structure, MboxFromLineIsNotAHeader) {
  const std::string msg = "From someone@example.com Mon May  2 16:07:05 2005\nSubject: x\n\nbody";
  const Structure s = analyse_ok(msg);
  ASSERT_EQ(s.headers.size(), 1u);
  EXPECT_EQ(s.headers[0].offset, msg.find("Subject"));
  ASSERT_EQ(s.leaves.size(), 1u);
  EXPECT_EQ(body_of(msg, s.leaves[0]), "body");
}

TEST(Structure, AttachmentsAreSkipped) {
  const std::string msg =
      "Content-Type: multipart/mixed; boundary=b\n\n"
      "--b\nContent-Type: text/plain\n\nkeep\n"
      "--b\nContent-Type: text/plain\nContent-Disposition: attachment\n\nno\n"
      "--b\nContent-Type: text/html; name=\"x.html\"\n\nno\n"
      "--b\nContent-Type: text/plain\nContent-Disposition: inline; filename=a.txt\n\nno\n"
      "--b\nContent-Type: text/plain\nContent-Disposition: INLINE; filename*=utf-8''a%20b\n\nno\n"
      "--b\nContent-Type: text/html\nContent-Disposition: inline\n\nkeep too\n"
      "--b--\n";
  const Structure s = analyse_ok(msg);
  ASSERT_EQ(s.leaves.size(), 2u);
  EXPECT_EQ(body_of(msg, s.leaves[0]), "keep");
  EXPECT_EQ(body_of(msg, s.leaves[1]), "keep too");
  ASSERT_EQ(s.skipped.size(), 4u);
  for (const SkippedPart& p : s.skipped) {
    EXPECT_EQ(p.reason, "attachment");
    EXPECT_TRUE(p.attachment);
  }
  EXPECT_EQ(s.skipped[0].path, "2");
}

TEST(Structure, MessageRfc822IsNotEntered) {
  const std::string msg =
      "Content-Type: multipart/mixed; boundary=b\n\n"
      "--b\nContent-Type: text/plain\n\nouter\n"
      "--b\nContent-Type: message/rfc822\n\n"
      "Subject: inner\nContent-Type: multipart/alternative; boundary=c\n\n"
      "--c\nContent-Type: text/html\n\n<a href=x>inner</a>\n--c--\n"
      "--b--\n";
  const Structure s = analyse_ok(msg);
  ASSERT_EQ(s.leaves.size(), 1u);
  EXPECT_EQ(body_of(msg, s.leaves[0]), "outer");
  ASSERT_EQ(s.skipped.size(), 1u);
  EXPECT_EQ(s.skipped[0].path, "2");
  EXPECT_EQ(s.skipped[0].media_type, "message/rfc822");
}

TEST(Structure, DigestPartsDefaultToMessageRfc822) {
  const std::string msg =
      "Content-Type: multipart/digest; boundary=d\n\n"
      "--d\n\nSubject: one\n\nbody one\n"
      "--d\nContent-Type: text/plain\n\nexplicit\n"
      "--d--\n";
  const Structure s = analyse_ok(msg);
  ASSERT_EQ(s.leaves.size(), 1u);
  EXPECT_EQ(body_of(msg, s.leaves[0]), "explicit");
  ASSERT_EQ(s.skipped.size(), 1u);
  EXPECT_EQ(s.skipped[0].media_type, "message/rfc822");
}

TEST(Structure, SignedAndEncryptedAreLeftAlone) {
  const std::string signed_msg =
      "Content-Type: multipart/signed; protocol=\"application/pgp-signature\"; boundary=s\n\n"
      "--s\nContent-Type: text/plain\n\nsigned text\n"
      "--s\nContent-Type: application/pgp-signature\n\nsig\n--s--\n";
  const Structure s = analyse_ok(signed_msg);
  EXPECT_TRUE(s.leaves.empty());
  ASSERT_EQ(s.skipped.size(), 1u);
  EXPECT_EQ(s.skipped[0].path, "0");
  EXPECT_EQ(s.skipped[0].media_type, "multipart/signed");
  EXPECT_FALSE(s.skipped[0].attachment);

  const Structure p = analyse_ok(
      "Content-Type: application/pkcs7-mime; "
      "smime-type=enveloped-data\n\nMIAGCSqGSIb3DQEHA6CAMIAC");
  EXPECT_TRUE(p.leaves.empty());
  ASSERT_EQ(p.skipped.size(), 1u);
}

TEST(Structure, BogusEncodingsAndCharsetsAreSkipped) {
  const std::string msg =
      "Content-Type: multipart/mixed; boundary=b\n\n"
      "--b\nContent-Type: text/plain\nContent-Transfer-Encoding: x-uuencode\n\nx\n"
      "--b\nContent-Type: text/plain\nContent-Transfer-Encoding:  BASE64 \n\neA==\n"
      "--b\nContent-Type: text/plain; charset=utf-16le\n\nx\n"
      "--b\nContent-Type: text/plain; charset=\"ISO-2022-JP\"\n\nx\n"
      "--b\nContent-Type: text/plain; charset=us-ascii (Plain text)\n\nok\n"
      "--b--\n";
  const Structure s = analyse_ok(msg);
  ASSERT_EQ(s.leaves.size(), 2u);
  EXPECT_EQ(s.leaves[0].encoding, TransferEncoding::kBase64);
  EXPECT_EQ(s.leaves[1].charset, "us-ascii");
  ASSERT_EQ(s.skipped.size(), 3u);
  EXPECT_EQ(s.skipped[0].reason, "unknown transfer encoding x-uuencode");
  EXPECT_NE(s.skipped[1].reason.find("utf-16le"), std::string::npos);
  EXPECT_NE(s.skipped[2].reason.find("iso-2022-jp"), std::string::npos);
}

TEST(Structure, AsciiCompatibleCharsets) {
  for (const char* yes : {"", "us-ascii", "utf-8", "iso-8859-1", "windows-1252", "koi8-r",
                          "shift_jis", "euc-kr", "big5", "x-unknown"}) {
    EXPECT_TRUE(ascii_compatible_charset(yes)) << yes;
  }
  for (const char* no : {"utf-16", "utf-16le", "utf-32be", "ucs-2", "utf-7", "iso-2022-jp",
                         "iso-2022-kr", "hz-gb-2312"}) {
    EXPECT_FALSE(ascii_compatible_charset(no)) << no;
  }
}

TEST(Structure, MissingCloseDelimiterAtEofIsAccepted) {
  const std::string msg =
      "Content-Type: multipart/alternative; boundary=b\n\n"
      "--b\nContent-Type: text/plain\n\none\n"
      "--b\nContent-Type: text/html\n\ntwo runs to EOF\n";
  const Structure s = analyse_ok(msg);
  ASSERT_EQ(s.leaves.size(), 2u);
  EXPECT_EQ(body_of(msg, s.leaves[1]), "two runs to EOF\n");
}

TEST(Structure, UnsafeStructuresAreErrors) {
  EXPECT_NE(analyse_error("Content-Type: multipart/mixed\n\n--x\n\nhi\n--x--\n").find("boundary"),
            std::string::npos);
  EXPECT_NE(analyse_error("Content-Type: multipart/mixed; boundary=\"\"\n\nhi\n").find("boundary"),
            std::string::npos);
  EXPECT_NE(analyse_error("Content-Type: multipart/mixed; boundary=b\n\nno parts here\n")
                .find("no delimiter"),
            std::string::npos);
  // An inner multipart that is never closed before the outer delimiter.
  EXPECT_NE(analyse_error("Content-Type: multipart/mixed; boundary=ab\n\n"
                          "--ab\nContent-Type: multipart/mixed; boundary=a\n\n"
                          "--a\nContent-Type: text/plain\n\nbody\n"
                          "--ab\nContent-Type: text/html\n\nbody2\n--ab--\n")
                .find("not closed"),
            std::string::npos);
  // Conflicting Content-Type fields.
  EXPECT_NE(
      analyse_error("Content-Type: text/plain\nContent-Type: text/html\n\nx").find("conflicting"),
      std::string::npos);
  // A top-level header line that is not a field.
  EXPECT_NE(analyse_error("Subject: x\nthis is not a header\n\nbody").find("malformed"),
            std::string::npos);
  // The same boundary reused by a nested multipart.
  analyse_error(
      "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
      "Content-Type: multipart/alternative; boundary=b\n\n--b\n"
      "Content-Type: text/plain\n\nx\n--b--\n");
}

TEST(Structure, NestingDepthIsLimited) {
  const auto nested = [](int depth) {
    std::string head = "Content-Type: multipart/mixed; boundary=b0\n\n";
    std::string tail = "--b0--\n";
    for (int i = 1; i < depth; ++i) {
      head += "--b" + std::to_string(i - 1) + "\nContent-Type: multipart/mixed; boundary=b" +
              std::to_string(i) + "\n\n";
      tail = "--b" + std::to_string(i) + "--\n" + tail;
    }
    return head + "--b" + std::to_string(depth - 1) + "\nContent-Type: text/html\n\nx\n" + tail;
  };
  const Structure s = analyse_ok(nested(40));
  ASSERT_EQ(s.leaves.size(), 1u);
  EXPECT_EQ(body_of(nested(40), s.leaves[0]), "x");
  EXPECT_NE(analyse_error(nested(60)).find("deeper"), std::string::npos);
}

TEST(Structure, PartHeaderWithoutBlankLineIsLeftAlone) {
  const std::string msg =
      "Content-Type: multipart/mixed; boundary=foo\n\n"
      "--foo\nContent-Type: text/plain\nbar\n\n--foo--\n";
  const Structure s = analyse_ok(msg);
  EXPECT_TRUE(s.leaves.empty());
  ASSERT_EQ(s.skipped.size(), 1u);
  EXPECT_EQ(s.skipped[0].reason, "malformed header block");
}

TEST(Structure, CrossCheckRefusesWhatMimeticReadsDifferently) {
  // "--bX" is not our delimiter (exact match) but mimetic takes any line
  // starting with "--b" as one: readers disagree, so the message is refused.
  const std::string msg =
      "Content-Type: multipart/mixed; boundary=b\n\n"
      "--b\nContent-Type: text/plain\n\nline\n--bX not a delimiter\nmore\n"
      "--b--\n";
  EXPECT_NE(analyse_error(msg).find("cross-check"), std::string::npos);
}

TEST(Structure, TruncatedEmbeddedMessageDoesNotHideLaterParts) {
  // The message/rfc822 part holds a multipart that was cut off (as in a
  // bounce). We do not enter it; mimetic would, and would then lose part 3,
  // so it is shown the embedded message without its body.
  const std::string msg =
      "Content-Type: multipart/mixed; boundary=outer\n\n"
      "--outer\nContent-Type: text/plain\n\nfirst\n"
      "--outer\nContent-Type: message/rfc822\n\n"
      "Subject: cut\nContent-Type: multipart/alternative; boundary=inner\n\n"
      "--inner\nContent-Type: text/plain\n\ncut off here\n"
      "--outer\nContent-Type: text/html\n\n<p>after</p>\n"
      "--outer--\n";
  const Structure s = analyse_ok(msg);
  ASSERT_EQ(s.leaves.size(), 2u);
  EXPECT_EQ(body_of(msg, s.leaves[1]), "<p>after</p>");
  // A line that only a prefix-matching reader takes for the enclosing
  // delimiter is still caught inside the part we do not enter.
  std::string ambiguous = msg;
  ambiguous.insert(ambiguous.find("cut off here"), "--outerX\n");
  EXPECT_NE(analyse_error(ambiguous).find("cross-check"), std::string::npos);
}

TEST(Structure, GarbageNeverCrashes) {
  for (const char* m : {"", "\n", "\r\n\r\n", ":", "a:", " x", "Content-Type: multipart/", "--",
                        "Content-Type: multipart/mixed; boundary=\"a;b\"\n\n--a;b\n\n--a;b--\n",
                        "Content-Type: ;;;===\n\nx", "Content-Type: text/html; charset=\"\n\nx"}) {
    const Result<Structure> r = analyse(m);
    if (r.ok()) {
      for (const TextLeaf& l : r->leaves) EXPECT_LE(l.body_offset + l.body_length, std::strlen(m));
    }
  }
}

}  // namespace
}  // namespace trackrelay::mime
