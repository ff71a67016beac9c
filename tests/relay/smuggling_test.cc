// tests/relay/smuggling_test.cc — SMTP smuggling without sockets: every
// published end-of-data variant through the DATA decoder in both
// relay.bare_newline modes (fed in every chunk size), the canonical form
// sent upstream read by a strict and by a lenient reader, BDAT content,
// xtext decoding and the RFC 3461 DSN parameter checks.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "relay/protocol.h"

namespace trackrelay::relay {
namespace {

// The published variants (SEC Consult, Dec 2023): what a sloppy receiver
// takes for "<CR><LF>.<CR><LF>".
const std::vector<std::string> kVariants = {"\n.\n",   "\n.\r\n", "\r.\r", "\r\n.\r",
                                            "\r\n.\n", "\r.\r\n", "\n.\r", "\r.\n"};

const std::string kSmuggled =
    "MAIL FROM:<ceo@bank.example>\r\nRCPT TO:<victim@example.net>\r\nDATA\r\n"
    "From: ceo@bank.example\r\n\r\nsmuggled\r\n";

std::string attack(const std::string& variant) {
  return "From: a@example.com\r\nSubject: hi\r\n\r\nbody" + variant + kSmuggled + ".\r\nQUIT\r\n";
}

// Positions where a lenient reader (CR, LF or CRLF end a line) sees a "."
// line; a strict reader sees a subset of them.
std::vector<std::size_t> lenient_terminators(std::string_view s) {
  std::vector<std::size_t> at;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool line_start = i == 0 || s[i - 1] == '\n' || s[i - 1] == '\r';
    if (line_start && s[i] == '.' && i + 1 < s.size() && (s[i + 1] == '\r' || s[i + 1] == '\n')) {
      at.push_back(i);
    }
  }
  return at;
}

struct Decoded {
  std::string message;
  std::size_t consumed = 0;
  bool done = false;
  bool bare = false;
};

Decoded decode(std::string_view wire, std::size_t chunk, BareNewline mode) {
  DataDecoder d(1 << 20, kMaxLineOctets, mode);
  Decoded out;
  for (std::size_t i = 0; i < wire.size() && !d.done(); i += chunk) {
    const std::string_view piece = wire.substr(i, chunk);
    const std::size_t n = d.feed(piece);
    out.consumed += n;
    if (n < piece.size()) break;
  }
  out.done = d.done();
  out.bare = d.bare_newline();
  out.message = d.take();
  return out;
}

TEST(Smuggling, NormalizeKeepsEveryVariantInsideOneMessage) {
  for (const std::string& v : kVariants) {
    const std::string wire = attack(v);
    for (std::size_t chunk = 1; chunk <= wire.size(); ++chunk) {
      const Decoded got = decode(wire, chunk, BareNewline::kNormalize);
      ASSERT_TRUE(got.done) << testing::PrintToString(v) << " chunk " << chunk;
      EXPECT_FALSE(got.bare);
      // Only the real "<CR><LF>.<CR><LF>" ended the data: QUIT is left over.
      ASSERT_EQ(wire.substr(got.consumed), "QUIT\r\n") << testing::PrintToString(v) << chunk;
      EXPECT_NE(got.message.find("MAIL FROM:<ceo@bank.example>\r\n"), std::string::npos);
      EXPECT_FALSE(has_bare_newline(got.message)) << testing::PrintToString(got.message);
      // Upstream, strict or lenient, the only end of data is the last line.
      const std::string up = dot_stuff(got.message);
      EXPECT_EQ(lenient_terminators(up), std::vector<std::size_t>{up.size() - 3})
          << testing::PrintToString(up);
    }
  }
}

TEST(Smuggling, NormalizeForwardsTheDotLineAsContent) {
  const Decoded lf = decode("a\n.\nb\r\n.\r\n", 1, BareNewline::kNormalize);
  EXPECT_EQ(lf.message, "a\r\n.\r\nb\r\n");
  EXPECT_EQ(dot_stuff(lf.message), "a\r\n..\r\nb\r\n.\r\n");
  // A bare CR is never a line end: it becomes a space.
  EXPECT_EQ(decode("a\r.\rb\r\n.\r\n", 3, BareNewline::kNormalize).message, "a . b\r\n");
  EXPECT_EQ(decode("a\r\n.\rb\r\n.\r\n", 2, BareNewline::kNormalize).message, "a\r\n b\r\n");
  // After a bare LF, even ".<CR><LF>" is content.
  const Decoded mixed = decode("a\n.\r\nb\r\n.\r\n", 5, BareNewline::kNormalize);
  EXPECT_EQ(mixed.message, "a\r\n.\r\nb\r\n");
  // The DATA command line itself ended with a bare LF: a first "." is content.
  DataDecoder first(1 << 20, kMaxLineOctets, BareNewline::kNormalize, false);
  first.feed(".\r\nx\r\n.\r\n");
  EXPECT_TRUE(first.done());
  EXPECT_EQ(first.take(), ".\r\nx\r\n");
}

TEST(Smuggling, RejectStopsAtTheFirstBareCrOrLf) {
  for (const std::string& v : kVariants) {
    const std::string wire = attack(v);
    for (std::size_t chunk : {1u, 2u, 3u, 7u, 4096u}) {
      const Decoded got = decode(wire, chunk, BareNewline::kReject);
      EXPECT_TRUE(got.bare) << testing::PrintToString(v) << " chunk " << chunk;
      EXPECT_TRUE(got.done);
    }
  }
  for (std::size_t chunk : {1u, 2u, 4096u}) {
    const Decoded clean = decode("a\r\n..b\r\n.\r\nQUIT\r\n", chunk, BareNewline::kReject);
    EXPECT_FALSE(clean.bare);
    EXPECT_TRUE(clean.done);
    EXPECT_EQ(clean.message, "a\r\n.b\r\n");
  }
}

TEST(Smuggling, LongLinesKeepTrackOfTheirLineEnd) {
  // A discarded over-long line ended by a bare LF: the "." after it is content.
  const std::string wire = std::string(1200, 'x') + "\n.\r\nmore\r\n.\r\n";
  for (std::size_t chunk : {1u, 100u, 4096u}) {
    const Decoded got = decode(wire, chunk, BareNewline::kNormalize);
    EXPECT_TRUE(got.done);
    EXPECT_EQ(got.consumed, wire.size()) << chunk;
  }
}

TEST(Smuggling, BdatContentIsCanonicalAndStuffedForData) {
  // BDAT chunks are raw: no dot-stuffing, no terminator. Forwarded with DATA,
  // none of these may end the message early.
  for (const std::string& v : kVariants) {
    const std::string raw = "Subject: x\r\n\r\nbody" + v + kSmuggled + "\r\n.\r\nend\r\n";
    const std::string canonical = canonical_line_ends(raw);
    EXPECT_FALSE(has_bare_newline(canonical)) << testing::PrintToString(canonical);
    const std::string up = dot_stuff(canonical);
    EXPECT_EQ(lenient_terminators(up), std::vector<std::size_t>{up.size() - 3})
        << testing::PrintToString(up);
    // Defence in depth: dot_stuff alone gives the same bytes.
    EXPECT_EQ(dot_stuff(raw), up);
  }
  EXPECT_EQ(canonical_line_ends("a\nb\r\nc\rd"), "a\r\nb\r\nc d");
}

// Random inputs over the bytes that matter (seeded, repeatable): whatever the
// client sends, the upstream's copy has exactly one end of data, at its end,
// decodes back to the same message, and reject mode refuses exactly the
// inputs with a bare CR or LF.
TEST(Smuggling, RandomInputsHoldTheInvariants) {
  std::mt19937 rng(20231218);
  static constexpr char kAlphabet[] = {'\r', '\n', '.', 'a', 'M'};
  for (int n = 0; n < 20000; ++n) {
    std::string wire;
    const std::size_t len = rng() % 40;
    for (std::size_t i = 0; i < len; ++i) wire += kAlphabet[rng() % sizeof(kAlphabet)];
    wire += "\r\n.\r\n";
    const std::size_t chunk = 1 + rng() % 8;
    const Decoded norm = decode(wire, chunk, BareNewline::kNormalize);
    ASSERT_TRUE(norm.done) << testing::PrintToString(wire);
    const std::string_view used = std::string_view(wire).substr(0, norm.consumed);
    ASSERT_TRUE(used.ends_with("\r\n.\r\n") || used == ".\r\n") << testing::PrintToString(wire);
    ASSERT_FALSE(has_bare_newline(norm.message)) << testing::PrintToString(wire);
    const std::string up = dot_stuff(norm.message);
    ASSERT_EQ(lenient_terminators(up), std::vector<std::size_t>{up.size() - 3})
        << testing::PrintToString(wire);
    const Decoded again = decode(up, up.size(), BareNewline::kReject);
    ASSERT_FALSE(again.bare);
    ASSERT_EQ(again.consumed, up.size());
    ASSERT_EQ(again.message, norm.message) << testing::PrintToString(wire);
    const Decoded rej = decode(wire, chunk, BareNewline::kReject);
    ASSERT_TRUE(rej.done);
    if (!has_bare_newline(used)) {
      ASSERT_FALSE(rej.bare) << testing::PrintToString(wire);
      ASSERT_EQ(rej.message, norm.message);
    } else {
      ASSERT_TRUE(rej.bare) << testing::PrintToString(wire);
    }
  }
}

TEST(Smuggling, BareNewlineDetection) {
  EXPECT_FALSE(has_bare_newline("a\r\nb\r\n"));
  EXPECT_TRUE(has_bare_newline("a\nb"));
  EXPECT_TRUE(has_bare_newline("a\rb"));
  EXPECT_TRUE(has_bare_newline("a\r"));
  EXPECT_TRUE(has_bare_newline("\n"));
  EXPECT_TRUE(has_bare_newline("a\r\r\n"));
}

TEST(Smuggling, BareNewlineReplyClosesTheSession) {
  const Reply r = reply_for(Failure::kBareNewline);
  EXPECT_EQ(r.code, 521);
  EXPECT_EQ(r.lines.at(0).substr(0, 6), "5.5.2 ");
  EXPECT_TRUE(ends_session(r));
}

TEST(Xtext, DecodeIsStrict) {
  EXPECT_EQ(*xtext_decode("a+2Bb+3Dc+20d"), "a+b=c d");
  EXPECT_EQ(*xtext_decode("[UNAVAILABLE]"), "[UNAVAILABLE]");
  EXPECT_EQ(*xtext_decode("+2b"), "+");
  EXPECT_EQ(*xtext_decode(""), "");
  EXPECT_FALSE(xtext_decode("+").ok());
  EXPECT_FALSE(xtext_decode("+4").ok());
  EXPECT_FALSE(xtext_decode("ab+4").ok());
  EXPECT_FALSE(xtext_decode("+GG").ok());
  EXPECT_FALSE(xtext_decode("+4G").ok());
  EXPECT_FALSE(xtext_decode("a=b").ok());
  EXPECT_FALSE(xtext_decode("a b").ok());
  EXPECT_FALSE(xtext_decode("a\rb").ok());
  EXPECT_FALSE(xtext_decode("\xc3\xa9").ok());
  for (const std::string s : {"x y", "+=\r\n\x01", "ok"}) {
    EXPECT_EQ(*xtext_decode(xtext_encode(s)), s);
  }
}

Param param(std::string key, std::string value) {
  return Param{std::move(key), std::move(value), true};
}

TEST(Dsn, ParametersFollowRfc3461) {
  EXPECT_TRUE(check_dsn_param(param("RET", "FULL")).ok());
  EXPECT_TRUE(check_dsn_param(param("RET", "hdrs")).ok());
  EXPECT_FALSE(check_dsn_param(param("RET", "ALL")).ok());
  EXPECT_FALSE(check_dsn_param(Param{"RET", "", false}).ok());
  EXPECT_TRUE(check_dsn_param(param("ENVID", "QQ314159+2Bx")).ok());
  EXPECT_FALSE(check_dsn_param(param("ENVID", "a+0D+0AMAIL")).ok());  // CR LF decoded
  EXPECT_FALSE(check_dsn_param(param("ENVID", "a\rRSET")).ok());
  EXPECT_FALSE(check_dsn_param(param("ENVID", "bad+zz")).ok());
  EXPECT_FALSE(check_dsn_param(param("ENVID", std::string(101, 'a'))).ok());
  EXPECT_TRUE(check_dsn_param(param("ENVID", std::string(100, 'a'))).ok());
  EXPECT_TRUE(check_dsn_param(param("NOTIFY", "NEVER")).ok());
  EXPECT_TRUE(check_dsn_param(param("NOTIFY", "success,FAILURE,Delay")).ok());
  EXPECT_FALSE(check_dsn_param(param("NOTIFY", "NEVER,SUCCESS")).ok());
  EXPECT_FALSE(check_dsn_param(param("NOTIFY", "SUCCESS,SUCCESS")).ok());
  EXPECT_FALSE(check_dsn_param(param("NOTIFY", "SUCCESS,")).ok());
  EXPECT_FALSE(check_dsn_param(param("NOTIFY", "ALWAYS")).ok());
  EXPECT_TRUE(check_dsn_param(param("ORCPT", "rfc822;bob@example.net")).ok());
  EXPECT_TRUE(check_dsn_param(param("ORCPT", "rfc822;bob+2Bx@example.net")).ok());
  EXPECT_TRUE(check_dsn_param(param("ORCPT", "utf-8;j\xc3\xb6rg@example.net")).ok());
  EXPECT_FALSE(check_dsn_param(param("ORCPT", "bob@example.net")).ok());
  EXPECT_FALSE(check_dsn_param(param("ORCPT", ";bob@example.net")).ok());
  EXPECT_FALSE(check_dsn_param(param("ORCPT", "rfc822;")).ok());
  EXPECT_FALSE(check_dsn_param(param("ORCPT", "rfc822;bob=x")).ok());
  EXPECT_FALSE(check_dsn_param(param("ORCPT", "rfc 822;bob@example.net")).ok());
  EXPECT_FALSE(check_dsn_param(param("SIZE", "10")).ok());
}

}  // namespace
}  // namespace trackrelay::relay
