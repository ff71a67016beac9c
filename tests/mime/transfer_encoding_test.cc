// The Content-Transfer-Encoding alias table (mime/transfer_encoding.h): each
// accepted spelling maps to its encoding; everything else stays unknown; a
// part with an alias is a rewritable leaf and the mimetic cross-check agrees.
#include "mime/transfer_encoding.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "mime/structure.h"

namespace trackrelay::mime {
namespace {

using TE = TransferEncoding;

const std::vector<std::pair<std::string, TE>>& aliases() {
  static const std::vector<std::pair<std::string, TE>> kAliases = {
      {"7bit", TE::kSevenBit},
      {"7BIT", TE::kSevenBit},
      {"7bits", TE::kSevenBit},
      {"7-bit", TE::kSevenBit},
      {"7 bit", TE::kSevenBit},
      {"7_bit", TE::kSevenBit},
      {"7bit;", TE::kSevenBit},
      {"8bit", TE::kEightBit},
      {"8bits", TE::kEightBit},
      {"8BITS", TE::kEightBit},
      {"8-bit", TE::kEightBit},
      {"8 bit", TE::kEightBit},
      {"8 bits", TE::kEightBit},
      {"8-bits", TE::kEightBit},
      {" 8bit ; ", TE::kEightBit},
      {"8bit (sent by a 2002 mailer)", TE::kEightBit},
      {"\"8bit\"", TE::kEightBit},
      {"binary", TE::kBinary},
      {"Binary;", TE::kBinary},
      {"quoted-printable", TE::kQuotedPrintable},
      {"Quoted-Printable", TE::kQuotedPrintable},
      {"quoted printable", TE::kQuotedPrintable},
      {"quoted-printable;", TE::kQuotedPrintable},
      {"quoted_printable", TE::kQuotedPrintable},
      {"quotedprintable", TE::kQuotedPrintable},
      {"quoted-printable (comment (nested))", TE::kQuotedPrintable},
      {"base64", TE::kBase64},
      {"BASE64", TE::kBase64},
      {"base-64", TE::kBase64},
      {"base 64", TE::kBase64},
      {"base64;", TE::kBase64},
      {"", TE::kSevenBit},
      {"(only a comment)", TE::kSevenBit},
  };
  return kAliases;
}

TEST(TransferEncodingAliases, EachAliasMapsToItsEncoding) {
  for (const auto& [value, encoding] : aliases()) {
    auto got = transfer_encoding_of(value);
    ASSERT_TRUE(got.has_value()) << "\"" << value << "\" should be known";
    EXPECT_EQ(*got, encoding) << "\"" << value << "\"";
  }
}

TEST(TransferEncodingAliases, ValuesNotInTheTableStayUnknown) {
  for (const std::string value :
       {"x-uuencode", "uuencode", "qp", "8bit quoted-printable", "base64; charset=x", "7bitt",
        "bits", "8", "quoted", "base", "text/html", "quoted-printable (unclosed", "base64)",
        "\"8bit", "16bit", "base32", "8bitss", "x-8bit"}) {
    EXPECT_FALSE(transfer_encoding_of(value).has_value()) << "\"" << value << "\"";
  }
}

TEST(TransferEncodingAliases, KeysAndNames) {
  EXPECT_EQ(transfer_encoding_key("Quoted Printable ;"), "quotedprintable");
  EXPECT_EQ(transfer_encoding_key("8-Bits (x)"), "8bit");
  EXPECT_FALSE(transfer_encoding_key("(x").has_value());
  EXPECT_EQ(transfer_encoding_name(TE::kQuotedPrintable), "quoted-printable");
  EXPECT_EQ(transfer_encoding_name(TE::kEightBit), "8bit");
}

// The whole analysis, with the mimetic cross-check, for every alias: a text
// leaf (inside a multipart/alternative, itself with an alias CTE) in the
// encoding the table gives.
TEST(TransferEncodingAliases, AliasPartsAreLeavesAndTheCrossCheckAgrees) {
  for (const auto& [value, encoding] : aliases()) {
    const std::string msg =
        "From: a@example.com\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/alternative; boundary=\"b1\"\r\n"
        "Content-Transfer-Encoding: 8bits\r\n\r\n"
        "--b1\r\nContent-Type: text/html; charset=utf-8\r\n"
        "Content-Transfer-Encoding: " +
        value +
        "\r\n\r\n<a href=\"https://x.example/\">x</a>\r\n"
        "--b1\r\nContent-Type: text/plain\r\n\r\nhttps://y.example/\r\n--b1--\r\n";
    auto s = analyse(msg);
    ASSERT_TRUE(s.ok()) << value << ": " << s.error();
    ASSERT_EQ(s->leaves.size(), 2u) << value;
    EXPECT_EQ(s->leaves[0].encoding, encoding) << value;
    EXPECT_TRUE(s->skipped.empty()) << value;
  }
}

TEST(TransferEncodingAliases, UnknownValueIsStillSkipped) {
  const std::string msg =
      "From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: text/html\r\n"
      "Content-Transfer-Encoding: x-uue\r\n\r\n<a href=\"https://x.example/\">x</a>\r\n";
  auto s = analyse(msg);
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_TRUE(s->leaves.empty());
  ASSERT_EQ(s->skipped.size(), 1u);
  EXPECT_EQ(s->skipped[0].reason, "unknown transfer encoding x-uue");
}

}  // namespace
}  // namespace trackrelay::mime
