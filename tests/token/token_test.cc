// Tests for token/: round trips, and that no alteration ever verifies.
#include "token/token.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <random>
#include <vector>

namespace trackrelay::token {
namespace {

const Key kK1{"k1", "0123456789abcdef0123456789abcdef-one"};
const Key kK2{"k2", "0123456789abcdef0123456789abcdef-two"};

Claims sample() {
  Claims c;
  c.kind = Kind::kClick;
  c.target = "https://www.example.com/path?a=1&b=2#frag";
  c.link_name = "Buy now";
  c.tracking_domain = "click.example.com";
  c.message_id = "20261126.abc@example.com";
  c.rcpt_to = "alice@example.org";
  c.campaign_id = "black-friday";
  c.sending_domain = "example.com";
  c.issued_at = 1795000000;
  return c;
}

TEST(Token, RoundTripCarriesEveryField) {
  Claims c = sample();
  std::string t = encode(c, kK1);
  std::vector<Key> keys{kK1};
  auto r = verify(t, keys, "click.example.com");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->kind, c.kind);
  EXPECT_EQ(r->target, c.target);
  EXPECT_EQ(r->link_name, c.link_name);
  EXPECT_EQ(r->tracking_domain, c.tracking_domain);
  EXPECT_EQ(r->message_id, c.message_id);
  EXPECT_EQ(r->rcpt_to, c.rcpt_to);
  EXPECT_EQ(r->campaign_id, c.campaign_id);
  EXPECT_EQ(r->sending_domain, c.sending_domain);
  EXPECT_EQ(r->issued_at, c.issued_at);
  EXPECT_EQ(r->key_id, "k1");
}

// Issue 10: the (sub)account rides in the token; tokens of the primary
// account are byte for byte what they were before the field existed, so
// tokens already issued keep verifying (as subaccount 0).
TEST(Token, SubaccountIdRoundTripsAndOldTokensDecodeAsPrimary) {
  std::vector<Key> keys{kK1};
  Claims c = sample();
  const std::string old_format = encode(c, kK1);
  auto r = verify(old_format, keys, "click.example.com");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->subaccount_id, 0);
  for (std::int64_t sub :
       {std::int64_t{1}, std::int64_t{127}, std::int64_t{128}, std::int64_t{1} << 40}) {
    c.subaccount_id = sub;
    const std::string t = encode(c, kK1);
    EXPECT_NE(t, old_format);
    EXPECT_LE(t.size(), old_format.size() + 8) << "a few bytes at most";
    auto v = verify(t, keys, "click.example.com");
    ASSERT_TRUE(v.ok()) << v.error();
    EXPECT_EQ(v->subaccount_id, sub);
    EXPECT_EQ(v->target, c.target);
  }
  c.subaccount_id = -5;  // not an account: encoded as the primary's
  EXPECT_EQ(encode(c, kK1), old_format);
}

// A token signed by hand (the format of token.h, body not deflated), so the
// verifier's handling of the optional subaccount id can be probed.
std::string forge(std::string_view after_strings) {
  std::string body;
  body.push_back(1);     // click
  body.push_back(0x05);  // issued_at 5
  for (std::string_view s : {"https://x.example/", "", "click.example.com", "m", "", "", ""}) {
    body.push_back(static_cast<char>(s.size()));
    body.append(s);
  }
  body.append(after_strings);
  std::string raw = std::string("\x10\x02k1", 4) + body;
  const std::string input = std::string("trackrelay/token/1\0", 19) + raw;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), kK1.secret.data(), static_cast<int>(kK1.secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), md, &len);
  raw.append(reinterpret_cast<const char*>(md), 16);
  return base64url_encode(raw);
}

TEST(Token, SubaccountIdMustBeCanonical) {
  std::vector<Key> keys{kK1};
  auto plain = verify(forge(""), keys, "click.example.com");
  ASSERT_TRUE(plain.ok()) << plain.error() << " (the forged format must match token.h)";
  EXPECT_EQ(plain->subaccount_id, 0);
  auto five = verify(forge("\x05"), keys, "click.example.com");
  ASSERT_TRUE(five.ok()) << five.error();
  EXPECT_EQ(five->subaccount_id, 5);
  for (std::string_view bad : {std::string_view("\x00", 1), std::string_view("\x85\x00", 2),
                               std::string_view("\x80"), std::string_view("\x05\x00", 2),
                               std::string_view("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01")}) {
    EXPECT_FALSE(verify(forge(bad), keys, "click.example.com").ok())
        << "zero, padded, truncated, trailing or over INT64_MAX: " << bad.size() << " bytes";
  }
}

TEST(Token, IsUrlSafe) {
  std::string t = encode(sample(), kK1);
  for (char ch : t) {
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_') << ch;
  }
}

TEST(Token, OpenKindsAndEmptyFields) {
  for (Kind k : {Kind::kOpen, Kind::kInitialOpen}) {
    Claims c;
    c.kind = k;
    c.tracking_domain = "t.example.net";
    std::vector<Key> keys{kK1};
    auto r = verify(encode(c, kK1), keys, "t.example.net");
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->kind, k);
    EXPECT_EQ(r->target, "");
  }
  EXPECT_EQ(kind_name(Kind::kInitialOpen), "initial_open");
}

TEST(Token, HostIsBoundCaseInsensitivelyPortIgnored) {
  std::string t = encode(sample(), kK1);
  std::vector<Key> keys{kK1};
  EXPECT_TRUE(verify(t, keys, "CLICK.Example.COM").ok());
  EXPECT_TRUE(verify(t, keys, "click.example.com:8443").ok());
  EXPECT_FALSE(verify(t, keys, "links.example.org").ok());
  EXPECT_FALSE(verify(t, keys, "click.example.com.evil.test").ok());
  EXPECT_FALSE(verify(t, keys, "").ok());
}

TEST(Token, RotationFirstSignsAllVerify) {
  std::vector<Key> both{kK2, kK1};
  std::vector<Key> only_new{kK2};
  std::string old_token = encode(sample(), kK1);
  auto r = verify(old_token, both, "click.example.com");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->key_id, "k1");
  EXPECT_FALSE(verify(old_token, only_new, "click.example.com").ok());
}

TEST(Token, SameIdOtherSecretDoesNotVerify) {
  Key forged{"k1", "an-attacker-guess-of-the-secret-xxxxxxxx"};
  std::vector<Key> keys{kK1};
  EXPECT_FALSE(verify(encode(sample(), forged), keys, "click.example.com").ok());
}

TEST(Token, EveryBitFlipIsRejected) {
  std::string raw = *base64url_decode(encode(sample(), kK1));
  std::vector<Key> keys{kK1};
  for (std::size_t i = 0; i < raw.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string m = raw;
      m[i] = static_cast<char>(m[i] ^ (1 << bit));
      EXPECT_FALSE(verify(base64url_encode(m), keys, "click.example.com").ok())
          << "byte " << i << " bit " << bit;
    }
  }
}

TEST(Token, TruncationAndExtensionAreRejected) {
  std::string t = encode(sample(), kK1);
  std::vector<Key> keys{kK1};
  for (std::size_t n = 0; n < t.size(); ++n) {
    EXPECT_FALSE(verify(t.substr(0, n), keys, "click.example.com").ok()) << n;
  }
  for (std::string ext : {"A", "AA", "AAAA", "-", "_x"}) {
    EXPECT_FALSE(verify(t + ext, keys, "click.example.com").ok()) << ext;
  }
  EXPECT_FALSE(verify(t + "=", keys, "click.example.com").ok());
  EXPECT_FALSE(verify(std::string(kMaxTokenLength + 1, 'A'), keys, "click.example.com").ok());
}

TEST(Token, NonCanonicalReEncodingIsRejected) {
  // Re-encode with the standard alphabet or padding: same bytes, other text.
  std::string t = encode(sample(), kK1);
  std::vector<Key> keys{kK1};
  std::string std64 = t;
  for (char& c : std64) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  if (std64 != t) {
    EXPECT_FALSE(verify(std64, keys, "click.example.com").ok());
  }
  // Flip the unused low bits of the last character when there are some.
  if (t.size() % 4 != 0) {
    std::string m = t;
    static const std::string kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    auto pos = kAlphabet.find(m.back());
    m.back() = kAlphabet[pos ^ 1];
    auto dec = base64url_decode(m);
    EXPECT_FALSE(dec.ok());
  }
}

TEST(Token, LongRepetitiveTargetsAreCompressed) {
  Claims c = sample();
  c.target = "https://www.example.com/";
  for (int i = 0; i < 40; ++i) c.target += "utm_source=newsletter&";
  std::string t = encode(c, kK1);
  EXPECT_LT(t.size(), c.target.size());
  std::vector<Key> keys{kK1};
  auto r = verify(t, keys, "click.example.com");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->target, c.target);
}

TEST(Token, RandomGarbageNeverVerifies) {
  std::mt19937 rng(42);
  std::vector<Key> keys{kK1};
  for (int i = 0; i < 20000; ++i) {
    std::string raw(rng() % 200, '\0');
    for (char& ch : raw) ch = static_cast<char>(rng());
    if (raw.size() > 2) {  // give it a plausible header half of the time
      raw[0] = static_cast<char>(0x10 | (rng() & 1));
      if (i % 2) {
        raw[1] = 2;
        raw[2] = 'k';
        raw[3 % raw.size()] = '1';
      }
    }
    EXPECT_FALSE(verify(base64url_encode(raw), keys, "click.example.com").ok());
  }
}

TEST(Base64Url, RoundTripsAllLengths) {
  std::mt19937 rng(7);
  for (std::size_t n = 0; n < 100; ++n) {
    std::string data(n, '\0');
    for (char& ch : data) ch = static_cast<char>(rng());
    auto enc = base64url_encode(data);
    EXPECT_EQ(enc.find('='), std::string::npos);
    auto dec = base64url_decode(enc);
    ASSERT_TRUE(dec.ok()) << n;
    EXPECT_EQ(*dec, data);
  }
  EXPECT_FALSE(base64url_decode("ab$d").ok());
  EXPECT_FALSE(base64url_decode("abcde").ok());
}

}  // namespace
}  // namespace trackrelay::token
