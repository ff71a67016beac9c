// mime/mimetic_check.h — internal to mime/: the independent parse that
// analyse() cross-checks its own tree against.
//
// Owns running mimetic's istream parser (the input-iterator IteratorParser
// that MimeEntity(std::istream&) uses, run here over the bytes in place; it
// only recognises boundaries at the start of a line — unlike the
// random-access MimeEntity(begin,end) parser, which searches for them
// anywhere) and
// flattening its tree into the same "path media/type" list that structure.cc
// builds, using the same classify() rules and stopping where we stop.
//
// May call: base/, mimetic.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace trackrelay::mime::internal {

// One entry per entity in pre-order, "<path> <media type>", not descending
// into entities that classify() does not enter. `message` must not start with
// an mbox "From " line (mimetic would take the whole message as a body), and
// structure.cc passes it with the bodies of the message/rfc822 and multipart
// parts it does not enter reduced to their delimiter-like lines: mimetic
// mis-parses what follows an unclosed multipart nested in them (see
// Walker::hide_body), which would reject well-formed mail carrying a
// truncated attached message.
//
// `loop` picks mimetic's body loop: kInPlace (ours, the same decisions a line
// at a time; see InPlaceParser in the .cc) or kStock (mimetic's own, for the
// test that compares the two).
enum class MimeticLoop { kInPlace, kStock };
Result<std::vector<std::string>> mimetic_shape(std::string_view message,
                                               MimeticLoop loop = MimeticLoop::kInPlace);

// For tests: every header field of every entity of mimetic's tree, with its
// nesting (or the exception's text), as one string.
std::string mimetic_tree(std::string_view message, MimeticLoop loop);

}  // namespace trackrelay::mime::internal
