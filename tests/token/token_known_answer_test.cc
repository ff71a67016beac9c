// Known answers for token::encode: the bytes of these tokens were produced by
// the encoder before its internals were optimised (a fresh zlib stream and a
// one-shot HMAC() per token); the per-thread deflate stream and keyed HMAC
// context must give the very same tokens, in any order and across keys.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "token/token.h"

namespace trackrelay::token {
namespace {

const Key kK1{"k1", "0123456789abcdef0123456789abcdef-one"};
const Key kK2{"k2", "0123456789abcdef0123456789abcdef-two"};

Claims click() {
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

struct Known {
  Claims claims;
  const Key* key;
  std::string token;
};

std::vector<Known> known() {
  Claims open;
  open.kind = Kind::kOpen;
  open.tracking_domain = "t.example";
  open.issued_at = 1;
  Claims sub = click();
  sub.subaccount_id = 4242;
  sub.kind = Kind::kInitialOpen;
  sub.target.clear();
  Claims long_target = click();
  long_target.target = "https://example.com/?";
  for (int i = 0; i < 60; ++i) long_target.target += "utm_source=newsletter&";
  return {
      {click(), &kK1,
       "EQJrMWM80PvtOptmRklJQbGVvn55ebleakVibkFOql5yfq5-QWJJhn2iraFakq2RclpRYj"
       "q7U2mlQl5-uWByTmZyNrJaCSMDIzNDQyMzvcSkZAckCcFEoNJUuEh-UTpPUk5icrZuWlFm"
       "SmIlN5JSAHUOGTkJGGLRKZtJe7LdHgw"},
      {click(), &kK2,
       "EQJrMmM80PvtOptmRklJQbGVvn55ebleakVibkFOql5yfq5-QWJJhn2iraFakq2RclpRYj"
       "q7U2mlQl5-uWByTmZyNrJaCSMDIzNDQyMzvcSkZAckCcFEoNJUuEh-UTpPUk5icrZuWlFm"
       "SmIlN5JSAIN76VpFqNtKBDxUQS7kQOY"},
      {open, &kK1, "EAJrMQIBAAAJdC5leGFtcGxlAAAAAAYFZ2XEMLHy1MXfrffJafE"},
      {sub, &kK2,
       "EQJrMmM-0PvtOhsDu1NppUJefrlgck5mcrZeakVibkFOql5yfq6EkYGRmaGhkZleYlKyA5"
       "KEYCJQaSpcJL8onScpJzE5WzetKDMlsZIbSekkRQAUrDV3Y2Qhs09vPDFR4NE5"},
      {long_target, &kK1,
       "EQJrMWM80PvtOtteroySkoJiK3391IrE3IKcVL3k_Fx9-9KS3Pji_NKi5FTbvNTy4pzUkp"
       "LUIrVR0VHRUdFR0VFRmCi7U2mlQl5-uWByTmZytl5qRWJuQU6qXnJ-roSRgZGZoaGRmV5i"
       "UrIDkoRgIlBpKlwkvyidJyknMTlbN60oMyWxkhtJKQCMzsuAifqI_JKE28YP4dpx"},
  };
}

TEST(TokenKnownAnswers, EncodeGivesTheSameBytesAsBefore) {
  const std::vector<Known> cases = known();
  // Twice over, interleaving keys: reused state must not leak between tokens.
  for (int round = 0; round < 2; ++round) {
    for (const Known& k : cases) EXPECT_EQ(encode(k.claims, *k.key), k.token);
  }
  for (auto it = cases.rbegin(); it != cases.rend(); ++it) {
    EXPECT_EQ(encode(it->claims, *it->key), it->token);
  }
}

TEST(TokenKnownAnswers, KnownTokensVerify) {
  const Key keys[] = {kK1, kK2};
  for (const Known& k : known()) {
    auto v = verify(k.token, keys, k.claims.tracking_domain);
    ASSERT_TRUE(v.ok()) << v.error();
    EXPECT_EQ(v->target, k.claims.target);
    EXPECT_EQ(v->subaccount_id, k.claims.subaccount_id);
    EXPECT_EQ(v->key_id, k.key->id);
  }
}

}  // namespace
}  // namespace trackrelay::token
