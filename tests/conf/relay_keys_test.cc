// tests/conf/relay_keys_test.cc — relay/ keys with a closed set of values
// (relay.bare_newline, relay.protocol) and relay.per_recipient: accepted
// values, the default, and the error for anything else (file:line:col).
#include <gtest/gtest.h>

#include "tests/conf/conf_test_util.h"

namespace trackrelay::conf {
namespace {

using testing::Lines;
using testing::lines;
using testing::load;
using testing::minimal_yaml;

TEST(RelayKeys, BareNewlineDefaultsToNormalize) {
  const LoadResult r = load(minimal_yaml());
  ASSERT_TRUE(r.config) << ::testing::PrintToString(lines(r));
  EXPECT_EQ(r.config->relay.bare_newline, "normalize");
}

TEST(RelayKeys, BareNewlineAcceptsNormalizeAndReject) {
  for (const char* v : {"normalize", "reject"}) {
    const LoadResult r = load(minimal_yaml("", std::string("relay:\n  bare_newline: ") + v + "\n"));
    ASSERT_TRUE(r.config) << ::testing::PrintToString(lines(r));
    EXPECT_EQ(r.config->relay.bare_newline, v);
  }
}

TEST(RelayKeys, BareNewlineRefusesAnythingElse) {
  const LoadResult r = load(minimal_yaml("", "relay:\n  bare_newline: yes\n"));
  EXPECT_FALSE(r.config);
  EXPECT_EQ(lines(r), (Lines{"t.yaml:7:17: error: relay.bare_newline: expected normalize or "
                             "reject, got 'yes'"}));
}

TEST(RelayKeys, ProtocolIsSmtpOrLmtpAndPerRecipientABool) {
  const LoadResult d = load(minimal_yaml());
  ASSERT_TRUE(d.config) << ::testing::PrintToString(lines(d));
  EXPECT_EQ(d.config->relay.protocol, "smtp");
  EXPECT_FALSE(d.config->relay.per_recipient);
  const LoadResult r = load(minimal_yaml("", "relay:\n  protocol: lmtp\n  per_recipient: true\n"));
  ASSERT_TRUE(r.config) << ::testing::PrintToString(lines(r));
  EXPECT_EQ(r.config->relay.protocol, "lmtp");
  EXPECT_TRUE(r.config->relay.per_recipient);
  const LoadResult bad = load(minimal_yaml("", "relay:\n  protocol: LMTP2\n"));
  EXPECT_FALSE(bad.config);
  EXPECT_EQ(lines(bad),
            (Lines{"t.yaml:7:13: error: relay.protocol: expected smtp or lmtp, got 'LMTP2'"}));
}

}  // namespace
}  // namespace trackrelay::conf
