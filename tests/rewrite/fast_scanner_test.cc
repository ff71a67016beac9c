// tests/rewrite/fast_scanner_test.cc — the fast (tokenizer-only) LinkScanner
// against the gumbo scanner: differential over the corpus and the gumbo
// scanner's own cases, random mutations of corpus HTML, every tokenizer state,
// delegation, limits, and the rewrite.html_scanner factory.
//
// The rule under test: the fast path's HtmlScan (or error) equals the gumbo
// scanner's exactly, or the fast path delegates; never a different answer.
// (Chunk independence does not apply: neither scanner streams; both take the
// whole decoded part.)
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "mime/codec.h"
#include "mime/structure.h"
#include "rewrite/html_tokenizer.h"
#include "rewrite/link_scanner.h"

namespace trackrelay::rewrite {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string describe(const Result<HtmlScan>& r) {
  if (!r.ok()) return "error: " + r.error();
  std::ostringstream s;
  for (const HtmlLink& l : r->links) {
    s << "link " << l.tag << " attr=" << l.attr_offset << " off=" << l.value_offset
      << " len=" << l.value_length << " q=" << int(l.quote) << " value=[" << l.value
      << "] ct=" << l.clicktrack_off << " name=[" << l.link_name
      << "] cond=" << l.in_conditional_comment << "\n";
  }
  s << "body_start_end=" << (r->body_start_end ? std::to_string(*r->body_start_end) : "-")
    << " body_end_start=" << (r->body_end_start ? std::to_string(*r->body_end_start) : "-");
  return s.str();
}

struct Tally {
  int fast = 0;
  int delegated = 0;
  std::map<std::string, int> reasons;
  std::string summary() const {
    std::string s = std::to_string(fast) + " fast, " + std::to_string(delegated) + " delegated";
    for (const auto& [reason, n] : reasons) s += "\n    " + std::to_string(n) + "x " + reason;
    return s;
  }
};

// The fast path either delegates or equals gumbo. Returns true for the fast path.
bool expect_same(std::string_view html, const std::string& name, Tally* tally = nullptr,
                 const conf::RewriteLimits& limits = {}) {
  FastScanOutcome fast = fast_scan(html, limits);
  if (!fast.result) {
    EXPECT_NE(fast.delegated, nullptr) << name;
    if (tally != nullptr) {
      ++tally->delegated;
      ++tally->reasons[fast.delegated];
    }
    return false;
  }
  if (tally != nullptr) ++tally->fast;
  Result<HtmlScan> gumbo = make_gumbo_scanner(limits)->scan(html);
  std::string want = describe(gumbo), got = describe(*fast.result);
  EXPECT_EQ(got, want) << name << "\n--- input (" << html.size()
                       << " bytes): " << std::string(html.substr(0, 2000));
  return got == want;
}

HtmlScan fast_ok(std::string_view html) {
  FastScanOutcome fast = fast_scan(html, {});
  EXPECT_TRUE(fast.result.has_value()) << "delegated: " << (fast.delegated ? fast.delegated : "");
  if (!fast.result || !fast.result->ok()) return {};
  expect_same(html, std::string(html.substr(0, 80)));
  return fast.result->value();
}

std::vector<std::string> corpus_html_parts() {
  std::vector<std::string> parts;
  fs::path dir(TRACKRELAY_CORPUS_DIR);
  for (const auto& e : fs::directory_iterator(dir / "html")) {
    if (e.path().extension() == ".html") parts.push_back(read_file(e.path()));
  }
  for (const auto& e : fs::directory_iterator(dir / "mime")) {
    if (e.path().extension() != ".eml") continue;
    std::string m = read_file(e.path());
    auto s = mime::analyse(m);
    if (!s) continue;
    for (const auto& leaf : s->leaves) {
      if (leaf.media_type != "text/html") continue;
      auto d = mime::decode_body(std::string_view(m).substr(leaf.body_offset, leaf.body_length),
                                 leaf.encoding);
      if (d) parts.push_back(std::move(*d));
    }
  }
  return parts;
}

// --- differential ---

TEST(FastScanner, CorpusEqualsGumboOrDelegates) {
  fs::path dir(TRACKRELAY_CORPUS_DIR);
  Tally html_files, mime_parts;
  for (const auto& e : fs::directory_iterator(dir / "html")) {
    if (e.path().extension() != ".html") continue;
    expect_same(read_file(e.path()), e.path().filename().string(), &html_files);
  }
  for (const auto& e : fs::directory_iterator(dir / "mime")) {
    if (e.path().extension() != ".eml") continue;
    std::string m = read_file(e.path());
    auto s = mime::analyse(m);
    if (!s) continue;
    for (const auto& leaf : s->leaves) {
      if (leaf.media_type != "text/html") continue;
      auto d = mime::decode_body(std::string_view(m).substr(leaf.body_offset, leaf.body_length),
                                 leaf.encoding);
      if (d) expect_same(*d, e.path().filename().string() + " part " + leaf.path, &mime_parts);
    }
  }
  std::printf("[ corpus ] html/*.html: %s\n[ corpus ] mime/*.eml text/html parts: %s\n",
              html_files.summary().c_str(), mime_parts.summary().c_str());
  EXPECT_GT(html_files.fast + html_files.delegated, 50);
  EXPECT_GT(mime_parts.fast + mime_parts.delegated, 20);
  // Most real mail must take the fast path, or the scanner is pointless.
  EXPECT_GT(html_files.fast, html_files.delegated * 3);
}

// The inputs of tests/rewrite/gumbo_scanner_test.cc.
TEST(FastScanner, GumboScannerCasesEqualGumbo) {
  const std::vector<std::string> cases = {
      R"(<p>Hi <a class="x" href="https://example.com/a">link</a></p>)",
      "<a href='http://example.com/s'>x</a>",
      "<a href=http://example.com/u?a=1 title=t>x</a>",
      R"(<a href="https://example.com/?a=1&amp;b=2&#38;c=3">x</a>)",
      "<div>\r\n<a\r\n   style=\"color:red\"\r\n   href=\"https://example.com/m\"\r\n>x</a>",
      R"(<A HREF="https://example.com/U">x</A>)",
      R"(<map name="m"><area shape="rect" coords="0,0,1,1" href="https://example.com/area"></map>)",
      R"(<a href="https://a.example/" data-msys-clicktrack="0">a</a>)"
      R"(<a href="https://b.example/" data-msys-clicktrack="1">b</a>)"
      R"(<a data-msys-clicktrack='0' href="https://c.example/">c</a>)"
      R"(<a href="https://d.example/">d</a>)",
      R"(<a data-msys-linkname="Tom &amp; Jerry&#x21;" href="https://x.example/">x</a>)",
      R"(<a href="mailto:a@example.com">m</a><a href="tel:+100">t</a><a href="#top">t</a>)"
      R"(<a href="{{url}}">u</a><a href="">e</a>)",
      R"(<a name="x">n</a><a href>h</a><a id="y">i</a>)",
      "<body>\n<div><!--[if mso]>\n  <v:roundrect xmlns:v=\"urn:schemas-microsoft-com:vml\" "
      "href=\"https://vml.example/go\" style=\"height:40px\" arcsize=\"10%\"><w:anchorlock/>"
      "<center>Go</center></v:roundrect>\n  <a href='https://mso.example/a'>a</a>\n"
      "<![endif]--><a href=\"https://html.example/\">Go</a></div>\n</body>",
      "<!--  [IF (gte mso 9)|(IE)]><v:rect href=\"https://r.example/\"></v:rect><![ENDIF]-->"
      "<!--[if mso]><p>no links here</p><![endif]-->",
      R"(<v:roundrect href="https://x.example/"></v:roundrect>)",
      "<!--[if !mso]><!--><a href=\"https://not-mso.example/\">x</a><!--<![endif]-->",
      "<head><style>a[href=\"https://style.example/\"]{}</style>"
      "<script>document.write('<a href=\"https://script.example/\">');</script></head>"
      "<body><!-- <a href=\"https://comment.example/\">old</a> -->"
      "<textarea><a href=\"https://textarea.example/\"></textarea>"
      "<a href=\"https://real.example/\">ok</a></body>",
      "<html><head></head><body class=\"b\">\n<p>x</p>\n</body>\n</html>",
      "<HTML><BODY>x</BODY></HTML>",
      "<p>Hello <a href=\"https://x.example/\">x</a></p>",
      "<html><body>x",
      "<html><head><title>t</title><img src=\"https://p.example/i.gif\"></head>\n"
      "<body bgcolor=\"#fff\">\n<p>x</p></body></html>",
      "<p>x</p><!-- <body> --><script>var s = '<body>';</script>"
      "<textarea><body></textarea><a title=\"<body>\" href=\"https://x.example/\">x</a>"
      "<!--[if mso]><body><![endif]-->",
      "<a href=\"https://x.example/\"><p>one</a>two<b><a href=\"https://y.example/\">"
      "<table><tr><td>c</b></table>",
      "<table><a href=\"https://foster.example/\">f</a><tr><td>"
      "<a href=\"https://cell.example/\">c</a></td></tr></table>",
      "<body><a href=\"https://x.example/\">x</a></body>",
  };
  Tally tally;
  for (const std::string& html : cases) expect_same(html, html, &tally);
  std::printf("[ cases ] %s\n", tally.summary().c_str());
  EXPECT_GE(tally.fast, static_cast<int>(cases.size()) - 2);
}

// --- random mutations ---

TEST(FastScanner, MutatedCorpusNeverDisagrees) {
  std::vector<std::string> parts = corpus_html_parts();
  ASSERT_FALSE(parts.empty());
  const std::vector<std::string> pieces = {"<",
                                           ">",
                                           "\"",
                                           "'",
                                           "=",
                                           "/",
                                           " ",
                                           "\r\n",
                                           "\r",
                                           "&",
                                           "&amp;",
                                           "&amp",
                                           "&#",
                                           "&#x41;",
                                           "&lt",
                                           "&nbsp;",
                                           "&copy;",
                                           "&notin;",
                                           "&ampx",
                                           "<!--",
                                           "-->",
                                           "--!>",
                                           "<!-->",
                                           "<!--->",
                                           "<!x>",
                                           "<?x>",
                                           "</x>",
                                           "</>",
                                           "<a href=x>",
                                           "<a href=\"https://m.example/?a=1&b=2\">",
                                           "</a>",
                                           "<area href='/z'>",
                                           "<table>",
                                           "</table>",
                                           "<td>",
                                           "</td>",
                                           "<tr>",
                                           "</tr>",
                                           "<caption>",
                                           "<body>",
                                           "</body>",
                                           "<body class=x>",
                                           "</html>",
                                           "<html>",
                                           "<head>",
                                           "<script>",
                                           "</script>",
                                           "<!--<script>",
                                           "<style>",
                                           "</style>",
                                           "<title>",
                                           "</title>",
                                           "<textarea>",
                                           "<xmp>",
                                           "<plaintext>",
                                           "<noscript>",
                                           "</noscript>",
                                           "<iframe>",
                                           "<svg>",
                                           "<math>",
                                           "<select>",
                                           "<template>",
                                           "<frameset>",
                                           "<object>",
                                           "<![CDATA[x]]>",
                                           "<!--[if mso]>",
                                           "<![endif]-->",
                                           "<v:roundrect href=\"https://v.example/\">",
                                           "<b>",
                                           "</b>",
                                           "<p>",
                                           "</p>",
                                           "<div>",
                                           "</div>",
                                           "data-msys-linkname=\"n&amp;m\" ",
                                           "data-msys-clicktrack=\"0\" ",
                                           "href=",
                                           "href='x' ",
                                           "\xC3\xA9",
                                           "\x80",
                                           "\x01",
                                           "&#0;",
                                           "&#x80;",
                                           "\v",
                                           "<!DOCTYPE html>",
                                           "<br/>",
                                           "<a/href=q>"};
  Tally tally;
  int mismatches = 0;
  for (unsigned seed = 1; seed <= 3000 && mismatches < 5; ++seed) {
    std::mt19937 rng(seed);
    const std::string& part = parts[rng() % parts.size()];
    // A window of the part keeps each gumbo parse small.
    std::size_t len = std::min<std::size_t>(part.size(), 512 + rng() % 6000);
    std::size_t from = part.size() > len ? rng() % (part.size() - len) : 0;
    std::string html = part.substr(from, len);
    int edits = 1 + static_cast<int>(rng() % 6);
    for (int e = 0; e < edits; ++e) {
      std::size_t at = html.empty() ? 0 : rng() % (html.size() + 1);
      switch (rng() % 4) {
        case 0:
        case 1:
          html.insert(at, pieces[rng() % pieces.size()]);
          break;
        case 2:
          html.erase(at, rng() % 16);
          break;
        default:
          if (at < html.size()) html[at] = static_cast<char>(rng() % 128);
          break;
      }
    }
    std::string name = "seed " + std::to_string(seed);
    FastScanOutcome fast = fast_scan(html, {});
    if (!fast.result) {
      ++tally.delegated;
      ++tally.reasons[fast.delegated];
      continue;
    }
    ++tally.fast;
    if (!expect_same(html, name)) ++mismatches;
  }
  std::printf("[ mutations ] %s\n", tally.summary().c_str());
  EXPECT_EQ(mismatches, 0);
  EXPECT_GT(tally.fast, 1000);
}

// --- tokenizer states, one by one (each also checked against gumbo) ---

TEST(FastScanner, TagAttributeStates) {
  std::string html =
      "<a  href = \"https://d.example/\" ><a href='https://s.example/'>"
      "<a href=https://u.example/x?y=1>"
      "<a/href=https://slash.example/><a href=https://selfclose.example//>"
      "<a x=1\"y href=https://after.example/><a title=\"t\"href=\"https://noblank.example/\">"
      "<a =x href=h1><a \"q=1 href=h2><a <b href=h3><a href=`x'<=y>";
  HtmlScan scan = fast_ok(html);
  ASSERT_EQ(scan.links.size(), 11u);
  EXPECT_EQ(scan.links[0].value, "https://d.example/");
  EXPECT_EQ(scan.links[0].attr_offset, html.find("href"));
  EXPECT_EQ(scan.links[1].quote, '\'');
  EXPECT_EQ(scan.links[2].quote, 0);
  EXPECT_EQ(scan.links[4].value, "https://selfclose.example//");
  EXPECT_EQ(scan.links[10].value, "`x'<=y");
}

TEST(FastScanner, FirstDuplicateAttributeWins) {
  HtmlScan scan = fast_ok(
      "<a href=\"https://first.example/\" HREF=\"https://second.example/\" "
      "data-msys-clicktrack=\"0\" data-msys-clicktrack=\"1\" data-msys-linkname=a "
      "data-msys-linkname=b>");
  ASSERT_EQ(scan.links.size(), 1u);
  EXPECT_EQ(scan.links[0].value, "https://first.example/");
  EXPECT_TRUE(scan.links[0].clicktrack_off);
  EXPECT_EQ(scan.links[0].link_name, "a");
}

TEST(FastScanner, HrefWithoutValueIsNotALink) {
  EXPECT_TRUE(fast_ok("<a href><a href=><a href = ><a hrefx=1>").links.empty());
}

TEST(FastScanner, EndTagsAndBogusComments) {
  HtmlScan scan = fast_ok(
      "</a href=\"https://end.example/\"></><? <a href=https://pi.example/> ?>"
      "<!x <a href=https://bang.example/>></ 3 <a href=https://slash.example/>>"
      "<a href=https://ok.example/>");
  ASSERT_EQ(scan.links.size(), 1u);
  EXPECT_EQ(scan.links[0].value, "https://ok.example/");
}

TEST(FastScanner, CommentStates) {
  HtmlScan scan = fast_ok(
      "<!--><a href=h1><!---><a href=h2><!-- <a href=x> --><a href=h3>"
      "<!-- a -- b --!><a href=h4><!-- x --- ><a href=y> ---><a href=h5>"
      "<!----><a href=h6><!-- <!-- --><a href=h7><!-- unterminated <a href=z>");
  ASSERT_EQ(scan.links.size(), 7u);
  EXPECT_EQ(scan.links[6].value, "h7");
}

TEST(FastScanner, DoctypeAndCdataInHtml) {
  HtmlScan scan = fast_ok(
      "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\" \"x>\">"
      "<a href=h1><![CDATA[<a href=x>]]><a href=h2>");
  ASSERT_EQ(scan.links.size(), 2u);  // the CDATA is a bogus comment up to the first '>'
}

TEST(FastScanner, RawtextRcdataAndPlaintext) {
  HtmlScan scan = fast_ok(
      "<style><a href=s></STYLE ><xmp><a href=x></xmp><iframe><a href=i></iframe>"
      "<noembed><a href=e></noembed><noframes><a href=f></noframes>"
      "<title><a href=t></titlex></title/><textarea><a href=ta></textarea>"
      "<a href=ok><style>unterminated </styl");
  ASSERT_EQ(scan.links.size(), 1u);
  EXPECT_EQ(scan.links[0].value, "ok");
  EXPECT_TRUE(fast_ok("<plaintext><a href=p></plaintext><a href=q>").links.empty());
}

TEST(FastScanner, ScriptDataEscapes) {
  HtmlScan scan = fast_ok(
      "<script>if (a<b) x='</scrip'</script><a href=h1>"
      "<script><!-- <script> </script> <a href=x> --></script><a href=h2>"
      "<script><!-- </script><a href=h3>"
      "<script><!--<script>-->x</script><a href=h4>"
      "<script><!-- <script></script --></script><a href=h5>");
  ASSERT_EQ(scan.links.size(), 5u);
  EXPECT_EQ(scan.links[4].value, "h5");
}

TEST(FastScanner, NoscriptIsMarkupAsInGumbo) {
  HtmlScan scan = fast_ok(
      "<head><noscript><a href=h1></noscript></head><noscript>"
      "<a href=h2></noscript></body>");
  EXPECT_EQ(scan.links.size(), 2u);
  // A text node in an open <noscript> can swallow a late <body> tag: gumbo decides.
  EXPECT_FALSE(fast_scan("x<noscript>y<body>z", {}).result.has_value());
}

TEST(FastScanner, CharacterReferencesInValues) {
  HtmlScan scan = fast_ok(
      "<a href=\"?a=1&amp;b=2&lt&gt;&quot;&apos;&nbsp;&#65;&#x42;&#x43&#68\">"
      "<a href=\"&ampx&amp=&copy=&lt1&utm=1&#z&#xq&& \">"
      "<a href=&amp;x data-msys-linkname=\"&QUOT;T&AMP;J&quot\">"
      "<a href=\"caf\xC3\xA9 \xE2\x82\xAC\r\nx\ry\">");
  ASSERT_EQ(scan.links.size(), 4u);
  EXPECT_EQ(scan.links[0].value,
            "?a=1&b=2<>\"'\xC2\xA0"
            "ABCD");
  EXPECT_EQ(scan.links[1].value, "&ampx&amp=&copy=&lt1&utm=1&#z&#xq&& ");
  EXPECT_EQ(scan.links[2].value, "&x");
  EXPECT_EQ(scan.links[2].link_name, "\"T&J\"");
  EXPECT_EQ(scan.links[3].value, "caf\xC3\xA9 \xE2\x82\xAC\nx\ny");
}

TEST(FastScanner, BodyPositions) {
  for (const std::string& html : std::vector<std::string>{
           "<body>x</body>y</body>z</body></html>", "<body>x</html>", "<body>x</html></body>",
           "<p>x</p></body>", "</body><body>", "<div><body>x</body>", "text<body>x</body>",
           "<html>x<body>y", "<img src=x><body>x", "<body>x<table><tr><td></body>y</body>",
           "<body><table><tr><td>x</td></tr></table></body>",
           "<body><table><td>x</table><table><caption>c</caption></table></body>",
           "<body><table><tr><td><table><tr><td>x</table></td></tr></table></body>"}) {
    EXPECT_TRUE(expect_same(html, html)) << html;
  }
}

// --- delegation ---

TEST(FastScanner, TreeDependentInputIsDelegated) {
  for (const std::string& html : std::vector<std::string>{
           "<svg><a href=x></a></svg>", "<math><a href=x>", "<select><a href=x></select>",
           "<template><a href=x></template>", "<frameset><a href=x>", "<object></body>",
           "<a href=\"&copy;\">", "<a href=\"&notin;\">", "<a href=\"&#x80;\">",
           "<a href=\"x\x01\">", "<a href=\"\xC3(\">", std::string("<a href=x>\0", 11),
           "<a href=&amp;>", "<table><table></body>", "<head><noscript></body>",
           "<!--[if mso]><svg><a href=x><![endif]-->"}) {
    FastScanOutcome fast = fast_scan(html, {});
    EXPECT_FALSE(fast.result.has_value()) << html;
    // The wrapper gives gumbo's answer.
    EXPECT_EQ(describe(make_fast_scanner({})->scan(html)),
              describe(make_gumbo_scanner({})->scan(html)))
        << html;
  }
}

TEST(FastScanner, LimitsGiveGumboScannersErrors) {
  conf::RewriteLimits limits;
  limits.max_html_part_bytes = 16;
  auto fast = make_fast_scanner(limits)->scan("<p>seventeen bytes</p>");
  auto gumbo = make_gumbo_scanner(limits)->scan("<p>seventeen bytes</p>");
  ASSERT_FALSE(fast.ok());
  EXPECT_EQ(fast.error(), gumbo.error());

  std::string deep;
  for (int i = 0; i < 50000; ++i) deep += "<div>";
  EXPECT_EQ(describe(make_fast_scanner({})->scan(deep)),
            describe(make_gumbo_scanner({})->scan(deep)));

  conf::RewriteLimits few;
  few.max_html_parse_errors = 5;
  std::string sloppy;
  for (int i = 0; i < 20; ++i) sloppy += "</x></y>";
  EXPECT_EQ(make_fast_scanner(few)->scan(sloppy).error(), "too many HTML parse errors (limit 5)");

  conf::RewriteLimits shallow;
  shallow.max_html_depth = 10;
  std::string nested;
  for (int i = 0; i < 8; ++i) nested += "<div>";
  EXPECT_EQ(describe(make_fast_scanner(shallow)->scan(nested)),
            describe(make_gumbo_scanner(shallow)->scan(nested)));
}

TEST(FastScanner, FactoryHonoursConfigKey) {
  conf::RewriteLimits limits;
  EXPECT_EQ(limits.html_scanner, "fast");
  auto fast = make_scanner(limits);
  limits.html_scanner = "gumbo";
  auto gumbo = make_scanner(limits);
  std::string html = "<body><a href=\"https://x.example/\">x</a></body>";
  EXPECT_EQ(describe(fast->scan(html)), describe(gumbo->scan(html)));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(fast->scan(html).ok());  // reusable
}

TEST(HtmlTokenizer, DecodeRefusesWhatItDoesNotKnow) {
  std::string out;
  EXPECT_TRUE(decode_attribute_value("a&amp;b", &out));
  EXPECT_EQ(out, "a&b");
  EXPECT_FALSE(decode_attribute_value("&eacute;", &out));
  EXPECT_FALSE(decode_attribute_value("&eacute ", &out));  // legacy, not decoded here
  EXPECT_TRUE(decode_attribute_value("&eacutex", &out));   // legacy + alnum: as written
  EXPECT_EQ(out, "&eacutex");
  EXPECT_FALSE(decode_attribute_value("&#1114112;", &out));
  EXPECT_FALSE(decode_attribute_value("\xED\xA0\x80", &out));  // a surrogate
  EXPECT_FALSE(decode_attribute_value("\xEF\xBF\xBE", &out));  // U+FFFE
  std::size_t first = 0;
  EXPECT_TRUE(decode_attribute_value("&#104;ttp", &out, &first));
  EXPECT_EQ(first, 6u);
}

}  // namespace
}  // namespace trackrelay::rewrite
