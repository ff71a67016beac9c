// Tests for token/: the transmission id (issue 11) — round trips with and
// without a subaccount, the flag-bit layout is canonical, and tokens issued
// before it existed still verify unchanged.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>
#include <vector>

#include "token/token.h"

namespace trackrelay::token {
namespace {

const Key kKey{"k1", "0123456789abcdef0123456789abcdef-one"};

Claims sample() {
  Claims c;
  c.target = "https://www.example.com/path?a=1";
  c.tracking_domain = "click.example.com";
  c.message_id = "20261126.abc@example.com";
  c.rcpt_to = "alice@example.org";
  c.campaign_id = "spring";
  c.sending_domain = "example.com";
  c.issued_at = 1795000000;
  return c;
}

// Signs `body` (not deflated) under header byte `head` (token.h's format).
std::string forge(char head, std::string_view fields_after_strings) {
  std::string body;
  body.push_back(1);     // click
  body.push_back(0x05);  // issued_at 5
  for (std::string_view s : {"https://x.example/", "", "click.example.com", "m", "", "", ""}) {
    body.push_back(static_cast<char>(s.size()));
    body.append(s);
  }
  body.append(fields_after_strings);
  std::string raw = std::string(1, head) + std::string("\x02k1", 3) + body;
  const std::string input = std::string("trackrelay/token/1\0", 19) + raw;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), kKey.secret.data(), static_cast<int>(kKey.secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), md, &len);
  raw.append(reinterpret_cast<const char*>(md), 16);
  return base64url_encode(raw);
}

TEST(TokenTransmission, RoundTripsWithAndWithoutSubaccount) {
  const std::vector<Key> keys{kKey};
  for (std::int64_t sub : {std::int64_t{0}, std::int64_t{7}, std::int64_t{1} << 40}) {
    Claims c = sample();
    c.subaccount_id = sub;
    c.transmission_id = "123456789012345678";
    auto v = verify(encode(c, kKey), keys, "click.example.com");
    ASSERT_TRUE(v.ok()) << v.error();
    EXPECT_EQ(v->transmission_id, c.transmission_id);
    EXPECT_EQ(v->subaccount_id, sub);
    EXPECT_EQ(v->rcpt_to, c.rcpt_to);
    EXPECT_EQ(v->target, c.target);
  }
}

TEST(TokenTransmission, TokensWithoutItAreUnchanged) {
  const std::vector<Key> keys{kKey};
  Claims c = sample();
  const std::string before = encode(c, kKey);
  auto v = verify(before, keys, "click.example.com");
  ASSERT_TRUE(v.ok()) << v.error();
  EXPECT_EQ(v->transmission_id, "");
  c.transmission_id = "987654321098765432";
  const std::string with = encode(c, kKey);
  EXPECT_NE(with, before);
  EXPECT_LE(with.size(), before.size() + 28) << "18 digits and a flag cost a few bytes";
}

TEST(TokenTransmission, LayoutIsCanonical) {
  const std::vector<Key> keys{kKey};
  const std::string id = std::string("\x03", 1) + "123";
  auto ok = verify(forge('\x12', std::string("\x00", 1) + id), keys, "click.example.com");
  ASSERT_TRUE(ok.ok()) << ok.error() << " (the forged format must match token.h)";
  EXPECT_EQ(ok->transmission_id, "123");
  EXPECT_EQ(ok->subaccount_id, 0);
  auto sub = verify(forge('\x12', "\x05" + id), keys, "click.example.com");
  ASSERT_TRUE(sub.ok()) << sub.error();
  EXPECT_EQ(sub->subaccount_id, 5);
  const std::string bad[] = {
      std::string("\x00\x00", 2),       // flag set, transmission id empty
      std::string("\x80\x00", 2) + id,  // subaccount not in its shortest form
      std::string("\x00\x03"
                  "12a",
                  5),                     // not digits
      std::string("\x00", 1) + id + "x",  // trailing bytes
      std::string("\x00", 1),             // truncated
      "",                                 // flag set, fields missing
  };
  for (const std::string& b : bad) {
    EXPECT_FALSE(verify(forge('\x12', b), keys, "click.example.com").ok()) << b.size() << " bytes";
  }
  // Flag clear: a transmission id after the subaccount is trailing garbage.
  EXPECT_FALSE(verify(forge('\x10', "\x05" + id), keys, "click.example.com").ok());
  EXPECT_FALSE(verify(forge('\x14', ""), keys, "click.example.com").ok()) << "unknown flag";
}

}  // namespace
}  // namespace trackrelay::token
