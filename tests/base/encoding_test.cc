// tests/base/encoding_test.cc — base64 (RFC 4648 §10 vectors), base64url
// (canonical only) and hex (base/encoding.h).
#include "base/encoding.h"

#include <gtest/gtest.h>

#include <string>

namespace trackrelay {
namespace {

TEST(Base64, Rfc4648Vectors) {
  const std::pair<std::string, std::string> kVectors[] = {{"", ""},
                                                          {"f", "Zg=="},
                                                          {"fo", "Zm8="},
                                                          {"foo", "Zm9v"},
                                                          {"foob", "Zm9vYg=="},
                                                          {"fooba", "Zm9vYmE="},
                                                          {"foobar", "Zm9vYmFy"}};
  for (const auto& [raw, text] : kVectors) {
    EXPECT_EQ(base64_encode(raw), text);
    auto back = base64_decode(text);
    ASSERT_TRUE(back.ok()) << text;
    EXPECT_EQ(*back, raw);
  }
}

TEST(Base64, BinaryRoundTrip) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  auto back = base64_decode(base64_encode(all));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, all);
}

TEST(Base64, RejectsWhatIsNotStandardBase64) {
  EXPECT_EQ(base64_decode("Zm9").error(), "bad base64 length");
  EXPECT_EQ(base64_decode("Zm9v\n").error(), "bad base64 length");
  EXPECT_EQ(base64_decode("Zm-_").error(), "bad base64");
  EXPECT_EQ(base64_decode("Z=9v").error(), "bad base64");
  EXPECT_EQ(base64_decode("Zg==Zm9v").error(), "bad base64");
  EXPECT_EQ(base64_decode("    ").error(), "bad base64");
}

TEST(Base64Url, NoPaddingAndUrlAlphabet) {
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  auto back = base64url_decode("-_8");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, "\xfb\xff");
}

TEST(Base64Url, RejectsNonCanonicalInput) {
  EXPECT_FALSE(base64url_decode("Zg==").ok());   // padding
  EXPECT_FALSE(base64url_decode("Zh").ok());     // stray low bits
  EXPECT_FALSE(base64url_decode("Zm+v").ok());   // standard alphabet
  EXPECT_FALSE(base64url_decode("Zm9vY").ok());  // impossible length
  EXPECT_TRUE(base64url_decode("").ok());
}

TEST(Hex, LowerCaseTwoDigitsAByte) {
  EXPECT_EQ(hex_encode(std::string("\x00\x0f\xa0\xff", 4)), "000fa0ff");
  const unsigned char raw[] = {0xde, 0xad};
  EXPECT_EQ(hex_encode(raw, sizeof raw), "dead");
  EXPECT_EQ(hex_encode(""), "");
}

}  // namespace
}  // namespace trackrelay
