// tests/mime/mimetic_check_test.cc — the cross-check's mimetic parse with our
// body loop (MimeticLoop::kInPlace) builds the same tree as with mimetic's
// own loop (kStock): every header field of every entity, with its nesting,
// over every corpus message (also with its line ends rewritten to LF, CR and
// LFCR) and over random messages made of boundary-like lines, mixed line ends
// and lines of every length around mimetic's 4093-byte block cuts.
#include "mime/mimetic_check.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

namespace trackrelay::mime::internal {
namespace {

namespace fs = std::filesystem;

void expect_same_tree(const std::string& message, const std::string& what) {
  const std::string stock = mimetic_tree(message, MimeticLoop::kStock);
  const std::string ours = mimetic_tree(message, MimeticLoop::kInPlace);
  ASSERT_EQ(stock, ours) << what;
  auto a = mimetic_shape(message, MimeticLoop::kStock);
  auto b = mimetic_shape(message, MimeticLoop::kInPlace);
  ASSERT_EQ(a.ok(), b.ok()) << what;
  if (a.ok()) {
    ASSERT_EQ(*a, *b) << what;
  }
}

std::string with_line_ends(const std::string& s, const std::string& eol) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') continue;
    if (s[i] == '\n') {
      out += eol;
    } else {
      out += s[i];
    }
  }
  return out;
}

TEST(MimeticCheck, CorpusTreesAreTheSame) {
  const fs::path dir = fs::path(TRACKRELAY_CORPUS_DIR) / "mime";
  ASSERT_TRUE(fs::is_directory(dir)) << "no corpus at " << dir;
  int n = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string m((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const char* eol : {"\r\n", "\n", "\r", "\n\r"}) {
      expect_same_tree(with_line_ends(m, eol), entry.path().string() + " eol " + eol);
    }
    ++n;
  }
  EXPECT_GT(n, 50);
}

// A random message: a multipart header naming boundaries that the lines use
// (and nested parts naming others), lines that are boundaries, closing
// boundaries, near-boundaries and long lines, with random line ends.
std::string random_message(std::mt19937& rng) {
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  static const std::vector<std::string> kEols = {"\r\n", "\n", "\r", "\n\r", "\r\r\n", "\n\n"};
  static const std::vector<std::string> kLines = {
      "--b1",
      "--b1--",
      "--b2",
      "--b2--",
      "--b1 trailing",
      "--b",
      "--",
      "-",
      "",
      "text",
      "Content-Type: multipart/mixed; boundary=b2",
      "Content-Type: message/rfc822",
      "Content-Type: text/plain",
      "Content-Type: multipart/alternative; boundary=\"b1\"",
      "Subject: x",
      std::string("nul\0byte", 8),
  };
  std::string m = "Content-Type: multipart/mixed; boundary=b1" + kEols[pick(kEols.size())];
  if (pick(4) == 0) m += "Subject: random" + kEols[pick(kEols.size())];
  m += kEols[pick(kEols.size())];
  const std::size_t lines = 1 + pick(40);
  for (std::size_t i = 0; i < lines; ++i) {
    std::string line;
    if (pick(5) == 0) {
      // A long line: a boundary-like text at or near a multiple of 4093.
      const std::size_t cut = 4093 * (1 + pick(3));
      const std::size_t at = cut + pick(5) - 2;
      line.assign(at, 'x');
      if (pick(3) == 0) line[pick(at)] = '\r';
      line += kLines[pick(4)];
    } else {
      line = kLines[pick(kLines.size())];
    }
    m += line;
    if (i + 1 < lines || pick(2) == 0) m += kEols[pick(kEols.size())];
  }
  return m;
}

TEST(MimeticCheck, RandomTreesAreTheSame) {
  std::mt19937 rng(12);
  for (int i = 0; i < 20000; ++i) {
    const std::string m = random_message(rng);
    expect_same_tree(m, "random message " + std::to_string(i));
    if (HasFatalFailure()) return;
  }
}

TEST(MimeticCheck, BoundaryAfterALongLineIsFoundWhereMimeticFindsIt) {
  // The text after the 4093-byte cut of a long line is tested as a line by
  // mimetic: "--b1" there ends the first part; one byte later it does not.
  const std::string head = "Content-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\n\r\n";
  for (std::size_t at : {4092u, 4093u, 4094u, 8186u}) {
    const std::string m =
        head + std::string(at, 'x') + "--b1\r\nContent-Type: text/html\r\n\r\nx\r\n--b1--\r\n";
    expect_same_tree(m, "cut at " + std::to_string(at));
  }
  const std::string split =
      head + std::string(4093, 'x') + "--b1\r\nContent-Type: text/html\r\n\r\nx\r\n--b1--\r\n";
  const std::string tree = mimetic_tree(split, MimeticLoop::kInPlace);
  EXPECT_NE(tree.find("text/html"), std::string::npos) << tree;
}

}  // namespace
}  // namespace trackrelay::mime::internal
