// tests/mime/splice_test.cc — byte splicing: order, adjacency, errors.
#include "mime/splice.h"

#include <gtest/gtest.h>

namespace trackrelay::mime {
namespace {

TEST(Splice, NoPatchesCopiesTheOriginal) {
  EXPECT_EQ(*splice("abc", {}), "abc");
  EXPECT_EQ(*splice("", {}), "");
}

TEST(Splice, ReplacesInsertsAndDeletes) {
  EXPECT_EQ(*splice("hello world", {{6, 5, "there"}}), "hello there");
  EXPECT_EQ(*splice("abc", {{1, 1, ""}}), "ac");
  EXPECT_EQ(*splice("abc", {{0, 0, ">"}, {3, 0, "<"}}), ">abc<");  // insertion at the end is fine
  EXPECT_EQ(*splice("", {{0, 0, "x"}}), "x");
  EXPECT_EQ(*splice("abc", {{0, 3, "xyz"}}), "xyz");
}

TEST(Splice, AdjacentPatchesInAnyOrder) {
  EXPECT_EQ(*splice("aabbcc", {{4, 2, "C"}, {0, 2, "A"}, {2, 2, "B"}}), "ABC");
}

TEST(Splice, InsertionsAtOneOffsetKeepTheirOrderAndPrecedeAReplacement) {
  EXPECT_EQ(*splice("abc", {{1, 0, "1"}, {1, 0, "2"}, {1, 0, "3"}}), "a123bc");
  EXPECT_EQ(*splice("abc", {{1, 1, "B"}, {1, 0, "<"}}), "a<Bc");
  EXPECT_EQ(*splice("abc", {{1, 0, "x"}, {1, 1, "B"}, {1, 0, "y"}}), "axyBc");
  // An insertion where a replacement ends is not an overlap.
  EXPECT_EQ(*splice("abc", {{0, 1, "A"}, {1, 0, "|"}}), "A|bc");
}

TEST(Splice, OverlapIsAnError) {
  EXPECT_FALSE(splice("abcdef", {{0, 3, "x"}, {2, 2, "y"}}).ok());
  EXPECT_FALSE(splice("abcdef", {{1, 1, "x"}, {1, 1, "y"}}).ok());
  EXPECT_FALSE(
      splice("abcdef", {{0, 6, "x"}, {3, 0, "y"}}).ok());  // insertion inside a replacement
}

TEST(Splice, PastTheEndIsAnError) {
  EXPECT_FALSE(splice("abc", {{4, 0, "x"}}).ok());
  EXPECT_FALSE(splice("abc", {{2, 2, "x"}}).ok());
  EXPECT_FALSE(splice("abc", {{1, static_cast<std::size_t>(-1), "x"}}).ok());
  const Result<std::string> r = splice("abc", {{0, 1, "x"}, {9, 1, "y"}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("past the end"), std::string::npos);
}

}  // namespace
}  // namespace trackrelay::mime
