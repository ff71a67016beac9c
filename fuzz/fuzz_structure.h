// fuzz/fuzz_structure.h — fuzz target body for MIME structure analysis
// (mime/structure.h) and the promise the rewrite engine builds on it.
//
// Input: a raw RFC 5322 message.
//
// Invariants, for a message analyse() accepts (refusing one is allowed):
//  * header fields, the header end and the leaves are in order, within the
//    message, and each field's bytes start with its name and ':';
//  * replacing every leaf body by its re-encoding (decode_body then
//    encode_body, as the engine writes a rewritten leaf) gives a message that
//    analyses to the same leaves with identical bytes between them.
// And for any message that passes the cross-check's guard (the Content-Type
// line count): mimetic builds the same tree with our body loop as with its
// own (mime/mimetic_check.h, MimeticLoop).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_common.h"
#include "fuzz/message_checks.h"
#include "mime/codec.h"
#include "mime/mimetic_check.h"
#include "mime/splice.h"
#include "mime/structure.h"

namespace trackrelay::fuzz {

inline int check_structure(const std::uint8_t* data, std::size_t size) {
  const std::string_view message = as_view(data, size);
  if (mime::internal::mimetic_shape(message).ok()) {
    FUZZ_CHECK(mime::internal::mimetic_tree(message, mime::internal::MimeticLoop::kInPlace) ==
                   mime::internal::mimetic_tree(message, mime::internal::MimeticLoop::kStock),
               "mimetic's tree differs with our body loop: " + escaped(message));
  }
  const Result<mime::Structure> s = mime::analyse(message);
  if (!s.ok()) return 0;
  check_structure_shape(message, *s);

  std::vector<mime::Patch> patches;
  for (const mime::TextLeaf& leaf : s->leaves) {
    const std::string_view raw = message.substr(leaf.body_offset, leaf.body_length);
    const Result<std::string> decoded = mime::decode_body(raw, leaf.encoding);
    if (!decoded.ok()) continue;  // the engine leaves such a part alone
    patches.push_back({leaf.body_offset, leaf.body_length,
                       mime::encode_body(*decoded, leaf.encoding, leaf.eol, raw)});
  }
  const Result<std::string> reencoded = mime::splice(message, std::move(patches));
  FUZZ_CHECK(reencoded.ok(), "leaf spans do not splice: " + reencoded.error());
  // Our scanner must see the re-encoded message exactly as before. mimetic's
  // cross-check may disagree on malformed input (bare LFs, NULs, broken
  // boundaries): the engine re-runs it on its output and sends the original
  // then — fuzz_rewrite checks that path.
  const Result<mime::Structure> again = mime::analyse(*reencoded, mime::CrossCheck::kSkip);
  const auto context = [&] {
    return "original " + escaped(message) + "; re-encoded " + escaped(*reencoded);
  };
  FUZZ_CHECK(again.ok(), "re-encoded leaves do not re-parse: " +
                             (again.ok() ? std::string() : again.error()) + "; " + context());
  check_structure_shape(*reencoded, *again);
  check_same_outside_leaves(message, *s, *reencoded, *again, context);
  const auto g0 = gaps_between_leaves(message, *s)[0];
  FUZZ_CHECK(g0 == gaps_between_leaves(*reencoded, *again)[0],
             "header block changed; " + context());
  return 0;
}

}  // namespace trackrelay::fuzz
