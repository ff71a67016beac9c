// tests/token/verify_decode_test.cc — verify()'s one-pass base64url decoder
// (token/token.cc, issue 12) against base/encoding.h's base64url_decode, the
// reference: the same inputs accepted, the same bytes, over every 0–3
// character string of a mixed alphabet, random text, and every last
// character after each length of real encodings. And verify() on the thread's
// reused buffers: tokens one after another (deflated or not, good or bad)
// give each its own claims.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "token/token.h"

namespace trackrelay::token {
namespace {

constexpr std::string_view kMixed =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=$ .\x80";
constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void expect_same(const std::string& text) {
  auto want = base64url_decode(text);
  std::string got = "stale bytes from an earlier token";
  const bool ok = internal::decode_base64url(text, got);
  ASSERT_EQ(ok, want.ok()) << "'" << text << "'";
  if (ok) {
    ASSERT_EQ(got, *want) << "'" << text << "'";
  }
}

TEST(TokenDecode, AgreesWithBase64UrlDecodeOnEveryShortString) {
  expect_same("");
  for (char a : kMixed) {
    expect_same(std::string{a});
    for (char b : kMixed) {
      expect_same(std::string{a, b});
      for (char c : kMixed) expect_same(std::string{a, b, c});
    }
  }
}

TEST(TokenDecode, AgreesOnRandomTextAndEveryLastCharacter) {
  std::mt19937 rng(12);
  for (int i = 0; i < 20000; ++i) {
    std::string text(rng() % 40, 'A');
    for (char& ch : text) ch = kMixed[rng() % kMixed.size()];
    expect_same(text);
  }
  for (std::size_t n = 1; n < 70; ++n) {
    std::string data(n, '\0');
    for (char& ch : data) ch = static_cast<char>(rng());
    const std::string enc = base64url_encode(data);
    for (char last : kAlphabet) {  // exactly one is canonical when bits are unused
      std::string t = enc;
      t.back() = last;
      expect_same(t);
    }
  }
}

TEST(TokenDecode, VerifyKeepsEachTokensClaimsAcrossReusedBuffers) {
  const Key key{"k1", "0123456789abcdef0123456789abcdef-one"};
  const std::vector<Key> keys{key};
  std::vector<std::string> tokens;
  std::vector<std::string> targets;
  for (int i = 0; i < 6; ++i) {
    Claims c;
    c.kind = Kind::kClick;
    // Long and repetitive (deflated) or short (not), alternately.
    c.target = i % 2 ? "https://example.com/" + std::string(300, static_cast<char>('a' + i))
                     : "https://example.com/" + std::to_string(i);
    c.tracking_domain = "click.example.com";
    c.issued_at = 1795000000 + i;
    tokens.push_back(encode(c, key));
    targets.push_back(c.target);
  }
  for (int round = 0; round < 2; ++round) {
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      auto bad =
          verify(tokens[i].substr(0, tokens[i].size() - 2) + "AA", keys, "click.example.com");
      EXPECT_FALSE(bad.ok());
      auto c = verify(tokens[i], keys, "click.example.com");
      ASSERT_TRUE(c.ok()) << c.error();
      EXPECT_EQ(c->target, targets[i]);
      EXPECT_EQ(c->issued_at, 1795000000 + static_cast<std::int64_t>(i));
    }
  }
}

}  // namespace
}  // namespace trackrelay::token
