// Behaviour of the whole engine on hand-written messages.
#include "rewrite/engine.h"

#include <gtest/gtest.h>

#include "mime/codec.h"
#include "test_util.h"

namespace trackrelay::rewrite {
namespace {

using testing::decode_url;
using testing::test_config;
using testing::tracked_urls;

constexpr std::int64_t kNow = 1795000000;

struct Rewriter {
  std::shared_ptr<const conf::Config> config = test_config();
  std::unique_ptr<LinkScanner> scanner = make_gumbo_scanner(config->rewrite);
  Result<Outcome> operator()(const std::string& msg,
                             Envelope env = {"bounce@example.com", {"rcpt@example.net"}}) {
    return rewrite_message(msg, env, *config, *scanner, kNow);
  }
};

std::string html_message(const std::string& body, const std::string& extra_headers = "",
                         const std::string& from = "News <news@example.com>") {
  return "From: " + from + "\r\nTo: rcpt@example.net\r\nSubject: hi\r\n" +
         "Message-ID: <m1@example.com>\r\n" + extra_headers +
         "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + body;
}

TEST(Engine, RewritesHrefAndDecodesEntities) {
  Rewriter run;
  auto r = run(html_message(
      "<html><body><a href=\"https://shop.example.com/p?a=1&amp;b=2\">x</a></body></html>\r\n"));
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_TRUE(r->changed);
  EXPECT_EQ(r->links_tracked, 1);
  auto urls = tracked_urls(r->message);
  ASSERT_EQ(urls.size(), 3u);  // initial_open pixel, link, open pixel
  EXPECT_TRUE(urls[1].starts_with("https://click.example.com/f/"));
  auto c = decode_url(urls[1], *run.config);
  EXPECT_EQ(c.target, "https://shop.example.com/p?a=1&b=2");
  EXPECT_EQ(c.message_id, "m1@example.com");
  EXPECT_EQ(c.rcpt_to, "rcpt@example.net");
  EXPECT_EQ(c.sending_domain, "example.com");
  EXPECT_EQ(c.tracking_domain, "click.example.com");
  EXPECT_EQ(c.issued_at, kNow);
  EXPECT_EQ(decode_url(urls[0], *run.config).kind, token::Kind::kInitialOpen);
  EXPECT_EQ(decode_url(urls[2], *run.config).kind, token::Kind::kOpen);
}

TEST(Engine, OutlookVmlButtonsAndAreaLinksAreTracked) {
  Rewriter run;
  auto r = run(html_message(
      "<html><body><!--[if mso]><v:roundrect xmlns:v=\"urn:schemas-microsoft-com:vml\" "
      "href=\"https://mso.example/button\" style=\"width:200px\"><w:anchorlock/>"
      "</v:roundrect><![endif]--><map name=\"m\"><area shape=\"rect\" coords=\"0,0,1,1\" "
      "href=\"https://area.example/\"></map></body></html>\r\n"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->links_tracked, 2);
  auto urls = tracked_urls(r->message);
  ASSERT_EQ(urls.size(), 4u);
  EXPECT_EQ(decode_url(urls[1], *run.config).target, "https://mso.example/button");
  EXPECT_EQ(decode_url(urls[2], *run.config).target, "https://area.example/");
  EXPECT_NE(r->message.find("<!--[if mso]><v:roundrect"), std::string::npos);
  EXPECT_NE(r->message.find("<![endif]-->"), std::string::npos);
}

TEST(Engine, PixelsGoAfterBodyAndBeforeCloseBody) {
  Rewriter run;
  auto r = run(html_message("<html><body class=\"x\"><p>hi</p></body></html>\r\n"));
  ASSERT_TRUE(r.ok());
  const std::string& m = r->message;
  auto body = m.find("<body class=\"x\">");
  auto first_img = m.find("<img src=\"https://click.example.com/q/");
  auto p = m.find("<p>hi</p>");
  auto second_img = m.find("<img src=\"https://click.example.com/q/", first_img + 1);
  auto close = m.find("</body>");
  ASSERT_NE(second_img, std::string::npos);
  EXPECT_LT(body, first_img);
  EXPECT_LT(first_img, p);
  EXPECT_LT(p, second_img);
  EXPECT_LT(second_img, close);
  EXPECT_EQ(r->pixels_added, 2);
  EXPECT_NE(m.find("width=\"1\" height=\"1\" alt=\"\""), std::string::npos);
}

TEST(Engine, NoBodyTagAppendsOpenPixelOnly) {
  Rewriter run;
  auto r = run(html_message("<p>fragment <a href='http://a.example/'>a</a></p>\r\n"));
  ASSERT_TRUE(r.ok());
  auto urls = tracked_urls(r->message);
  ASSERT_EQ(urls.size(), 2u);
  EXPECT_EQ(decode_url(urls[0], *run.config).kind, token::Kind::kClick);
  EXPECT_EQ(decode_url(urls[1], *run.config).kind, token::Kind::kOpen);
  EXPECT_NE(r->message.find("href='https://click.example.com/f/"), std::string::npos);
}

TEST(Engine, LinksThatAreNotTrackedStayByteIdentical) {
  Rewriter run;
  std::string links =
      "<a href=\"mailto:a@example.com\">m</a><a href=\"tel:+1555\">t</a>"
      "<a href=\"sms:+1555\">s</a><a href=\"#top\">a</a><a href=\"cid:img1\">c</a>"
      "<a href=\"data:text/html,x\">d</a><a href=\"javascript:alert(1)\">j</a>"
      "<a href=\"/relative\">r</a><a href=\"{{url}}\">p</a><a href=\"*|UNSUB|*\">u</a>"
      "<a href=\"<%= link %>\">e</a><a href=\"https://{{host}}/x\">h</a>"
      "<a data-msys-clicktrack=\"0\" href=\"https://optout.example/\">o</a>";
  auto r = run(html_message("<html><body>" + links + "</body></html>\r\n"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->links_tracked, 0);
  EXPECT_NE(r->message.find(links), std::string::npos);
}

TEST(Engine, LinkNameGoesIntoTheToken) {
  Rewriter run;
  auto r = run(html_message(
      "<body><a data-msys-linkname=\"Hero &amp; CTA\" href=\"https://x.example/\">x</a></body>"));
  ASSERT_TRUE(r.ok());
  auto urls = tracked_urls(r->message);
  ASSERT_GE(urls.size(), 2u);
  EXPECT_EQ(decode_url(urls[1], *run.config).link_name, "Hero & CTA");
}

TEST(Engine, WhitespaceAndNewlinesInHrefAreRemovedFromTarget) {
  Rewriter run;
  auto r = run(html_message("<body><a href=\"  https://x.example/a\r\n/b\tc  \">x</a></body>"));
  ASSERT_TRUE(r.ok());
  auto urls = tracked_urls(r->message);
  ASSERT_GE(urls.size(), 2u);
  EXPECT_EQ(decode_url(urls[1], *run.config).target, "https://x.example/a/bc");
}

TEST(Engine, RewritingTwiceIsANoOp) {
  Rewriter run;
  auto first = run(html_message(
      "<html><body><a href=\"https://x.example/\">x</a>https://y.example/</body></html>\r\n"));
  ASSERT_TRUE(first.ok());
  auto second = run(first->message);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->changed);
  EXPECT_EQ(second->message, first->message);
}

TEST(Engine, MsysApiControlsAndIsRemoved) {
  Rewriter run;
  std::string body = "<html><body><a href=\"https://x.example/\">x</a></body></html>\r\n";
  auto no_clicks = run(html_message(
      body,
      "X-MSYS-API: {\"options\": {\"click_tracking\": false},\r\n \"campaign_id\": \"c1\"}\r\n"));
  ASSERT_TRUE(no_clicks.ok()) << no_clicks.error();
  EXPECT_EQ(no_clicks->links_tracked, 0);
  EXPECT_EQ(no_clicks->pixels_added, 2);
  EXPECT_EQ(no_clicks->message.find("X-MSYS-API"), std::string::npos);
  EXPECT_EQ(no_clicks->message.find("campaign_id"), std::string::npos);
  EXPECT_EQ(decode_url(tracked_urls(no_clicks->message)[0], *run.config).campaign_id, "c1");

  auto no_opens =
      run(html_message(body, "X-MSYS-API: {\"options\": {\"open_tracking\": false}}\r\n"));
  ASSERT_TRUE(no_opens.ok());
  EXPECT_EQ(no_opens->pixels_added, 0);
  EXPECT_EQ(no_opens->links_tracked, 1);

  auto no_initial =
      run(html_message(body, "X-MSYS-API: {\"options\": {\"initial_open\": false}}\r\n"));
  ASSERT_TRUE(no_initial.ok());
  EXPECT_EQ(no_initial->pixels_added, 1);
}

TEST(Engine, MalformedMsysApiIsAnInputError) {
  Rewriter run;
  std::string body = "<body>x</body>";
  for (std::string bad : std::vector<std::string>{
           "{not json", "[1,2]", "{\"options\": 3}", "{\"options\": {\"open_tracking\": \"yes\"}}",
           "{\"campaign_id\": \"" + std::string(65, 'c') + "\"}",
           "{\"metadata\": {\"k\": \"" + std::string(1001, 'm') + "\"}}", "{\"tags\": [1]}"}) {
    auto r = run(html_message(body, "X-MSYS-API: " + bad + "\r\n"));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_TRUE(r.error().starts_with("X-MSYS-API: ")) << r.error();
    EXPECT_EQ(r.code(), Errc::kInvalid) << r.error();  // what fuzz_rewrite checks
  }
}

TEST(Engine, OtherServicesHeadersAreHonouredAndRemoved) {
  Rewriter run;
  std::string body = "<html><body><a href=\"https://x.example/\">x</a></body></html>\r\n";
  auto r = run(html_message(body, "X-Mailgun-Track-Clicks: no\r\nX-PM-TrackOpens: false\r\n"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->links_tracked, 0);
  EXPECT_EQ(r->pixels_added, 0);
  EXPECT_FALSE(r->changed == false && r->message.find("X-Mailgun") != std::string::npos);
  EXPECT_EQ(r->message.find("X-Mailgun-Track-Clicks"), std::string::npos);
}

TEST(Engine, TrackingDomainFollowsTheFromDomain) {
  Rewriter run;
  std::string body = "<body><a href=\"https://x.example/\">x</a></body>";
  auto org = run(html_message(body, "", "\"Org, Inc\" <Team@EXAMPLE.org>"));
  ASSERT_TRUE(org.ok());
  EXPECT_EQ(org->tracking.domain, "links.example.org");
  EXPECT_EQ(org->tracking.reason, TrackingChoice::Reason::kSendingDomain);
  EXPECT_TRUE(tracked_urls(org->message)[1].starts_with("http://links.example.org/f/"));
  auto other = run(html_message(body, "", "someone@other.example"));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->tracking.domain, "click.example.com");
  EXPECT_EQ(other->tracking.reason, TrackingChoice::Reason::kDefault);
}

TEST(Engine, EnvelopeSenderWhenFromIsMissingOrUnparsable) {
  Rewriter run;
  std::string msg =
      "To: a@example.net\r\nMessage-ID: <x@y>\r\nContent-Type: text/plain\r\n\r\n"
      "see https://x.example/\r\n";
  auto r = run(msg, {"sender@example.org", {"a@example.net"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->sending_domain, "example.org");
  EXPECT_EQ(r->tracking.domain, "links.example.org");
  auto bad = run("From: undisclosed\r\n" + msg, {"sender@example.org", {"a@example.net"}});
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->sending_domain, "example.org");
}

TEST(Engine, RecipientOnlyWhenExactlyOne) {
  Rewriter run;
  std::string msg = html_message("<body><a href=\"https://x.example/\">x</a></body>");
  auto two = run(msg, {"s@example.com", {"a@example.net", "b@example.net"}});
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(decode_url(tracked_urls(two->message)[1], *run.config).rcpt_to, "");
}

TEST(Engine, MessageIdAddedOnlyWhenTokensAreIssued) {
  Rewriter run;
  std::string no_id =
      "From: a@example.com\r\nContent-Type: text/plain\r\n\r\ngo to https://x.example/ now\r\n";
  auto r = run(no_id);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->message_id_added);
  EXPECT_NE(r->message.find("\r\nMessage-ID: <" + r->message_id +
                            ">\r\nX-Trackrelay-Rewritten: click.example.com\r\n\r\n"),
            std::string::npos);
  EXPECT_EQ(decode_url(tracked_urls(r->message)[0], *run.config).message_id, r->message_id);
  auto plain = run("From: a@example.com\r\nContent-Type: text/plain\r\n\r\nno links\r\n");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->changed);
  EXPECT_FALSE(plain->message_id_added);
}

TEST(Engine, TextUrlsAndOptOutSuffix) {
  Rewriter run;
  std::string msg =
      "From: a@example.com\r\nMessage-ID: <t@x>\r\nContent-Type: text/plain; charset=us-ascii\r\n"
      "\r\nRead https://x.example/a. Or (https://y.example/b) or "
      "https://z.example/c[[data-msys-clicktrack=\"0\"]] today.\r\n";
  auto r = run(msg);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->links_tracked, 2);
  EXPECT_NE(r->message.find(" https://z.example/c today."), std::string::npos);
  EXPECT_EQ(r->message.find("data-msys-clicktrack"), std::string::npos);
  auto urls = tracked_urls(r->message);
  ASSERT_EQ(urls.size(), 2u);
  EXPECT_EQ(decode_url(urls[0], *run.config).target, "https://x.example/a");
  EXPECT_EQ(decode_url(urls[1], *run.config).target, "https://y.example/b");
  EXPECT_NE(r->message.find(urls[0] + ". Or (" + urls[1] + ") or"), std::string::npos);
}

TEST(Engine, QuotedPrintableHtmlIsReencoded) {
  Rewriter run;
  std::string qp_body =
      "<html><body><a href=3D\"https://x.example/very/long/path/that/goes/on/and/on?q=\r\n"
      "=3D1&amp;r=3D2\">caf=C3=A9</a></body></html>\r\n";
  std::string msg =
      "From: a@example.com\r\nMessage-ID: <q@x>\r\nContent-Type: text/html; charset=utf-8\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n\r\n" +
      qp_body;
  auto r = run(msg);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->changed);
  std::string raw_out = r->message.substr(r->message.find("\r\n\r\n") + 4);
  std::size_t start = 0;
  while (start < raw_out.size()) {
    auto end = raw_out.find("\r\n", start);
    if (end == std::string::npos) end = raw_out.size();
    EXPECT_LE(end - start, 76u) << raw_out.substr(start, end - start);
    start = end + 2;
  }
  std::string decoded = mime::qp_decode(raw_out);
  EXPECT_NE(decoded.find("caf\xC3\xA9</a>"), std::string::npos);
  auto urls = tracked_urls(decoded);
  ASSERT_EQ(urls.size(), 3u);
  EXPECT_EQ(decode_url(urls[1], *run.config).target,
            "https://x.example/very/long/path/that/goes/on/and/on?q=1&r=2");
}

TEST(Engine, Base64HtmlIsReencodedIn76ColumnLines) {
  Rewriter run;
  std::string html = "<html><body><a href=\"https://x.example/\">x</a></body></html>\r\n";
  std::string msg =
      "From: a@example.com\r\nMessage-ID: <b@x>\r\nContent-Type: text/html\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n" +
      mime::base64_encode(html, "\r\n", true);
  auto r = run(msg);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->changed);
  std::string raw_out = r->message.substr(r->message.find("\r\n\r\n") + 4);
  for (std::size_t s = 0, e; s < raw_out.size(); s = e + 2) {
    e = raw_out.find("\r\n", s);
    ASSERT_NE(e, std::string::npos);
    EXPECT_LE(e - s, 76u);
  }
  auto decoded = mime::base64_decode(raw_out);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(tracked_urls(*decoded).size(), 3u);
}

TEST(Engine, SevenBitLinesStayWithin998Octets) {
  Rewriter run;
  std::string filler(900, 'x');
  std::string body = "<html><body><p>" + filler +
                     " <a class=\"c\" href=\"https://x.example/\">x</a>" +
                     " <a href=\"https://y.example/\">y</a></p></body></html>\r\n";
  auto r = run(html_message(body));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->links_tracked, 2);
  std::size_t start = 0;
  while (start < r->message.size()) {
    auto end = r->message.find("\r\n", start);
    if (end == std::string::npos) end = r->message.size();
    EXPECT_LE(end - start, 998u);
    start = end + 2;
  }
}

TEST(Engine, OverlongTrackedUrlStaysUntracked) {
  Rewriter run;
  // Incompressible, so the token cannot shrink it below the limit.
  std::string target = "https://x.example/?";
  std::uint32_t x = 12345;
  for (int i = 0; i < 2100; ++i) {
    x = x * 1103515245u + 12345u;
    target += "abcdefghijklmnopqrstuvwxyz0123456789"[(x >> 16) % 36];
  }
  auto r = run(html_message("<body><a href=\"" + target + "\">x</a></body>"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->links_tracked, 0);
  EXPECT_EQ(r->links_untracked, 1);
  EXPECT_NE(r->message.find(target), std::string::npos);
}

TEST(Engine, SignedMessagePassesThroughByteIdentical) {
  Rewriter run;
  std::string msg =
      "From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: multipart/signed; "
      "protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"b1\"\r\n\r\n"
      "--b1\r\nContent-Type: text/html\r\n\r\n<a href=\"https://x.example/\">x</a>\r\n"
      "--b1\r\nContent-Type: application/pkcs7-signature\r\n\r\nAAAA\r\n--b1--\r\n";
  auto r = run(msg);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->changed);
  EXPECT_EQ(r->message, msg);
}

TEST(Engine, HeadersAndOtherPartsAreByteIdentical) {
  Rewriter run;
  std::string fields =
      "From: a@example.com\nSubject: =?utf-8?q?folded?=\n   continuation  \nMessage-ID: <f@x>\n"
      "MIME-Version: 1.0\nContent-Type: multipart/alternative;\n\tboundary=zz\n";
  std::string head = fields + "\npreamble\n";
  std::string text_part = "--zz\nContent-Type: text/plain\n\nno links here\n";
  std::string html_part = "--zz\nContent-Type: text/html\n\n<a href=\"https://x.example/\">x</a>\n";
  std::string tail = "--zz--\nepilogue\n";
  std::string msg = head + text_part + html_part + tail;
  auto r = run(msg);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->changed);
  EXPECT_TRUE(r->message.starts_with(fields + "X-Trackrelay-Rewritten: click.example.com\n" +
                                     "\npreamble\n" + text_part +
                                     "--zz\nContent-Type: text/html\n\n"));
  EXPECT_TRUE(r->message.ends_with("\n" + tail));
  EXPECT_EQ(r->message.find("\r"), std::string::npos);  // LF message stays LF
}

TEST(Engine, RewrittenMessagesAreMarkedAndNotRewrittenAgain) {
  Rewriter run;
  std::string msg =
      "From: a@example.com\r\nMessage-ID: <o@x>\r\nX-MSYS-API: {\"options\": "
      "{\"click_tracking\": false, \"open_tracking\": false}}\r\nContent-Type: text/plain\r\n\r\n"
      "https://x.example/p[[data-msys-clicktrack=\"0\"]] and https://y.example/\r\n";
  auto first = run(msg);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(first->changed);
  EXPECT_EQ(first->links_tracked, 0);
  EXPECT_NE(first->message.find("\r\nX-Trackrelay-Rewritten: click.example.com\r\n\r\n"),
            std::string::npos);
  // Without the control header and the suffix, a second pass would track both
  // links; the marker stops it.
  auto second = run(first->message);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->changed);
  EXPECT_EQ(second->links_tracked, 0);
}

TEST(Engine, MessageIdIsTheAngleAddrWithoutComments) {
  Rewriter run;
  auto r =
      run("From: a@example.com\r\nMessage-ID: <abc@x> (added by foo)\r\n"
          "Content-Type: text/plain\r\n\r\nhttps://x.example/\r\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->message_id, "abc@x");
  EXPECT_EQ(decode_url(tracked_urls(r->message)[0], *run.config).message_id, "abc@x");
}

TEST(Engine, EmptyMessageIdIsReplacedNotDuplicated) {
  Rewriter run;
  auto r =
      run("From: a@example.com\r\nMessage-ID:\r\nContent-Type: text/plain\r\n\r\n"
          "https://x.example/\r\n");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->message_id_added);
  std::size_t first = r->message.find("Message-ID:");
  EXPECT_EQ(r->message.find("Message-ID:", first + 1), std::string::npos);
  EXPECT_NE(r->message.find("Message-ID: <" + r->message_id + ">\r\n"), std::string::npos);
}

TEST(Engine, InlinePgpAndNonAsciiCompatibleBodiesAreLeftAlone) {
  Rewriter run;
  auto left_alone = [&run](const std::string& msg) {
    auto r = run(msg);
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->changed);
    EXPECT_EQ(r->message, msg);
  };
  left_alone(
      "From: a@example.com\r\nContent-Type: text/plain\r\n\r\n"
      "-----BEGIN PGP SIGNED MESSAGE-----\r\nHash: SHA256\r\n\r\nhttps://x.example/\r\n");
  // The marker after another "-----BEGIN PGP " block is still found.
  left_alone(
      "From: a@example.com\r\nContent-Type: text/plain\r\n\r\n"
      "-----BEGIN PGP PUBLIC KEY BLOCK-----\r\nx\r\n-----BEGIN PGP MESSAGE-----\r\n"
      "https://x.example/\r\n");
  const std::string utf16("\xFF\xFE<\0a\0>\0", 8);
  left_alone(
      "From: a@example.com\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n"
      "\r\n" +
      mime::base64_encode(utf16, "\r\n", true));
  left_alone(
      "From: a@example.com\r\nContent-Type: text/html; charset*=utf-16''\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n" +
      mime::base64_encode(std::string("<\0a\0>\0", 6), "\r\n", true));
}

TEST(Engine, QuotedPrintableBodyNeverGainsABoundaryLine) {
  Rewriter run;
  std::string msg =
      "From: a@example.com\r\nMessage-ID: <b@x>\r\nContent-Type: multipart/mixed; boundary=BND\r\n"
      "\r\n--BND\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n"
      "\r\nsee https://x.example/\r\n=2D-BND\r\nContent-Type: image/png\r\n\r\n--BND\r\n"
      "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
      "AAAA\r\n--BND--\r\n";
  auto r = run(msg);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->changed);
  EXPECT_EQ(r->message.find("\r\n--BND\r\nContent-Type: image/png"), std::string::npos);
  EXPECT_NE(r->message.find("=2D-BND"), std::string::npos);
}

TEST(Engine, NoPixelAppendedInsideAnUnterminatedAttribute) {
  Rewriter run;
  // The document ends inside href="...: an appended <img src="..."> would
  // close that quote and turn the broken href into a link.
  auto r = run(html_message("<p>hi <a href=\"http://x.example/a more text\r\n"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->pixels_added, 0);
  EXPECT_EQ(r->links_tracked, 0);
  auto plain = run(html_message("<p>hi</p>\r\n"));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->pixels_added, 1);  // a document that ends in text still gets its pixel
}

TEST(Engine, CompactSevenBitHtmlKeepsItsPixels) {
  Rewriter run;
  std::string links;
  for (int i = 0; i < 6; ++i)
    links += "<a href=\"https://x.example/" + std::to_string(i) + "\">x</a>";
  auto r = run(html_message("<html><body>" + links + "</body></html>"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->links_tracked, 6);
  EXPECT_EQ(r->pixels_added, 2);
  EXPECT_EQ(tracked_urls(r->message).size(), 8u);
}

}  // namespace
}  // namespace trackrelay::rewrite
