// tests/conf/docs_test.cc — the key table cannot drift from its
// documentation: every key appears in docs/config.md and in the example
// configuration, and the table itself is well-formed.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "conf/config.h"

namespace trackrelay::conf {
namespace {

std::string read(const std::string& relative) {
  std::ifstream in(std::string(TRACKRELAY_SOURCE_DIR) + "/" + relative);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string leaf(std::string_view path) {
  const std::size_t dot = path.rfind('.');
  return std::string(dot == std::string_view::npos ? path : path.substr(dot + 1));
}

TEST(Docs, EveryKeyIsInTheReference) {
  const std::string doc = read("docs/config.md");
  ASSERT_FALSE(doc.empty());
  for (const ConfigKey& k : config_keys()) {
    EXPECT_NE(doc.find("`" + std::string(k.path) + "`"), std::string::npos)
        << k.path << " is not documented in docs/config.md";
  }
}

TEST(Docs, EveryKeyIsInTheExampleConfiguration) {
  const std::string example = read("conf/trackrelay.example.yaml");
  ASSERT_FALSE(example.empty());
  for (const ConfigKey& k : config_keys()) {
    // As a key (possibly commented out, or inside a flow map).
    const std::regex key("(^|[\\s{,#-])" + leaf(k.path) + ":");
    EXPECT_TRUE(std::regex_search(example, key))
        << k.path << " is missing from conf/trackrelay.example.yaml";
  }
}

TEST(Docs, TableIsWellFormed) {
  std::set<std::string> seen;
  const std::set<std::string_view> types = {
      "map",  "list", "string",   "bool",          "port",   "int",   "size",      "strings",
      "enum", "path", "upstream", "password-hash", "listen", "cidrs", "resolvers", "auth-users"};
  std::map<std::string, std::string> type_of;
  for (const ConfigKey& k : config_keys()) {
    const std::string path(k.path);
    EXPECT_TRUE(seen.insert(path).second) << "duplicate " << path;
    EXPECT_TRUE(types.contains(k.type)) << path;
    EXPECT_FALSE(k.doc.empty()) << path;
    type_of[path] = k.type;
    const std::size_t dot = path.rfind('.');
    if (dot == std::string::npos) {
      // Sections, and top-level scalars such as `store`.
      EXPECT_TRUE(k.type == "map" || k.type == "string" || k.type == "path") << path;
      continue;
    }
    std::string parent = path.substr(0, dot);
    const bool item = parent.ends_with("[]");
    if (item) parent.resize(parent.size() - 2);
    ASSERT_TRUE(type_of.contains(parent)) << path << ": parent must come first";
    EXPECT_EQ(type_of[parent], item ? "list" : "map") << path;
    if (k.type == "int" || k.type == "size" || k.type == "port") {
      EXPECT_LE(k.min, k.max) << path;
      if (!k.default_value.empty()) {
        const long long d = std::stoll(std::string(k.default_value));
        EXPECT_GE(d, k.min) << path;
        EXPECT_LE(d, k.max) << path;
      }
    }
  }
}

}  // namespace
}  // namespace trackrelay::conf
