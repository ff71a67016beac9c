// mime/splice.cc — see splice.h.
#include "mime/splice.h"

#include <algorithm>

namespace trackrelay::mime {

Result<std::string> splice(std::string_view original, std::vector<Patch> patches) {
  std::stable_sort(patches.begin(), patches.end(), [](const Patch& a, const Patch& b) {
    if (a.offset != b.offset) return a.offset < b.offset;
    // At one offset, insertions come before the replacement that starts there.
    return a.length == 0 && b.length != 0;
  });
  std::size_t grow = 0;
  std::size_t pos = 0;  // first original byte not yet consumed
  for (const Patch& p : patches) {
    if (p.offset > original.size() || p.length > original.size() - p.offset) {
      return Error{"patch at " + std::to_string(p.offset) + "+" + std::to_string(p.length) +
                   " is past the end (" + std::to_string(original.size()) + " bytes)"};
    }
    if (p.offset < pos) {
      return Error{"overlapping patches at offset " + std::to_string(p.offset)};
    }
    pos = p.offset + p.length;
    grow += p.replacement.size();
  }
  std::string out;
  out.reserve(original.size() + grow);
  pos = 0;
  for (const Patch& p : patches) {
    out.append(original.substr(pos, p.offset - pos));
    out.append(p.replacement);
    pos = p.offset + p.length;
  }
  out.append(original.substr(pos));
  return out;
}

}  // namespace trackrelay::mime
