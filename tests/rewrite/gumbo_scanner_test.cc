// tests/rewrite/gumbo_scanner_test.cc — the gumbo LinkScanner: href spans as
// source byte offsets, per-link controls, MSO conditional comments, <body>
// positions, parse limits, and every corpus HTML file.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "rewrite/link_scanner.h"

namespace trackrelay::rewrite {
namespace {

HtmlScan scan_ok(std::string_view html, const conf::RewriteLimits& limits = {}) {
  auto result = make_gumbo_scanner(limits)->scan(html);
  EXPECT_TRUE(result.ok()) << result.error();
  return result.ok() ? std::move(result).value() : HtmlScan{};
}

std::string span(std::string_view html, const HtmlLink& link) {
  return std::string(html.substr(link.value_offset, link.value_length));
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(GumboScanner, DoubleQuotedHrefExactOffsets) {
  std::string html = R"(<p>Hi <a class="x" href="https://example.com/a">link</a></p>)";
  HtmlScan scan = scan_ok(html);
  ASSERT_EQ(scan.links.size(), 1u);
  const HtmlLink& link = scan.links[0];
  EXPECT_EQ(link.value_offset, 25u);
  EXPECT_EQ(link.value_length, 21u);
  EXPECT_EQ(link.attr_offset, 19u);
  EXPECT_EQ(link.quote, '"');
  EXPECT_EQ(link.value, "https://example.com/a");
  EXPECT_EQ(link.tag, "a");
  EXPECT_FALSE(link.clicktrack_off);
  EXPECT_EQ(link.link_name, "");
  EXPECT_FALSE(link.in_conditional_comment);
}

TEST(GumboScanner, SingleQuotedHref) {
  std::string html = "<a href='http://example.com/s'>x</a>";
  HtmlScan scan = scan_ok(html);
  ASSERT_EQ(scan.links.size(), 1u);
  EXPECT_EQ(scan.links[0].quote, '\'');
  EXPECT_EQ(scan.links[0].value_offset, 9u);
  EXPECT_EQ(scan.links[0].attr_offset, 3u);
  EXPECT_EQ(span(html, scan.links[0]), "http://example.com/s");
}

TEST(GumboScanner, UnquotedHref) {
  std::string html = "<a href=http://example.com/u?a=1 title=t>x</a>";
  HtmlScan scan = scan_ok(html);
  ASSERT_EQ(scan.links.size(), 1u);
  EXPECT_EQ(scan.links[0].quote, 0);
  EXPECT_EQ(scan.links[0].value_offset, 8u);
  EXPECT_EQ(scan.links[0].value_length, 24u);
  EXPECT_EQ(span(html, scan.links[0]), "http://example.com/u?a=1");
}

TEST(GumboScanner, EntitiesDecodedInValueButSpanIsRaw) {
  std::string html = R"(<a href="https://example.com/?a=1&amp;b=2&#38;c=3">x</a>)";
  HtmlScan scan = scan_ok(html);
  ASSERT_EQ(scan.links.size(), 1u);
  EXPECT_EQ(scan.links[0].value, "https://example.com/?a=1&b=2&c=3");
  EXPECT_EQ(span(html, scan.links[0]), "https://example.com/?a=1&amp;b=2&#38;c=3");
}

TEST(GumboScanner, MultiLineTagWithCrlf) {
  std::string html =
      "<div>\r\n<a\r\n   style=\"color:red\"\r\n   href=\"https://example.com/m\"\r\n>x</a>";
  HtmlScan scan = scan_ok(html);
  ASSERT_EQ(scan.links.size(), 1u);
  EXPECT_EQ(scan.links[0].attr_offset, html.find("href"));
  EXPECT_EQ(scan.links[0].value_offset, html.find("https"));
  EXPECT_EQ(span(html, scan.links[0]), "https://example.com/m");
}

TEST(GumboScanner, UppercaseTagAndAttribute) {
  std::string html = R"(<A HREF="https://example.com/U">x</A>)";
  HtmlScan scan = scan_ok(html);
  ASSERT_EQ(scan.links.size(), 1u);
  EXPECT_EQ(scan.links[0].tag, "a");
  EXPECT_EQ(scan.links[0].attr_offset, 3u);
  EXPECT_EQ(scan.links[0].value_offset, 9u);
}

TEST(GumboScanner, AreaElement) {
  std::string html =
      R"(<map name="m"><area shape="rect" coords="0,0,1,1" href="https://example.com/area"></map>)";
  HtmlScan scan = scan_ok(html);
  ASSERT_EQ(scan.links.size(), 1u);
  EXPECT_EQ(scan.links[0].tag, "area");
  EXPECT_EQ(span(html, scan.links[0]), "https://example.com/area");
}

TEST(GumboScanner, ClicktrackOffOnlyForZero) {
  std::string html = R"(<a href="https://a.example/" data-msys-clicktrack="0">a</a>)"
                     R"(<a href="https://b.example/" data-msys-clicktrack="1">b</a>)"
                     R"(<a data-msys-clicktrack='0' href="https://c.example/">c</a>)"
                     R"(<a href="https://d.example/">d</a>)";
  HtmlScan scan = scan_ok(html);
  ASSERT_EQ(scan.links.size(), 4u);
  EXPECT_TRUE(scan.links[0].clicktrack_off);
  EXPECT_FALSE(scan.links[1].clicktrack_off);
  EXPECT_TRUE(scan.links[2].clicktrack_off);
  EXPECT_FALSE(scan.links[3].clicktrack_off);
}

TEST(GumboScanner, LinkNameIsDecoded) {
  std::string html =
      R"(<a data-msys-linkname="Tom &amp; Jerry&#x21;" href="https://x.example/">x</a>)";
  HtmlScan scan = scan_ok(html);
  ASSERT_EQ(scan.links.size(), 1u);
  EXPECT_EQ(scan.links[0].link_name, "Tom & Jerry!");
}

TEST(GumboScanner, NonHttpHrefsAreStillReported) {
  std::string html =
      R"(<a href="mailto:a@example.com">m</a><a href="tel:+100">t</a><a href="#top">t</a>)"
      R"(<a href="{{url}}">u</a><a href="">e</a>)";
  HtmlScan scan = scan_ok(html);
  ASSERT_EQ(scan.links.size(), 5u);
  EXPECT_EQ(scan.links[0].value, "mailto:a@example.com");
  EXPECT_EQ(scan.links[1].value, "tel:+100");
  EXPECT_EQ(scan.links[2].value, "#top");
  EXPECT_EQ(scan.links[3].value, "{{url}}");
  EXPECT_EQ(scan.links[4].value, "");
  EXPECT_EQ(scan.links[4].value_length, 0u);
  EXPECT_EQ(scan.links[4].value_offset, html.rfind("\"\"") + 1);
}

TEST(GumboScanner, AnchorWithoutHrefValueIsIgnored) {
  HtmlScan scan = scan_ok(R"(<a name="x">n</a><a href>h</a><a id="y">i</a>)");
  EXPECT_TRUE(scan.links.empty());
}

TEST(GumboScanner, MsoConditionalCommentVmlButton) {
  std::string html =
      "<body>\n<div><!--[if mso]>\n"
      "  <v:roundrect xmlns:v=\"urn:schemas-microsoft-com:vml\" href=\"https://vml.example/go\" "
      "style=\"height:40px\" arcsize=\"10%\"><w:anchorlock/><center>Go</center></v:roundrect>\n"
      "  <a href='https://mso.example/a'>a</a>\n"
      "<![endif]--><a href=\"https://html.example/\">Go</a></div>\n</body>";
  HtmlScan scan = scan_ok(html);
  ASSERT_EQ(scan.links.size(), 3u);
  const HtmlLink& vml = scan.links[0];
  EXPECT_EQ(vml.tag, "v:roundrect");
  EXPECT_TRUE(vml.in_conditional_comment);
  EXPECT_EQ(vml.value_offset, 87u);
  EXPECT_EQ(vml.attr_offset, 81u);
  EXPECT_EQ(vml.value_offset, html.find("https://vml"));
  EXPECT_EQ(vml.attr_offset, html.find("href=\"https://vml"));
  EXPECT_EQ(vml.value_length, 22u);
  EXPECT_EQ(vml.quote, '"');
  EXPECT_EQ(span(html, vml), "https://vml.example/go");
  const HtmlLink& inner = scan.links[1];
  EXPECT_EQ(inner.tag, "a");
  EXPECT_TRUE(inner.in_conditional_comment);
  EXPECT_EQ(inner.quote, '\'');
  EXPECT_EQ(inner.value_offset, html.find("https://mso"));
  EXPECT_EQ(scan.links[2].value, "https://html.example/");
  EXPECT_FALSE(scan.links[2].in_conditional_comment);
}

TEST(GumboScanner, ConditionalCommentVariants) {
  std::string html =
      "<!--  [IF (gte mso 9)|(IE)]><v:rect href=\"https://r.example/\"></v:rect><![ENDIF]-->"
      "<!--[if mso]><p>no links here</p><![endif]-->";
  HtmlScan scan = scan_ok(html);
  ASSERT_EQ(scan.links.size(), 1u);
  EXPECT_EQ(scan.links[0].tag, "v:rect");
  EXPECT_EQ(scan.links[0].value_offset, html.find("https://r"));
  EXPECT_TRUE(scan.links[0].in_conditional_comment);
}

TEST(GumboScanner, VmlOutsideConditionalCommentIsNotALink) {
  HtmlScan scan = scan_ok(R"(<v:roundrect href="https://x.example/"></v:roundrect>)");
  EXPECT_TRUE(scan.links.empty());
}

TEST(GumboScanner, DownlevelRevealedCommentIsOrdinaryHtml) {
  std::string html =
      "<!--[if !mso]><!--><a href=\"https://not-mso.example/\">x</a><!--<![endif]-->";
  HtmlScan scan = scan_ok(html);
  ASSERT_EQ(scan.links.size(), 1u);
  EXPECT_FALSE(scan.links[0].in_conditional_comment);
  EXPECT_EQ(scan.links[0].value_offset, html.find("https://"));
}

TEST(GumboScanner, ScriptStyleTextareaAndPlainCommentsAreNotLinks) {
  std::string html =
      "<head><style>a[href=\"https://style.example/\"]{}</style>"
      "<script>document.write('<a href=\"https://script.example/\">');</script></head>"
      "<body><!-- <a href=\"https://comment.example/\">old</a> -->"
      "<textarea><a href=\"https://textarea.example/\"></textarea>"
      "<a href=\"https://real.example/\">ok</a></body>";
  HtmlScan scan = scan_ok(html);
  ASSERT_EQ(scan.links.size(), 1u);
  EXPECT_EQ(scan.links[0].value, "https://real.example/");
}

TEST(GumboScanner, BodyPositions) {
  std::string html = "<html><head></head><body class=\"b\">\n<p>x</p>\n</body>\n</html>";
  HtmlScan scan = scan_ok(html);
  ASSERT_TRUE(scan.body_start_end.has_value());
  ASSERT_TRUE(scan.body_end_start.has_value());
  EXPECT_EQ(*scan.body_start_end, html.find("\n<p>"));
  EXPECT_EQ(*scan.body_end_start, html.find("</body>"));
}

TEST(GumboScanner, UppercaseBodyTags) {
  std::string html = "<HTML><BODY>x</BODY></HTML>";
  HtmlScan scan = scan_ok(html);
  EXPECT_EQ(scan.body_start_end, std::optional<std::size_t>(12));
  EXPECT_EQ(scan.body_end_start, std::optional<std::size_t>(13));
}

TEST(GumboScanner, ImpliedBodyHasNoPositions) {
  HtmlScan scan = scan_ok("<p>Hello <a href=\"https://x.example/\">x</a></p>");
  EXPECT_FALSE(scan.body_start_end.has_value());
  EXPECT_FALSE(scan.body_end_start.has_value());
  EXPECT_EQ(scan.links.size(), 1u);
}

TEST(GumboScanner, BodyWithoutEndTag) {
  std::string html = "<html><body>x";
  HtmlScan scan = scan_ok(html);
  EXPECT_EQ(scan.body_start_end, std::optional<std::size_t>(12));
  EXPECT_FALSE(scan.body_end_start.has_value());
}

TEST(GumboScanner, LateBodyTagAfterImpliedBody) {
  // An <img> in <head> makes the parser imply <body>; the real tag still counts.
  std::string html =
      "<html><head><title>t</title><img src=\"https://p.example/i.gif\"></head>\n"
      "<body bgcolor=\"#fff\">\n<p>x</p></body></html>";
  HtmlScan scan = scan_ok(html);
  ASSERT_TRUE(scan.body_start_end.has_value());
  EXPECT_EQ(*scan.body_start_end, html.find("\n<p>"));
  EXPECT_EQ(scan.body_end_start, std::optional<std::size_t>(html.find("</body>")));
}

TEST(GumboScanner, BodyInCommentScriptOrAttributeIsNotTheBodyTag) {
  HtmlScan scan = scan_ok(
      "<p>x</p><!-- <body> --><script>var s = '<body>';</script>"
      "<textarea><body></textarea><a title=\"<body>\" href=\"https://x.example/\">x</a>"
      "<!--[if mso]><body><![endif]-->");
  EXPECT_FALSE(scan.body_start_end.has_value());
  EXPECT_FALSE(scan.body_end_start.has_value());
}

TEST(GumboScanner, MisnestedAnchorReportedOnce) {
  // The adoption agency clones <a> into the <p>: one source attribute.
  std::string html =
      "<a href=\"https://x.example/\"><p>one</a>two<b><a href=\"https://y.example/\">"
      "<table><tr><td>c</b></table>";
  HtmlScan scan = scan_ok(html);
  ASSERT_EQ(scan.links.size(), 2u);
  EXPECT_EQ(scan.links[0].value_offset, html.find("https://x"));
  EXPECT_EQ(scan.links[1].value_offset, html.find("https://y"));
}

TEST(GumboScanner, LinksAreInSourceOrder) {
  std::string html =
      "<table><a href=\"https://foster.example/\">f</a><tr><td>"
      "<a href=\"https://cell.example/\">c</a></td></tr></table>";
  HtmlScan scan = scan_ok(html);
  ASSERT_EQ(scan.links.size(), 2u);
  EXPECT_LT(scan.links[0].value_offset, scan.links[1].value_offset);
  EXPECT_EQ(scan.links[0].value, "https://foster.example/");
}

TEST(GumboScanner, TooLargeIsAnError) {
  conf::RewriteLimits limits;
  limits.max_html_part_bytes = 16;
  auto result = make_gumbo_scanner(limits)->scan("<p>seventeen bytes</p>");
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().find("bytes"), std::string::npos) << result.error();
}

TEST(GumboScanner, TooDeepIsAnError) {
  conf::RewriteLimits limits;
  limits.max_html_depth = 10;
  std::string html;
  for (int i = 0; i < 20; ++i) html += "<div>";
  auto result = make_gumbo_scanner(limits)->scan(html);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().find("nested deeper than 10"), std::string::npos) << result.error();
  EXPECT_EQ(result.code(), Errc::kLimit);  // the guard's error, code and text kept
  std::string shallow;
  for (int i = 0; i < 5; ++i) shallow += "<div>";
  EXPECT_TRUE(make_gumbo_scanner(limits)->scan(shallow).ok());
}

TEST(GumboScanner, TooManyParseErrorsIsAnError) {
  conf::RewriteLimits limits;
  limits.max_html_parse_errors = 5;
  std::string html;
  for (int i = 0; i < 20; ++i) html += "</x></y>";
  auto result = make_gumbo_scanner(limits)->scan(html);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error(), "too many HTML parse errors (limit 5)");
}

TEST(GumboScanner, SloppyButShallowMarkupPasses) {
  // Unclosed <p>, <li>, <td>, <tr>, <option>: implied end tags keep it shallow.
  std::string html = "<table>";
  for (int i = 0; i < 2000; ++i) html += "<tr><td>x<td><p>y<p>z<ul><li>a<li>b</ul>";
  html += "</table><select>";
  for (int i = 0; i < 2000; ++i) html += "<option>o";
  EXPECT_TRUE(make_gumbo_scanner({})->scan(html).ok());
}

// gumbo is quadratic on these; the pre-check must refuse them quickly.
TEST(GumboScanner, AdversarialMarkupFailsFast) {
  std::string deep;
  for (int i = 0; i < 50000; ++i) deep += "<div>";
  std::string attrs = "<a ";
  for (int i = 0; i < 50000; ++i) attrs += "x" + std::to_string(i) + "=1 ";
  std::string formatting;
  for (int i = 0; i < 5000; ++i) formatting += "<b id=" + std::to_string(i) + ">";
  for (int i = 0; i < 5000; ++i) formatting += "<p>x";
  std::string wide;
  for (int i = 0; i < 300; ++i) wide += "<div>";
  for (int i = 0; i < 500000; ++i) wide += "<i>x</i>";
  for (const std::string& html : {deep, attrs, formatting, wide}) {
    auto start = std::chrono::steady_clock::now();
    auto result = make_gumbo_scanner({})->scan(html);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_FALSE(result.ok());
    EXPECT_LT(seconds, 2.0);
  }
}

TEST(GumboScanner, AdversarialConditionalCommentFailsFast) {
  std::string html = "<p>x</p><!--[if mso]>";
  for (int i = 0; i < 50000; ++i) html += "<div>";
  html += "<![endif]-->";
  auto start = std::chrono::steady_clock::now();
  auto result = make_gumbo_scanner({})->scan(html);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().find("conditional comment"), std::string::npos) << result.error();
  EXPECT_LT(seconds, 2.0);
}

TEST(GumboScanner, ScannerCanBeReused) {
  auto scanner = make_gumbo_scanner({});
  for (int i = 0; i < 3; ++i) {
    auto result = scanner->scan("<body><a href=\"https://x.example/\">x</a></body>");
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result->links.size(), 1u);
  }
}

TEST(GumboScanner, PathologicalCorpusMessageCompletesInBounds) {
  std::string eml = read_file(std::filesystem::path(TRACKRELAY_CORPUS_DIR) / "mime" /
                              "mailparser-html-large-pathological.eml");
  std::size_t body = eml.find("\n\n");
  ASSERT_NE(body, std::string::npos);
  std::string html = eml.substr(body + 2);
  ASSERT_GT(html.size(), 500000u);
  auto start = std::chrono::steady_clock::now();
  auto result = make_gumbo_scanner({})->scan(html);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 5.0);  // ~0.03 s in a release build
  if (result.ok()) {
    EXPECT_TRUE(result->links.empty());  // it is all <title> text
  }
}

TEST(GumboScanner, WhatwgSpecHrefsInsideScriptAreNotReported) {
  std::string html = read_file(std::filesystem::path(TRACKRELAY_CORPUS_DIR) / "html" /
                               "mimekit-whatwg-spec-large-win1252.html");
  ASSERT_FALSE(html.empty());
  HtmlScan scan = scan_ok(html);
  EXPECT_GT(scan.links.size(), 100u);
  std::size_t first = html.find("<script");
  ASSERT_NE(html.substr(first, html.find("</script", first) - first).find("href"),
            std::string::npos);  // the file's first script builds links
  for (std::size_t open = html.find("<script"); open != std::string::npos;
       open = html.find("<script", open + 1)) {
    std::size_t close = html.find("</script", open);
    if (close == std::string::npos) break;  // "<script>" in prose, not an element
    for (const HtmlLink& link : scan.links) {
      EXPECT_FALSE(link.value_offset > open && link.value_offset < close)
          << "link at " << link.value_offset << " is inside the script at " << open;
    }
  }
}

// Every reported span is exactly the attribute value's source bytes.
void expect_spans_are_attributes(const std::string& name, std::string_view html,
                                 const HtmlScan& scan) {
  std::size_t previous_end = 0;
  for (const HtmlLink& link : scan.links) {
    SCOPED_TRACE(name + " link at " + std::to_string(link.value_offset));
    ASSERT_LE(link.value_offset + link.value_length, html.size());
    EXPECT_GE(link.attr_offset, previous_end);
    previous_end = link.value_offset + link.value_length;
    std::string_view attr = html.substr(link.attr_offset, link.value_offset - link.attr_offset);
    ASSERT_GE(attr.size(), 5u);
    std::string head(attr.substr(0, 4));
    for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_EQ(head, "href");
    std::size_t eq = attr.find('=');
    ASSERT_NE(eq, std::string_view::npos);
    EXPECT_EQ(attr.substr(4, eq - 4).find_first_not_of(" \t\r\n\f"), std::string_view::npos);
    std::string_view after_eq = attr.substr(eq + 1);
    if (link.quote != 0) {
      ASSERT_FALSE(after_eq.empty());
      EXPECT_EQ(after_eq.back(), link.quote);
      EXPECT_EQ(html[link.value_offset + link.value_length], link.quote);
      EXPECT_EQ(span(html, link).find(link.quote), std::string::npos);
    } else {
      std::size_t end = link.value_offset + link.value_length;
      EXPECT_TRUE(end == html.size() ||
                  std::string_view(" \t\r\n\f>").find(html[end]) != std::string_view::npos);
    }
    EXPECT_EQ(
        after_eq.substr(0, after_eq.size() - (link.quote ? 1 : 0)).find_first_not_of(" \t\r\n\f"),
        std::string_view::npos);
  }
}

TEST(GumboScanner, EveryCorpusHtmlFileScansWithExactSpans) {
  std::filesystem::path dir = std::filesystem::path(TRACKRELAY_CORPUS_DIR) / "html";
  int files = 0;
  std::size_t links = 0, conditional = 0, bodies = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".html") continue;
    ++files;
    std::string html = read_file(entry.path());
    auto result = make_gumbo_scanner({})->scan(html);
    ASSERT_TRUE(result.ok()) << entry.path() << ": " << result.error();
    expect_spans_are_attributes(entry.path().filename().string(), html, *result);
    links += result->links.size();
    for (const HtmlLink& link : result->links) conditional += link.in_conditional_comment;
    if (result->body_start_end) {
      ++bodies;
      EXPECT_EQ(html[*result->body_start_end - 1], '>');
    }
    if (result->body_end_start) {
      EXPECT_EQ(html[*result->body_end_start], '<');
    }
  }
  EXPECT_GT(files, 50);
  EXPECT_GT(links, 1000u);
  EXPECT_GT(conditional, 0u);  // the sendwithus VML buttons
  EXPECT_GT(bodies, 50u);
}

}  // namespace
}  // namespace trackrelay::rewrite
