// tests/mime/corpus_test.cc — analyse() and the codecs over every message of
// the shared corpus (TRACKRELAY_CORPUS_DIR/mime/*.eml, read in place).
//
// Asserts what must hold for any input: no crash, leaf ranges inside the
// message and disjoint, decode → encode → decode of every QP/base64 leaf gives
// the same bytes. Prints (does not assert) which messages are refused and why,
// since refusing is a legitimate, safe outcome.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "mime/codec.h"
#include "mime/structure.h"
#include "mime/transfer_encoding.h"

namespace trackrelay::mime {
namespace {

// `s` with every LF and CRLF written as `eol`.
std::string with_line_breaks(std::string_view s, std::string_view eol) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') continue;
    if (s[i] == '\n') {
      out.append(eol);
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

namespace fs = std::filesystem;

std::vector<fs::path> corpus_files() {
  std::vector<fs::path> files;
  const fs::path dir = fs::path(TRACKRELAY_CORPUS_DIR) / "mime";
  if (!fs::is_directory(dir)) return files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".eml") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(MimeCorpus, AnalyseAndRoundTripEveryMessage) {
  const std::vector<fs::path> files = corpus_files();
  if (files.empty()) GTEST_SKIP() << "no corpus at " << TRACKRELAY_CORPUS_DIR;
  int ok = 0;
  int leaves = 0;
  int skipped = 0;
  std::map<std::string, int> skip_reasons;
  std::vector<std::string> rejected;
  std::ostringstream detail;
  for (const fs::path& file : files) {
    SCOPED_TRACE(file.filename().string());
    const std::string msg = read_file(file);
    const Result<Structure> r = analyse(msg);
    if (!r.ok()) {
      rejected.push_back(file.filename().string() + ": " + r.error());
      continue;
    }
    ++ok;
    const Structure& s = *r;
    EXPECT_LE(s.headers_end, msg.size());
    for (const HeaderField& h : s.headers) {
      EXPECT_LE(h.offset + h.length, s.headers_end);
      EXPECT_EQ(msg.compare(h.offset, h.name.size(), h.name), 0);
    }
    std::size_t prev_end = s.headers_end;
    detail << "  " << file.filename().string() << ":";
    for (const TextLeaf& leaf : s.leaves) {
      ++leaves;
      detail << " [" << leaf.path << " " << leaf.media_type << " "
             << transfer_encoding_name(leaf.encoding) << " "
             << (leaf.charset.empty() ? "-" : leaf.charset) << "]";
      ASSERT_LE(leaf.body_offset, msg.size());
      ASSERT_LE(leaf.body_length, msg.size() - leaf.body_offset);
      EXPECT_GE(leaf.body_offset, prev_end) << leaf.path << " overlaps the previous range";
      prev_end = leaf.body_offset + leaf.body_length;
      EXPECT_TRUE(leaf.eol == "\n" || leaf.eol == "\r\n");
      const std::string_view raw = std::string_view(msg).substr(leaf.body_offset, leaf.body_length);
      const Result<std::string> decoded = decode_body(raw, leaf.encoding);
      if (!decoded.ok()) {
        // Allowed (the rewriter leaves such a leaf alone) but worth seeing.
        detail << "(undecodable: " << decoded.error() << ")";
        continue;
      }
      const std::string encoded = encode_body(*decoded, leaf.encoding, leaf.eol, raw);
      const Result<std::string> again = decode_body(encoded, leaf.encoding);
      ASSERT_TRUE(again.ok()) << leaf.path << ": " << again.error();
      if (leaf.encoding == TransferEncoding::kQuotedPrintable) {
        // QP line breaks (LF or CRLF) all become the part's own line ending.
        EXPECT_EQ(with_line_breaks(*again, leaf.eol), with_line_breaks(*decoded, leaf.eol))
            << leaf.path << " does not round-trip";
      } else {
        EXPECT_EQ(*again, *decoded) << leaf.path << " does not round-trip";
      }
      if (leaf.encoding == TransferEncoding::kQuotedPrintable) {
        std::size_t start = 0;
        while (start < encoded.size()) {
          std::size_t nl = encoded.find('\n', start);
          if (nl == std::string::npos) nl = encoded.size();
          std::size_t len = nl - start;
          if (len > 0 && encoded[nl - 1] == '\r') --len;
          EXPECT_LE(len, 76u) << leaf.path;
          start = nl + 1;
        }
      }
    }
    for (const SkippedPart& p : s.skipped) {
      ++skipped;
      ++skip_reasons[p.reason];
      detail << " {" << p.path << " " << p.media_type << " skipped: " << p.reason << "}";
    }
    detail << "\n";
  }
  std::cout << "[corpus] " << files.size() << " messages: " << ok << " analysed, "
            << rejected.size() << " refused; " << leaves << " text leaves, " << skipped
            << " parts skipped\n";
  for (const auto& [reason, n] : skip_reasons)
    std::cout << "[corpus] skipped " << n << "x: " << reason << "\n";
  for (const std::string& r : rejected) std::cout << "[corpus] refused " << r << "\n";
  if (std::getenv("TRACKRELAY_CORPUS_VERBOSE")) std::cout << detail.str();
}

}  // namespace
}  // namespace trackrelay::mime
