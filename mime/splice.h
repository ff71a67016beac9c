// mime/splice.h — build output by copying the original bytes and replacing
// only the listed spans (rspamd's pattern): collect patches, sort, reject
// overlaps, copy everything else verbatim.
//
// May call: base/.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace trackrelay::mime {

struct Patch {
  std::size_t offset = 0;  // into the original
  std::size_t length = 0;  // bytes replaced (0 = pure insertion before `offset`)
  std::string replacement;
};

// Applies `patches` (any order) to `original`. Overlapping patches, or a patch
// past the end, are an error and nothing is produced. Two insertions at the
// same offset keep their given order; an insertion at the offset where a
// replacement starts goes before it.
Result<std::string> splice(std::string_view original, std::vector<Patch> patches);

}  // namespace trackrelay::mime
