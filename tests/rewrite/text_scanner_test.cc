// tests/rewrite/text_scanner_test.cc — URL boundaries in plain text: scheme
// rules, terminators, trailing punctuation, bracket balance, wrappers, the
// [[data-msys-clicktrack="0"]] suffix, non-ASCII bytes.
#include "rewrite/text_scanner.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace trackrelay::rewrite {
namespace {

// The URLs found, as strings.
std::vector<std::string> urls(std::string_view text) {
  std::vector<std::string> out;
  for (const TextLink& link : scan_text(text)) {
    out.emplace_back(text.substr(link.offset, link.length));
  }
  return out;
}

using Urls = std::vector<std::string>;

TEST(TextScanner, ExactOffsets) {
  std::string text = "Visit https://example.com/a now";
  auto links = scan_text(text);
  ASSERT_EQ(links.size(), 1u);
  EXPECT_EQ(links[0].offset, 6u);
  EXPECT_EQ(links[0].length, 21u);
  EXPECT_EQ(links[0].suffix_length, 0u);
  EXPECT_FALSE(links[0].clicktrack_off);
}

TEST(TextScanner, StartAndEndOfBuffer) {
  std::string text = "http://a.example/x and https://b.example/y";
  auto links = scan_text(text);
  ASSERT_EQ(links.size(), 2u);
  EXPECT_EQ(links[0].offset, 0u);
  EXPECT_EQ(links[1].offset + links[1].length, text.size());
  EXPECT_EQ(urls("https://only.example"), Urls{"https://only.example"});
  EXPECT_TRUE(scan_text("").empty());
  EXPECT_TRUE(scan_text("https:/").empty());
}

TEST(TextScanner, QueryAndFragment) {
  EXPECT_EQ(urls("go https://example.com/path?x=1&y=2#frag."),
            Urls{"https://example.com/path?x=1&y=2#frag"});
}

TEST(TextScanner, TrailingPunctuationIsStripped) {
  for (std::string p : {".", ",", ";", ":", "!", "?", "'", "...", "?!", ".'"}) {
    EXPECT_EQ(urls("see https://example.com/a" + p + " next"), Urls{"https://example.com/a"}) << p;
  }
  EXPECT_EQ(urls("https://example.com/a.b?c=d;e"), Urls{"https://example.com/a.b?c=d;e"});
}

TEST(TextScanner, ClosingBracketsKeptOnlyWhenBalanced) {
  EXPECT_EQ(urls("https://en.wikipedia.org/wiki/Foo_(bar)"),
            Urls{"https://en.wikipedia.org/wiki/Foo_(bar)"});
  EXPECT_EQ(urls("(see https://en.wikipedia.org/wiki/Foo_(bar))."),
            Urls{"https://en.wikipedia.org/wiki/Foo_(bar)"});
  EXPECT_EQ(urls("(see https://example.com/a)"), Urls{"https://example.com/a"});
  EXPECT_EQ(urls("[https://example.com/a]"), Urls{"https://example.com/a"});
  EXPECT_EQ(urls("{https://example.com/a}"), Urls{"https://example.com/a"});
  EXPECT_EQ(urls("https://example.com/q?a[0]=1"), Urls{"https://example.com/q?a[0]=1"});
  EXPECT_EQ(urls("https://example.com/t/{id}),"), Urls{"https://example.com/t/{id}"});
  EXPECT_EQ(urls("(https://example.com/a_(b).)"), Urls{"https://example.com/a_(b)"});
}

TEST(TextScanner, AngleBracketWrapper) {
  std::string text = "Link: <https://example.com/a?b=c> end";
  auto links = scan_text(text);
  ASSERT_EQ(links.size(), 1u);
  EXPECT_EQ(links[0].offset, 7u);
  EXPECT_EQ(text.substr(links[0].offset, links[0].length), "https://example.com/a?b=c");
  // Inside the wrapper the URL ends at the wrapper, punctuation included.
  EXPECT_EQ(urls("<https://example.com/a.>"), Urls{"https://example.com/a."});
}

TEST(TextScanner, QuoteWrapper) {
  EXPECT_EQ(urls("href \"https://example.com/q\" here"), Urls{"https://example.com/q"});
  EXPECT_EQ(urls("\"https://example.com/q!\""), Urls{"https://example.com/q!"});
  EXPECT_EQ(urls("it's 'https://example.com/s'"), Urls{"https://example.com/s"});
}

TEST(TextScanner, TerminatorsEndTheUrl) {
  EXPECT_EQ(urls("https://example.com/a\tb"), Urls{"https://example.com/a"});
  EXPECT_EQ(urls("https://example.com/a`b`"), Urls{"https://example.com/a"});
  EXPECT_EQ(urls(std::string("https://example.com/a\x01z")), Urls{"https://example.com/a"});
  EXPECT_EQ(urls("https://example.com/a\x7fz"), Urls{"https://example.com/a"});
  EXPECT_EQ(urls("https://example.com/a<b"), Urls{"https://example.com/a"});
}

TEST(TextScanner, LineBreakEndsTheUrl) {
  EXPECT_EQ(urls("https://example.com/very/long/\r\npath"), Urls{"https://example.com/very/long/"});
  EXPECT_EQ(urls("https://example.com/a\nb"), Urls{"https://example.com/a"});
}

TEST(TextScanner, ClicktrackSuffix) {
  std::string text = "x https://example.com/a[[data-msys-clicktrack=\"0\"]] y";
  auto links = scan_text(text);
  ASSERT_EQ(links.size(), 1u);
  EXPECT_EQ(links[0].offset, 2u);
  EXPECT_EQ(text.substr(links[0].offset, links[0].length), "https://example.com/a");
  EXPECT_TRUE(links[0].clicktrack_off);
  EXPECT_EQ(links[0].suffix_length, 28u);
  EXPECT_EQ(text.substr(links[0].offset + links[0].length, links[0].suffix_length),
            "[[data-msys-clicktrack=\"0\"]]");
}

TEST(TextScanner, SuffixOnlyRightAfterTheUrl) {
  auto links = scan_text("https://example.com/a [[data-msys-clicktrack=\"0\"]]");
  ASSERT_EQ(links.size(), 1u);
  EXPECT_FALSE(links[0].clicktrack_off);
  EXPECT_EQ(links[0].suffix_length, 0u);
  auto at_end = scan_text("https://example.com/a.[[data-msys-clicktrack=\"0\"]]");
  ASSERT_EQ(at_end.size(), 1u);
  EXPECT_TRUE(at_end[0].clicktrack_off);
  auto two = scan_text(
      "https://a.example/[[data-msys-clicktrack=\"0\"]]https://b.example/[[data-msys-clicktrack="
      "\"1\"]]");
  ASSERT_EQ(two.size(), 2u);
  EXPECT_TRUE(two[0].clicktrack_off);
  EXPECT_FALSE(two[1].clicktrack_off);
}

TEST(TextScanner, SchemeMustNotFollowLetterOrDigit) {
  EXPECT_TRUE(scan_text("xhttp://example.com/").empty());
  EXPECT_TRUE(scan_text("9https://example.com/").empty());
  EXPECT_EQ(urls("(http://example.com/)"), Urls{"http://example.com/"});
  EXPECT_EQ(urls("_https://example.com/"), Urls{"https://example.com/"});
  EXPECT_EQ(urls("url=https://example.com/"), Urls{"https://example.com/"});
}

TEST(TextScanner, SchemeIsCaseInsensitive) {
  EXPECT_EQ(urls("HTTPS://EXAMPLE.COM/A"), Urls{"HTTPS://EXAMPLE.COM/A"});
  EXPECT_EQ(urls("Http://example.com"), Urls{"Http://example.com"});
  EXPECT_TRUE(scan_text("ftp://example.com/ mailto:a@example.com").empty());
}

TEST(TextScanner, EmptyHostIsNotALink) {
  EXPECT_TRUE(scan_text("http://").empty());
  EXPECT_TRUE(scan_text("see http:// and https:// .").empty());
  EXPECT_TRUE(scan_text("https:///x").empty());
  EXPECT_TRUE(scan_text("http://?q=1").empty());
  EXPECT_TRUE(scan_text("http://user@/x").empty());
  EXPECT_EQ(urls("http:// https://ok.example/"), Urls{"https://ok.example/"});
  EXPECT_EQ(urls("http://[::1]:8080/x"), Urls{"http://[::1]:8080/x"});
  EXPECT_EQ(urls("http://user:pw@host.example:81/"), Urls{"http://user:pw@host.example:81/"});
}

TEST(TextScanner, Utf8AndOtherHighBytesArePartOfTheUrl) {
  std::string iri = "https://例え.jp/パス?q=ü";
  EXPECT_EQ(urls("IRI " + iri + " end"), Urls{iri});
  std::string latin1 = "http://example.com/caf\xe9";
  EXPECT_EQ(urls(latin1 + "."), Urls{latin1});
}

TEST(TextScanner, SeveralUrlsInOrder) {
  std::string text = "a https://one.example/ b\nhttp://two.example/x, c <https://three.example>";
  EXPECT_EQ(urls(text),
            (Urls{"https://one.example/", "http://two.example/x", "https://three.example"}));
  auto links = scan_text(text);
  for (std::size_t i = 1; i < links.size(); ++i) {
    EXPECT_LE(links[i - 1].offset + links[i - 1].length, links[i].offset);
  }
}

TEST(TextScanner, LongRunsAreLinear) {
  std::string text = "https://example.com/" + std::string(1 << 20, ')') + " " +
                     std::string(1 << 20, 'h') + "http://x.example/";
  auto links = scan_text(text);
  ASSERT_EQ(links.size(), 1u);  // "hhh...http://" follows a letter
  EXPECT_EQ(links[0].length, 20u);
}

TEST(TextScanner, RunsOfHostlessSchemesAreLinear) {
  // Each "http:///" used to restart the scan inside the same run: 640 KB
  // took minutes. A hang here is caught by the test timeout.
  std::string text;
  for (int i = 0; i < 200000; ++i) text += "http:///";
  text += " https://ok.example/";
  EXPECT_EQ(urls(text), (Urls{"https://ok.example/"}));
}

TEST(TextScanner, MarkdownLinkEndsAtBracketParen) {
  EXPECT_EQ(urls("[https://x.example/md](https://x.example/md2)"),
            (Urls{"https://x.example/md", "https://x.example/md2"}));
}

}  // namespace
}  // namespace trackrelay::rewrite
