// tests/relay/protocol_test.cc — the SMTP vocabulary without sockets:
// replies, command and path parsing, the DATA decoder (fed in every chunk
// size, lol_html style), dot-stuffing, CIDR matching, endpoints, passwords.
#include "relay/protocol.h"

#include <gtest/gtest.h>

#include <boost/asio/ip/address.hpp>

#include "base/crypto.h"
#include "relay/auth.h"
#include "relay/upstream.h"
#include "relay/upstream_target.h"

namespace trackrelay::relay {
namespace {

namespace ip = boost::asio::ip;

TEST(Reply, WireFormatSingleAndMultiLine) {
  EXPECT_EQ(make_reply(250, "2.0.0 Ok").wire(), "250 2.0.0 Ok\r\n");
  Reply r{250, {"host", "PIPELINING", "SIZE 10"}};
  EXPECT_EQ(r.wire(), "250-host\r\n250-PIPELINING\r\n250 SIZE 10\r\n");
  EXPECT_EQ(r.summary(), "250 SIZE 10");
}

TEST(ReplyParser, MultiLineAndErrors) {
  ReplyParser p;
  EXPECT_FALSE(*p.feed("250-a"));
  EXPECT_TRUE(*p.feed("250 b"));
  Reply r = p.take();
  EXPECT_EQ(r.code, 250);
  EXPECT_EQ(r.lines, (std::vector<std::string>{"a", "b"}));
  ReplyParser q;
  EXPECT_TRUE(*q.feed("354"));
  EXPECT_FALSE(ReplyParser().feed("hello").ok());
  ReplyParser m;
  ASSERT_TRUE(m.feed("250-a").ok());
  EXPECT_FALSE(m.feed("251 b").ok());  // code changed mid-reply
}

TEST(ReplyFor, EveryFailureHasAnEnhancedCode) {
  for (int f = 0; f <= static_cast<int>(Failure::kCopiesIncomplete); ++f) {
    Reply r = reply_for(static_cast<Failure>(f), "detail\r\nX");
    ASSERT_EQ(r.lines.size(), 1u);
    EXPECT_GE(r.code, 400) << f;
    EXPECT_EQ(r.lines[0][1], '.') << r.lines[0];
    EXPECT_EQ(r.lines[0][0] - '0', r.code / 100) << r.lines[0];
    EXPECT_EQ(r.lines[0].find('\r'), std::string::npos);  // detail cannot inject lines
  }
  EXPECT_EQ(reply_for(Failure::kUpstreamUnavailable, "", true).code, 421);
  EXPECT_EQ(reply_for(Failure::kUpstreamUnavailable).code, 451);
  EXPECT_EQ(reply_for(Failure::kMalformedControls, "bad JSON").wire(),
            "550 5.6.0 Malformed message controls: bad JSON\r\n");
}

TEST(Command, VerbsAreCaseInsensitive) {
  EXPECT_EQ(parse_command("ehlo x.example").verb, Verb::kEhlo);
  EXPECT_EQ(parse_command("ehlo x.example").args, "x.example");
  EXPECT_EQ(parse_command("Mail FROM:<a@b>  ").args, "FROM:<a@b>");
  EXPECT_EQ(parse_command("DATA").verb, Verb::kData);
  EXPECT_EQ(parse_command("STARTTLS").verb, Verb::kStarttls);
  EXPECT_EQ(parse_command("DATAX").verb, Verb::kUnknown);
  EXPECT_EQ(parse_command("lhlo client.example").verb, Verb::kLhlo);
  EXPECT_EQ(parse_command("LHLO client.example").args, "client.example");
  EXPECT_EQ(parse_command("").verb, Verb::kUnknown);
}

// relay.per_recipient over SMTP: one reply for every copy's reply.
TEST(CopiesReply, AcceptedOnlyWhenEveryCopyWasRefusedOnlyWhenEveryCopyWas) {
  const Reply ok = make_reply(250, "2.0.0 Ok: queued as A");
  const Reply later = make_reply(452, "4.3.1 scripted tempfail");
  const Reply no = make_reply(554, "5.7.1 scripted rejection");
  const Reply no2 = make_reply(550, "5.1.1 no such user");
  const std::vector<std::string> three = {"a@x", "b@x", "c@x"};
  // One copy: the upstream's own reply.
  EXPECT_EQ(copies_reply({ok}, {"a@x"}).wire(), ok.wire());
  EXPECT_EQ(copies_reply({later}, {"a@x"}).wire(), later.wire());
  EXPECT_EQ(copies_reply({ok, ok, ok}, three).wire(), "250 2.0.0 Ok: 3 of 3 copies accepted\r\n");
  // All refused: the first refusal, permanent.
  EXPECT_EQ(copies_reply({no, no2, no}, three).wire(), no.wire());
  // Anything else is a 4xx: the client retries (accepted copies go again).
  const Reply mixed = copies_reply({ok, later, no}, three);
  EXPECT_EQ(mixed.code, 451);
  EXPECT_EQ(mixed.lines.back(),
            "4.3.0 Not every recipient's copy was accepted, try again later: 1 accepted, 1 "
            "deferred, 1 refused; <b@x>: 452 4.3.1 scripted tempfail");
  EXPECT_EQ(copies_reply({ok, no, ok}, three).code, 451);  // accepted + refused
  EXPECT_EQ(copies_reply({later, later, later}, three).code, 451);
  EXPECT_EQ(copies_reply({no, later, no}, three).code, 451);
  EXPECT_EQ(copies_reply({}, {}).code, 554);
}

TEST(Path, ParsesAddressesAndParameters) {
  auto p = parse_path("FROM:<a@example.com> SIZE=100 BODY=8BITMIME smtputf8", "FROM:");
  ASSERT_TRUE(p.ok()) << p.error();
  EXPECT_EQ(p->address, "a@example.com");
  ASSERT_EQ(p->params.size(), 3u);
  EXPECT_EQ(p->params[0].key, "SIZE");
  EXPECT_EQ(p->params[0].value, "100");
  EXPECT_EQ(p->params[2].key, "SMTPUTF8");
  EXPECT_FALSE(p->params[2].has_value);
  EXPECT_EQ(format_path("FROM:", *p), "FROM:<a@example.com> SIZE=100 BODY=8BITMIME SMTPUTF8");
  EXPECT_EQ(parse_path("FROM:<>", "FROM:")->address, "");
  EXPECT_EQ(parse_path("from: <a@b>", "FROM:")->address, "a@b");            // tolerated space
  EXPECT_EQ(parse_path("TO:b@c", "TO:")->address, "b@c");                   // tolerated missing <>
  EXPECT_EQ(parse_path("TO:<@relay.example:u@c>", "TO:")->address, "u@c");  // source route
  EXPECT_FALSE(parse_path("TO:<a b@c>", "TO:").ok());
  EXPECT_FALSE(parse_path("TO:<a@c", "TO:").ok());
  EXPECT_FALSE(parse_path("FROM:<a@c>", "TO:").ok());
  EXPECT_FALSE(parse_path("TO:<" + std::string(300, 'a') + ">", "TO:").ok());
  EXPECT_FALSE(parse_path("TO:<a@c> =x", "TO:").ok());
}

std::string decode_in_chunks(std::string_view wire, std::size_t chunk, DataDecoder& d,
                             std::size_t* consumed) {
  *consumed = 0;
  for (std::size_t i = 0; i < wire.size() && !d.done(); i += chunk) {
    const std::string_view piece = wire.substr(i, chunk);
    const std::size_t n = d.feed(piece);
    *consumed += n;
    if (n < piece.size()) break;
  }
  return d.take();
}

TEST(DataDecoder, SameResultForEveryChunkSize) {
  const std::string wire =
      "Subject: x\r\n\r\n..leading dot\r\nbare lf\n\r\n..\r\nlast\r\n.\r\nQUIT\r\n";
  const std::string want = "Subject: x\r\n\r\n.leading dot\r\nbare lf\r\n\r\n.\r\nlast\r\n";
  for (std::size_t chunk = 1; chunk <= wire.size(); ++chunk) {
    DataDecoder d(1 << 20);
    std::size_t consumed = 0;
    EXPECT_EQ(decode_in_chunks(wire, chunk, d, &consumed), want) << chunk;
    EXPECT_TRUE(d.done());
    EXPECT_EQ(wire.substr(consumed), "QUIT\r\n") << chunk;  // pipelined bytes stay
    EXPECT_FALSE(d.too_large() || d.line_too_long());
  }
}

TEST(DataDecoder, LimitsAreReportedAfterReadingToTheEnd) {
  DataDecoder big(10);
  std::size_t consumed = 0;
  decode_in_chunks("0123456789abc\r\nmore\r\n.\r\n", 4, big, &consumed);
  EXPECT_TRUE(big.done());
  EXPECT_TRUE(big.too_large());
  const std::string line998(998, 'x');
  DataDecoder ok(1 << 20);
  decode_in_chunks(line998 + "\r\n.\r\n", 7, ok, &consumed);
  EXPECT_FALSE(ok.line_too_long());
  for (std::size_t chunk : {1u, 7u, 4096u}) {
    DataDecoder longer(1 << 20);
    decode_in_chunks(line998 + "x\r\n.\r\n", chunk, longer, &consumed);
    EXPECT_TRUE(longer.done()) << chunk;
    EXPECT_TRUE(longer.line_too_long()) << chunk;
  }
}

TEST(DotStuff, StuffsAndTerminates) {
  EXPECT_EQ(dot_stuff(".a\r\nb\r\n.\r\n"), "..a\r\nb\r\n..\r\n.\r\n");
  EXPECT_EQ(dot_stuff("no final newline"), "no final newline\r\n.\r\n");
  EXPECT_EQ(dot_stuff(""), ".\r\n");
  // Round trip through the decoder.
  const std::string msg = ".x\r\n..y\r\n.\r\nz\r\n";
  DataDecoder d(1 << 20);
  d.feed(dot_stuff(msg));
  EXPECT_TRUE(d.done());
  EXPECT_EQ(d.take(), msg);
}

TEST(Xtext, EncodesSpecials) {
  EXPECT_EQ(xtext_encode("a+b=c d"), "a+2Bb+3Dc+20d");
  EXPECT_EQ(xtext_encode("[UNAVAILABLE]"), "[UNAVAILABLE]");
}

TEST(Endpoints, Upstream) {
  auto md = parse_upstream("maildir:var/outbox");
  ASSERT_TRUE(md.ok());
  EXPECT_EQ(md->kind, UpstreamTarget::Kind::kMaildir);
  EXPECT_EQ(md->maildir, "var/outbox");
  EXPECT_EQ(parse_upstream("mx.example.net:25")->smtp.host, "mx.example.net");
  EXPECT_EQ(parse_upstream("[::1]:10026")->smtp.str(), "[::1]:10026");
  EXPECT_FALSE(parse_upstream("maildir:").ok());
  EXPECT_FALSE(parse_upstream(":25").ok());
  EXPECT_FALSE(parse_upstream("mx.example.net:0").ok());
}

TEST(Ehlo, Capabilities) {
  Reply r{250,
          {"mx", "PIPELINING", "SIZE 1000", "8BITMIME", "dsn", "AUTH PLAIN LOGIN",
           "XFORWARD NAME ADDR"}};
  Capabilities c = parse_ehlo(r);
  EXPECT_TRUE(c.pipelining && c.eightbitmime && c.dsn && c.xforward);
  EXPECT_FALSE(c.smtputf8 || c.starttls || c.chunking);
  EXPECT_EQ(c.size, 1000u);
  EXPECT_EQ(c.auth, "PLAIN LOGIN");
}

TEST(Auth, Pbkdf2HashesAndPlain) {
  const std::string salt = "0123456789abcdef";
  const std::string entry = "app:pbkdf2-sha256$1000$" + base64_encode(salt) + "$" +
                            base64_encode(make_password_hash("s3cret", salt, 1000));
  auto creds = Credentials::parse({entry});
  ASSERT_TRUE(creds.ok()) << creds.error();
  EXPECT_TRUE(creds->check("app", "s3cret"));
  EXPECT_FALSE(creds->check("app", "s3cret "));
  EXPECT_FALSE(creds->check("other", "s3cret"));
  EXPECT_FALSE(Credentials::parse({"app:md5$x"}).ok());
  EXPECT_FALSE(Credentials::parse({"nocolon"}).ok());
  // Known vector: Python hashlib.pbkdf2_hmac("sha256", b"password", b"saltsalt", 1000).
  EXPECT_EQ(base64_encode(make_password_hash("password", "saltsalt", 1000)).size(), 44u);
  auto plain = decode_plain(base64_encode(std::string("\0app\0pw", 7)));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->user, "app");
  EXPECT_EQ(plain->password, "pw");
  EXPECT_FALSE(decode_plain(base64_encode(std::string("other\0app\0pw", 12))).ok());
  EXPECT_FALSE(decode_plain("!!!").ok());
}

}  // namespace
}  // namespace trackrelay::relay
