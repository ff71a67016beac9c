// tests/base/log_test.cc — the logging facility's two formats (base/log.h).
#include "base/log.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace trackrelay::log {
namespace {

Event relay_line() {
  Event e{Level::kInfo, "relay", "", {}};
  e.add("session", 7).add("from", "a@example.com", Style::kAngle).add("links", "1/1");
  e.add("unchanged", "no \"links\"", Style::kQuoted);
  return e;
}

TEST(Log, TextIsTheHistoricalKeyValueLine) {
  EXPECT_EQ(render(relay_line(), Format::kText),
            "trackrelay: relay: session=7 from=<a@example.com> links=1/1 "
            "unchanged=\"no \"links\"\"\n");
  EXPECT_EQ(render(Event{Level::kInfo, "", "serving", {}}, Format::kText), "trackrelay: serving\n");
  Event auth{Level::kWarning, "relay", "AUTH refused", {}};
  auth.add("session", 3).add("client", "[127.0.0.1]:4000");
  EXPECT_EQ(render(auth, Format::kText),
            "trackrelay: relay: session=3 client=[127.0.0.1]:4000 AUTH refused\n");
}

TEST(Log, JsonIsOneEscapedObjectPerLine) {
  const std::string line = render(relay_line(), Format::kJson, "2026-12-06T00:00:00.000Z");
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  const auto v = boost::json::parse(line).as_object();
  EXPECT_EQ(v.at("time"), "2026-12-06T00:00:00.000Z");
  EXPECT_EQ(v.at("level"), "info");
  EXPECT_EQ(v.at("component"), "relay");
  EXPECT_EQ(v.at("session"), "7");
  EXPECT_EQ(v.at("from"), "a@example.com");  // no text-mode <…>
  EXPECT_EQ(v.at("unchanged"), "no \"links\"");
  EXPECT_FALSE(v.contains("msg"));
  Event err{Level::kError, "api", "store: line1\nline2", {}};
  const auto e = boost::json::parse(render(err, Format::kJson)).as_object();
  EXPECT_EQ(e.at("level"), "error");
  EXPECT_EQ(e.at("msg"), "store: line1\nline2");
  EXPECT_FALSE(e.contains("time"));
}

}  // namespace
}  // namespace trackrelay::log
