// mime/mimetic_check.cc — see mimetic_check.h.
#include "mime/mimetic_check.h"

#include <mimetic/mimeentity.h>
#include <mimetic/parser/itparser.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <exception>
#include <iterator>

#include "mime/entity_type.h"

namespace trackrelay::mime::internal {
namespace {

// mimetic parses nested multiparts and message/rfc822 bodies recursively with
// no depth limit (and we cannot stop it at the places we stop), so a message
// made of thousands of nested entities could exhaust the stack inside it.
// Every nesting level needs a Content-Type field, so bounding the number of
// lines that start with "Content-Type" bounds mimetic's recursion.
constexpr std::size_t kMaxContentTypeLines = 2000;
constexpr int kMaxDepth = 60;  // only for our walk of mimetic's tree

std::size_t count_content_type_lines(std::string_view m) {
  constexpr std::string_view kName = "content-type";
  const auto starts_with_name = [&](std::size_t pos) {
    if (m.size() - pos < kName.size()) return false;
    for (std::size_t i = 0; i < kName.size(); ++i) {
      const char c = m[pos + i];
      if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c) != kName[i]) return false;
    }
    return true;
  };
  // mimetic also takes a bare CR as a line end: a line starts at 0 and after
  // every CR and every LF. Two memchr cursors, one per byte value (not
  // find_first_of, which calls memchr on the needle for every byte).
  std::size_t n = starts_with_name(0);
  std::size_t cr = m.find('\r');
  std::size_t lf = m.find('\n');
  while (cr != std::string_view::npos || lf != std::string_view::npos) {
    const std::size_t end = std::min(cr, lf);
    n += starts_with_name(end + 1);
    if (end == cr) cr = m.find('\r', end + 1);
    if (end == lf) lf = m.find('\n', end + 1);
  }
  return n;
}

// mimetic's input-iterator parser over the message bytes in place: the same
// IteratorParser<It, input_iterator_tag> that MimeEntity(std::istream&) runs
// over an istreambuf_iterator (line-start boundaries only), without copying
// the message into a string stream.
class ByteIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  ByteIterator() = default;
  explicit ByteIterator(const char* p) : p_(p) {}
  reference operator*() const { return *p_; }
  ByteIterator& operator++() {
    ++p_;
    return *this;
  }
  ByteIterator operator++(int) {
    ByteIterator old = *this;
    ++p_;
    return old;
  }
  friend bool operator==(ByteIterator a, ByteIterator b) { return a.p_ == b.p_; }
  const char* ptr() const { return p_; }

 private:
  const char* p_ = nullptr;
};

using StockParser = mimetic::IteratorParser<ByteIterator, std::input_iterator_tag>;

// mimetic's parser with its one hot loop, copy_until_boundary(peIgnore),
// replaced by the same decisions made a line at a time (memchr for the line
// ends) instead of a byte at a time into a 4 KiB block. Every call here is
// peIgnore (bodies, preambles and epilogues are not kept), so the loop's only
// effects are where it leaves m_bit and what isBoundary() sets; both are
// reproduced exactly:
// - a line ends at CR or LF, and the other one right after it belongs to the
//   same line end (CRLF, LFCR); a last line without a line end is never tested;
// - a non-empty line is tested when its line end has been read: if the text
//   since its last 4093-byte cut starts with "--", isBoundary() gets that
//   text. The stock loop flushes its block at 4093 bytes (blksz - 2 - nlsz);
//   a line that fills it alone is flushed and the rest tested as if it were a
//   line, i.e. at every multiple of 4093 bytes from the line's start (a line
//   that shares the block is first moved to its front, so the cuts do not
//   depend on what came before it, nor on where this call started);
// - on a boundary it returns with m_bit after the line end; else at the end
//   (at once when there is no boundary to find).
// Other elements (not used here) go to the stock loop. Checked against it
// tree for tree by tests/mime/mimetic_check_test.cc (the corpus and random
// messages with CR/LF mixes, boundaries and lines around the 4093-byte cuts).
class InPlaceParser : public StockParser {
 public:
  using StockParser::StockParser;

 protected:
  void copy_until_boundary(mimetic::ParsingElem pe) override {
    if (pe != peIgnore) {
      StockParser::copy_until_boundary(pe);
      return;
    }
    if (m_boundaryList.empty()) {
      // No boundary to find (a body outside any multipart: the top-level
      // body, a message/rfc822 chain's, the epilogue after the outermost
      // closing boundary): the stock loop reads to the end, and isBoundary()
      // can only answer NoBoundary. Every caller up the stack then returns
      // (their loops first test m_bit != m_eit) and m_lastBoundary is not
      // read again, so going to the end at once builds the same tree.
      m_bit = m_eit;
      return;
    }
    constexpr std::size_t kCut = 4093;
    const char* const end = m_eit.ptr();
    const char* line = m_bit.ptr();
    const char* cr = find(line, end, '\r');
    const char* lf = find(line, end, '\n');
    while (cr != end || lf != end) {
      const char* nl = std::min(cr, lf);
      const char* next = nl + 1;
      if (next != end && *next == (*nl == '\r' ? '\n' : '\r')) ++next;
      const auto len = static_cast<std::size_t>(nl - line);
      const char* seg = line + len / kCut * kCut;
      if (nl - seg >= 2 && seg[0] == '-' && seg[1] == '-' &&
          isBoundary(std::string(seg, nl)) != NoBoundary) {
        m_bit = ByteIterator(next);
        return;
      }
      line = next;
      if (cr < line) cr = find(line, end, '\r');
      if (lf < line) lf = find(line, end, '\n');
    }
    m_bit = m_eit;
  }

 private:
  static const char* find(const char* from, const char* end, char c) {
    const void* hit = std::memchr(from, c, static_cast<std::size_t>(end - from));
    return hit ? static_cast<const char*>(hit) : end;
  }
};

// mimetic's parse of `message` (bodies, preambles and epilogues not kept).
void parse(std::string_view message, MimeticLoop loop, mimetic::MimeEntity& root) {
  constexpr int kMask = mimetic::imBody | mimetic::imPreamble | mimetic::imEpilogue;
  const ByteIterator begin(message.data());
  const ByteIterator end(message.data() + message.size());
  if (loop == MimeticLoop::kStock) {
    StockParser parser(root);
    parser.iMask(kMask);
    parser.run(begin, end);
  } else {
    InPlaceParser parser(root);
    parser.iMask(kMask);
    parser.run(begin, end);
  }
}

// Every header field of every entity mimetic built, with its nesting.
void dump(const mimetic::MimeEntity& e, int depth, std::string& out) {
  out.append(static_cast<std::size_t>(depth), ' ').append("entity\n");
  for (const mimetic::Field& f : e.header()) {
    out.append(static_cast<std::size_t>(depth), ' ');
    out.append(f.name().begin(), f.name().end()).append(": ").append(f.value()).append("\n");
  }
  for (const mimetic::MimeEntity* child : e.body().parts()) {
    if (child) dump(*child, depth + 1, out);
  }
}

void walk(const mimetic::MimeEntity& e, const std::string& path, bool in_digest, int depth,
          std::vector<std::string>& out) {
  EntityFields f;
  for (const mimetic::Field& field : e.header()) {
    const std::string name = to_lower(std::string(field.name().begin(), field.name().end()));
    if (name == "content-type" && !f.content_type) {
      f.content_type = field.value();
    } else if (name == "content-transfer-encoding" && !f.transfer_encoding) {
      f.transfer_encoding = field.value();
    } else if (name == "content-disposition" && !f.disposition) {
      f.disposition = field.value();
    }
  }
  // The same classify() as structure.cc, on the raw field values mimetic
  // found: a Content-Transfer-Encoding alias ("8bits", "quoted printable")
  // is normalised by the one alias table on both sides, so an aliased
  // multipart is entered by both walks, and mimetic's own (stricter) reading
  // of the field never enters the comparison. mimetic's parse of where the
  // parts are does not depend on the transfer encoding.
  const EntityType t = classify(f, in_digest);
  out.push_back(path + " " + t.media_type);
  if (t.kind != EntityKind::kMultipart || depth >= kMaxDepth) return;
  std::size_t i = 1;
  for (const mimetic::MimeEntity* child : e.body().parts()) {
    if (child)
      walk(*child, child_path(path, i), t.media_type == "multipart/digest", depth + 1, out);
    ++i;
  }
}

}  // namespace

Result<std::vector<std::string>> mimetic_shape(std::string_view message, MimeticLoop loop) {
  if (count_content_type_lines(message) > kMaxContentTypeLines) {
    return Error{"more than " + std::to_string(kMaxContentTypeLines) +
                 " Content-Type fields: too many entities to cross-check"};
  }
  try {
    // Bodies, preambles and epilogues are not kept (imBody, imPreamble,
    // imEpilogue): mimetic still reads every line of them to find the
    // boundaries, with the same code, but copies nothing into the tree.
    mimetic::MimeEntity root;
    parse(message, loop, root);
    std::vector<std::string> out;
    walk(root, "", false, 0, out);
    return out;
  } catch (const std::exception& e) {
    return Error{std::string("mimetic failed: ") + e.what()};
  } catch (...) {
    return Error{"mimetic failed"};
  }
}

std::string mimetic_tree(std::string_view message, MimeticLoop loop) {
  try {
    mimetic::MimeEntity root;
    parse(message, loop, root);
    std::string out;
    dump(root, 0, out);
    return out;
  } catch (const std::exception& e) {
    return std::string("exception: ") + e.what();
  }
}

}  // namespace trackrelay::mime::internal
