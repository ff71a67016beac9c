// Corpus tests: every message in ../shared/corpus/mime, and every HTML and
// text body there wrapped in a message, through the whole engine. Checks, per
// message: the output re-parses into the same leaves; every byte outside the
// rewritten leaf bodies is unchanged (except removed control headers and an
// added Message-ID); every tracked link decodes to the target the original
// link would have taken the browser to; no QP line over 76, no new line over
// 998; pass-through is byte-identical; rewriting the output changes nothing.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/strings.h"
#include "mime/codec.h"
#include "mime/structure.h"
#include "rewrite/controls.h"
#include "rewrite/engine.h"
#include "rewrite/target.h"
#include "rewrite/text_scanner.h"
#include "test_util.h"

namespace trackrelay::rewrite {
namespace {

namespace fs = std::filesystem;
using testing::decode_url;

constexpr std::int64_t kNow = 1795000000;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<fs::path> corpus(const std::string& sub, const std::string& ext) {
  std::vector<fs::path> out;
  fs::path dir = fs::path(TRACKRELAY_CORPUS_DIR) / sub;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ext) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The header block with control headers removed and an added Message-ID
// dropped, so input and output can be compared.
std::string normalised_gap0(std::string_view msg, const mime::Structure& s, std::size_t end,
                            const std::string& added_id) {
  std::string out;
  std::size_t pos = 0;
  for (const auto& h : s.headers) {
    const bool added_field = iequals(h.name, kRewrittenHeader) ||
                             (!added_id.empty() && iequals(h.name, "Message-ID") &&
                              (h.value == "<" + added_id + ">" || trim(h.value).empty()));
    if (is_control_header(h.name) || added_field) {
      out.append(msg.substr(pos, h.offset - pos));
      pos = h.offset + h.length;
    }
  }
  out.append(msg.substr(pos, end - pos));
  return out;
}

bool lines_within(std::string_view s, std::size_t limit) {
  std::size_t start = 0;
  while (start < s.size()) {
    auto nl = s.find('\n', start);
    auto end = nl == std::string_view::npos ? s.size() : nl;
    auto content = (end > start && s[end - 1] == '\r') ? end - 1 : end;
    if (content - start > limit) return false;
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return true;
}

struct Checker {
  std::shared_ptr<const conf::Config> config = testing::test_config();
  std::unique_ptr<LinkScanner> scanner = make_gumbo_scanner(config->rewrite);
  int changed = 0, unchanged = 0, links = 0;

  void check_links(const mime::TextLeaf& leaf, std::string_view in_body, std::string_view out_body,
                   const std::string& where) {
    bool utf8 = leaf.charset == "utf-8" || leaf.charset == "utf8";
    std::vector<std::string> in_values, out_values;
    if (leaf.media_type == "text/html") {
      auto a = scanner->scan(in_body);
      auto b = scanner->scan(out_body);
      ASSERT_TRUE(a.ok() && b.ok()) << where;
      for (auto& l : a->links) in_values.push_back(l.value);
      for (auto& l : b->links) out_values.push_back(l.value);
    } else {
      for (auto& l : scan_text(in_body)) {
        in_values.emplace_back(in_body.substr(l.offset, l.length));
      }
      for (auto& l : scan_text(out_body)) {
        out_values.emplace_back(out_body.substr(l.offset, l.length));
      }
    }
    ASSERT_EQ(in_values.size(), out_values.size()) << where;
    for (std::size_t i = 0; i < in_values.size(); ++i) {
      if (in_values[i] == out_values[i]) continue;
      ASSERT_TRUE(is_tracked_url(out_values[i], *config)) << where << ": " << out_values[i];
      auto claims = decode_url(out_values[i], *config);
      auto expected = browser_target(in_values[i], utf8, *config);
      ASSERT_TRUE(expected.ok()) << where << ": " << in_values[i];
      EXPECT_EQ(claims.target, *expected) << where;
      ++links;
    }
  }

  void check(const std::string& input, const std::string& where) {
    Envelope env{"sender@example.com", {"rcpt@example.net"}};
    auto r = rewrite_message(input, env, *config, *scanner, kNow);
    if (!r.ok()) {  // only a malformed X-MSYS-API may be refused
      EXPECT_TRUE(r.error().starts_with("X-MSYS-API")) << where << ": " << r.error();
      return;
    }
    if (!r->changed) {
      ++unchanged;
      EXPECT_EQ(r->message, input) << where;
      return;
    }
    ++changed;
    const std::string& output = r->message;
    auto in = mime::analyse(input);
    auto out = mime::analyse(output);
    ASSERT_TRUE(in.ok()) << where;
    ASSERT_TRUE(out.ok()) << where << ": output does not re-parse: " << out.error();
    ASSERT_EQ(in->leaves.size(), out->leaves.size()) << where;
    std::string added = r->message_id_added ? r->message_id : "";
    EXPECT_NE(output.find(std::string(kRewrittenHeader) + ": "), std::string::npos) << where;
    std::size_t in_pos = 0, out_pos = 0;
    for (std::size_t i = 0; i <= in->leaves.size(); ++i) {
      bool last = i == in->leaves.size();
      std::size_t in_end = last ? input.size() : in->leaves[i].body_offset;
      std::size_t out_end = last ? output.size() : out->leaves[i].body_offset;
      if (i == 0) {
        EXPECT_EQ(normalised_gap0(input, *in, in_end, added),
                  normalised_gap0(output, *out, out_end, added))
            << where << ": bytes before the first leaf changed";
      } else {
        EXPECT_EQ(input.substr(in_pos, in_end - in_pos), output.substr(out_pos, out_end - out_pos))
            << where << ": bytes between leaves changed before leaf " << i;
      }
      if (last) break;
      const auto& a = in->leaves[i];
      const auto& b = out->leaves[i];
      EXPECT_EQ(a.media_type, b.media_type) << where;
      EXPECT_EQ(a.encoding, b.encoding) << where;
      std::string_view raw_in = std::string_view(input).substr(a.body_offset, a.body_length);
      std::string_view raw_out = std::string_view(output).substr(b.body_offset, b.body_length);
      if (raw_in != raw_out) {
        if (b.encoding == mime::TransferEncoding::kQuotedPrintable) {
          EXPECT_TRUE(lines_within(raw_out, 76)) << where << ": QP line over 76 in leaf " << i;
        }
        if (lines_within(raw_in, 998)) {
          EXPECT_TRUE(lines_within(raw_out, 998)) << where << ": line over 998 in leaf " << i;
        }
        auto din = mime::decode_body(raw_in, a.encoding);
        auto dout = mime::decode_body(raw_out, b.encoding);
        ASSERT_TRUE(din.ok() && dout.ok()) << where;
        check_links(a, *din, *dout, where + " leaf " + a.path);
      }
      in_pos = a.body_offset + a.body_length;
      out_pos = b.body_offset + b.body_length;
    }
    auto again = rewrite_message(output, env, *config, *scanner, kNow);
    ASSERT_TRUE(again.ok()) << where;
    EXPECT_FALSE(again->changed) << where << ": second rewrite changed the message";
    EXPECT_EQ(again->message, output) << where;
  }
};

TEST(Corpus, MimeMessages) {
  auto files = corpus("mime", ".eml");
  ASSERT_GT(files.size(), 50u) << "corpus not found at " << TRACKRELAY_CORPUS_DIR;
  Checker c;
  for (const auto& f : files) {
    SCOPED_TRACE(f.filename().string());
    c.check(read_file(f), f.filename().string());
  }
  std::printf("mime corpus: %zu messages, %d rewritten, %d unchanged, %d links verified\n",
              files.size(), c.changed, c.unchanged, c.links);
  EXPECT_GT(c.changed, static_cast<int>(files.size()) / 2);
}

std::string charset_for(const std::string& name) {
  if (name.find("latin1") != std::string::npos) return "iso-8859-1";
  if (name.find("win1252") != std::string::npos) return "windows-1252";
  if (name.find("iso-8859-5") != std::string::npos) return "iso-8859-5";
  return "utf-8";
}

std::string wrap(const std::string& type, const std::string& charset, const std::string& cte,
                 const std::string& body) {
  std::string encoded = cte == "base64"             ? mime::base64_encode(body, "\r\n", true)
                        : cte == "quoted-printable" ? mime::qp_encode(body, "\r\n")
                                                    : body;
  return "From: News <news@example.com>\r\nTo: rcpt@example.net\r\nSubject: corpus\r\n"
         "Message-ID: <corpus@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: " +
         type + "; charset=" + charset + "\r\nContent-Transfer-Encoding: " + cte + "\r\n\r\n" +
         encoded;
}

TEST(Corpus, HtmlBodiesWrapped) {
  auto files = corpus("html", ".html");
  ASSERT_GT(files.size(), 50u);
  Checker c;
  for (const auto& f : files) {
    std::string name = f.filename().string();
    std::string body = read_file(f);
    for (std::string cte : {"quoted-printable", "base64"}) {
      c.check(wrap("text/html", charset_for(name), cte, body), name + " (" + cte + ")");
    }
  }
  std::printf("html corpus: %zu bodies x2, %d rewritten, %d unchanged, %d links verified\n",
              files.size(), c.changed, c.unchanged, c.links);
  EXPECT_GT(c.links, 700);  // 814 when this was written
}

TEST(Corpus, TextBodiesWrapped) {
  auto files = corpus("text", ".txt");
  ASSERT_GT(files.size(), 10u);
  Checker c;
  for (const auto& f : files) {
    std::string name = f.filename().string();
    std::string body = read_file(f);
    c.check(wrap("text/plain", "utf-8", "quoted-printable", body), name + " (qp)");
    if (lines_within(body, 998))
      c.check(wrap("text/plain", "utf-8", "8bit", body), name + " (8bit)");
  }
  std::printf("text corpus: %zu bodies, %d rewritten, %d unchanged, %d links verified\n",
              files.size(), c.changed, c.unchanged, c.links);
  EXPECT_GT(c.links, 200);  // 246 when this was written
}

}  // namespace
}  // namespace trackrelay::rewrite
