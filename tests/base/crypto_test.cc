// tests/base/crypto_test.cc — random bytes/hex and PBKDF2 password hashes
// (base/crypto.h) against known answers, and the hash text format
// (base/password_hash.h).
#include "base/crypto.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "base/encoding.h"

namespace trackrelay {
namespace {

TEST(Random, HexHasTwoDigitsAByteAndDiffers) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string h = random_hex(16);
    ASSERT_EQ(h.size(), 32u);
    EXPECT_EQ(h.find_first_not_of("0123456789abcdef"), std::string::npos) << h;
    seen.insert(h);
  }
  EXPECT_EQ(seen.size(), 100u);
  auto raw = random_bytes(7);
  ASSERT_TRUE(raw.has_value());
  EXPECT_EQ(raw->size(), 7u);
}

// RFC 7914 §11: PBKDF2-HMAC-SHA256 ("passwd", "salt", c = 1).
TEST(PasswordHash, Pbkdf2KnownAnswer) {
  EXPECT_EQ(hex_encode(make_password_hash("passwd", "salt", 1)),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc");
}

TEST(PasswordHash, VerifiesOnlyTheRightPassword) {
  const std::string salt = "saltsaltsalt";
  const std::string text = "pbkdf2-sha256$1000$" + base64_encode(salt) + "$" +
                           base64_encode(make_password_hash("s3cret", salt, 1000));
  auto h = parse_password_hash_format(text);
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h->iterations, 1000);
  EXPECT_TRUE(verify_password(*h, "s3cret"));
  EXPECT_FALSE(verify_password(*h, "s3cret "));
  EXPECT_FALSE(verify_password(*h, ""));
}

TEST(PasswordHash, FormatErrorsSayWhatIsWrong) {
  const std::string hash = base64_encode(std::string(32, 'h'));
  EXPECT_EQ(parse_password_hash_format("md5$1$a$b").error(),
            "expected pbkdf2-sha256$ITERATIONS$SALT$HASH");
  EXPECT_EQ(parse_password_hash_format("pbkdf2-sha256$999$c2FsdHNhbHQ=$" + hash).error(),
            "iterations must be a number >= 1000");
  EXPECT_EQ(parse_password_hash_format("pbkdf2-sha256$1000$c2FsdA==$" + hash).error(),
            "the salt must be base64 of at least 8 bytes");
  EXPECT_EQ(parse_password_hash_format("pbkdf2-sha256$1000$c2FsdHNhbHQ=$aGFzaA==").error(),
            "the hash must be base64 of 32 bytes");
}

}  // namespace
}  // namespace trackrelay
