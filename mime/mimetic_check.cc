// mime/mimetic_check.cc — see mimetic_check.h.
#include "mime/mimetic_check.h"

#include <mimetic/mimeentity.h>

#include <exception>
#include <sstream>

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
  std::size_t n = 0;
  std::size_t pos = 0;
  while (pos < m.size()) {
    if (m.size() - pos >= kName.size() && to_lower(m.substr(pos, kName.size())) == kName) ++n;
    // mimetic also takes a bare CR as a line end.
    const std::size_t next = m.find_first_of("\r\n", pos);
    if (next == std::string_view::npos) break;
    pos = next + 1;
  }
  return n;
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

Result<std::vector<std::string>> mimetic_shape(std::string_view message) {
  if (count_content_type_lines(message) > kMaxContentTypeLines) {
    return Error{"more than " + std::to_string(kMaxContentTypeLines) +
                 " Content-Type fields: too many entities to cross-check"};
  }
  try {
    std::istringstream in{std::string(message)};
    const mimetic::MimeEntity root(in);
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
