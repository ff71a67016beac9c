// tests/base/result_test.cc — Result<T> and Result<void> carry an Error's
// code and message unchanged (base/result.h); callers switch on the code.
#include "base/result.h"

#include <gtest/gtest.h>

#include <string>

namespace trackrelay {
namespace {

Result<int> parse_digit(char c) {
  if (c < '0' || c > '9') return Error{std::string("not a digit: ") + c, Errc::kInvalid};
  return c - '0';
}

Result<void> need_digit(char c) {
  auto d = parse_digit(c);
  if (!d) return d.failure();
  return {};
}

TEST(Result, ValueOrErrorWithCode) {
  auto five = parse_digit('5');
  ASSERT_TRUE(five.ok());
  EXPECT_EQ(*five, 5);
  auto bad = parse_digit('x');
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.code(), Errc::kInvalid);
  EXPECT_EQ(bad.error(), "not a digit: x");
}

TEST(Result, ErrorWithoutCodeIsFailed) {
  Result<int> r = Error{"disk on fire"};
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), Errc::kFailed);
  EXPECT_EQ(errc_name(r.code()), "failed");
}

TEST(Result, VoidSucceedsOrPassesTheErrorOn) {
  EXPECT_TRUE(need_digit('7').ok());
  auto bad = need_digit('?');
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.code(), Errc::kInvalid);
  EXPECT_EQ(bad.error(), "not a digit: ?");
  EXPECT_EQ(bad.failure().message, bad.error());
}

TEST(Result, EveryCodeHasAName) {
  for (Errc c :
       {Errc::kFailed, Errc::kInvalid, Errc::kNotFound, Errc::kLimit, Errc::kUnavailable}) {
    EXPECT_FALSE(errc_name(c).empty());
  }
  EXPECT_EQ(errc_name(Errc::kNotFound), "not found");
}

}  // namespace
}  // namespace trackrelay
