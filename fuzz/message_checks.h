// fuzz/message_checks.h — invariants on analysed messages shared by the
// structure and rewrite fuzz targets: the shape of a mime::Structure, and
// "only the leaf bodies differ" between two messages.
//
// Calls: mime/.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_common.h"
#include "mime/structure.h"

namespace trackrelay::fuzz {

// Offsets, order and bounds of everything analyse() reports.
inline void check_structure_shape(std::string_view m, const mime::Structure& s) {
  const auto where = [m] { return " in " + escaped(m); };
  FUZZ_CHECK(s.headers_end <= m.size(), "headers_end past the end" + where());
  FUZZ_CHECK(s.eol == "\r\n" || s.eol == "\n", "odd header eol" + where());
  std::size_t pos = 0;
  for (const mime::HeaderField& h : s.headers) {
    FUZZ_CHECK(h.offset >= pos && h.offset <= s.headers_end && h.length <= s.headers_end - h.offset,
               "header field " + h.name + " out of order or bounds" + where());
    FUZZ_CHECK(!h.name.empty() && m.substr(h.offset, h.name.size() + 1) == h.name + ":",
               "header field bytes do not start with its name" + where());
    pos = h.offset + h.length;
  }
  pos = s.headers_end;
  for (const mime::TextLeaf& leaf : s.leaves) {
    FUZZ_CHECK(leaf.body_offset >= pos && leaf.body_offset <= m.size() &&
                   leaf.body_length <= m.size() - leaf.body_offset,
               "leaf " + leaf.path + " out of order or bounds" + where());
    FUZZ_CHECK(leaf.media_type == "text/html" || leaf.media_type == "text/plain",
               "leaf media type " + leaf.media_type + where());
    FUZZ_CHECK(leaf.eol == "\r\n" || leaf.eol == "\n", "odd leaf eol" + where());
    FUZZ_CHECK(!leaf.path.empty(), "leaf without a path" + where());
    pos = leaf.body_offset + leaf.body_length;
  }
}

// The bytes between leaf bodies: before the first, between each two, after the last.
inline std::vector<std::string_view> gaps_between_leaves(std::string_view m,
                                                         const mime::Structure& s) {
  std::vector<std::string_view> gaps;
  std::size_t pos = 0;
  for (const mime::TextLeaf& leaf : s.leaves) {
    gaps.push_back(m.substr(pos, leaf.body_offset - pos));
    pos = leaf.body_offset + leaf.body_length;
  }
  gaps.push_back(m.substr(pos));
  return gaps;
}

// A part whose header block runs to its end (no blank line) has an empty body
// there. What the engine inserts into it (an open pixel) starts with a line
// break, which becomes the blank line ending the header block, so the gap
// before leaf `i` may grow by exactly that line break and nothing else.
inline bool separator_added(std::string_view gap_before, std::string_view gap_after,
                            const mime::Structure& sb, std::size_t i) {
  if (i >= sb.leaves.size() || sb.leaves[i].body_length != 0) return false;
  if (!gap_after.starts_with(gap_before)) return false;
  const std::string_view added = gap_after.substr(gap_before.size());
  return added == "\n" || added == "\r\n";
}

// `after` has the same leaves as `before` (type, charset, encoding, path) and
// the same bytes between them (see separator_added), except gap 0 (the top-level header block and
// what follows it up to the first leaf), which the caller compares.
// `context()` describes the inputs, for failure messages only.
template <class Context>
void check_same_outside_leaves(std::string_view before, const mime::Structure& sb,
                               std::string_view after, const mime::Structure& sa,
                               const Context& context) {
  FUZZ_CHECK(sa.leaves.size() == sb.leaves.size(),
             "leaf count " + std::to_string(sb.leaves.size()) + " became " +
                 std::to_string(sa.leaves.size()) + "; " + context());
  for (std::size_t i = 0; i < sb.leaves.size(); ++i) {
    const mime::TextLeaf& a = sb.leaves[i];
    const mime::TextLeaf& b = sa.leaves[i];
    FUZZ_CHECK(a.media_type == b.media_type && a.charset == b.charset && a.encoding == b.encoding &&
                   a.path == b.path,
               "leaf " + a.path + " changed type, charset, encoding or path; " + context());
  }
  FUZZ_CHECK(sa.skipped.size() == sb.skipped.size(), "skipped-part count changed; " + context());
  const std::vector<std::string_view> gb = gaps_between_leaves(before, sb);
  const std::vector<std::string_view> ga = gaps_between_leaves(after, sa);
  for (std::size_t i = 1; i < gb.size(); ++i) {
    FUZZ_CHECK(ga[i] == gb[i] || separator_added(gb[i], ga[i], sb, i),
               "bytes between leaves changed (gap " + std::to_string(i) + "), " +
                   first_difference(gb[i], ga[i]) + "; " + context());
  }
}

}  // namespace trackrelay::fuzz
