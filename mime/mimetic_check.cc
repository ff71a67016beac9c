// mime/mimetic_check.cc — see mimetic_check.h.
#include "mime/mimetic_check.h"

#include <mimetic/mimeentity.h>
#include <mimetic/parser/itparser.h>

#include <algorithm>
#include <cstddef>
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

 private:
  const char* p_ = nullptr;
};

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

Result<std::vector<std::string>> mimetic_shape(std::string_view message) {
  if (count_content_type_lines(message) > kMaxContentTypeLines) {
    return Error{"more than " + std::to_string(kMaxContentTypeLines) +
                 " Content-Type fields: too many entities to cross-check"};
  }
  try {
    // Bodies, preambles and epilogues are not kept (imBody, imPreamble,
    // imEpilogue): mimetic still reads every line of them to find the
    // boundaries, with the same code, but copies nothing into the tree.
    const mimetic::MimeEntity root(ByteIterator(message.data()),
                                   ByteIterator(message.data() + message.size()),
                                   mimetic::imBody | mimetic::imPreamble | mimetic::imEpilogue);
    std::vector<std::string> out;
    walk(root, "", false, 0, out);
    return out;
  } catch (const std::exception& e) {
    return Error{std::string("mimetic failed: ") + e.what()};
  } catch (...) {
    return Error{"mimetic failed"};
  }
}

}  // namespace trackrelay::mime::internal
