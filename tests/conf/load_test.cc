// tests/conf/load_test.cc — loading YAML: the example configuration, types,
// bounds, required and unknown keys, syntax errors, file:line:col diagnostics.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "conf/config.h"
#include "tests/conf/conf_test_util.h"

namespace trackrelay::conf {
namespace {

using testing::any_contains;
using testing::contains;
using testing::errors;
using testing::Lines;
using testing::lines;
using testing::load;
using testing::minimal_yaml;

TEST(ExampleConfig, BuiltinLoadsWithOnlyTheExampleSecretWarning) {
  const LoadResult r = load_string(builtin_example_yaml(), "example.yaml");
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(lines(r));
  ASSERT_EQ(r.diagnostics.size(), 1u) << ::testing::PrintToString(lines(r));
  EXPECT_EQ(r.diagnostics[0].severity, Diagnostic::Severity::kWarning);
  EXPECT_TRUE(contains(r.diagnostics[0].message, "public example secret"));

  const Config& c = *r.config;
  EXPECT_EQ(c.source, "example.yaml");
  EXPECT_EQ(c.system_domain, "track.example.net");
  EXPECT_FALSE(c.system_secure);
  EXPECT_FALSE(c.system_port.has_value());
  ASSERT_EQ(c.keys.size(), 1u);
  EXPECT_EQ(c.keys[0].id, "k1");
  ASSERT_EQ(c.tracking_domains.size(), 2u);
  EXPECT_EQ(c.tracking_domains[0].domain, "click.example.com");
  EXPECT_TRUE(c.tracking_domains[0].secure);
  EXPECT_EQ(c.tracking_domains[0].port, 443);
  EXPECT_TRUE(c.tracking_domains[0].is_default);
  EXPECT_EQ(c.tracking_domains[1].domain, "links.example.org");
  EXPECT_FALSE(c.tracking_domains[1].is_default);
  ASSERT_EQ(c.sending_domains.size(), 2u);
  EXPECT_EQ(c.sending_domains[1].domain, "example.org");
  EXPECT_EQ(c.sending_domains[1].tracking_domain, "links.example.org");
  EXPECT_EQ(c.rewrite.max_message_bytes, 64u << 20);
  EXPECT_EQ(c.rewrite.max_tracked_url_length, 2000u);
}

TEST(ExampleConfig, BuiltinIsTheExampleFile) {
  std::ifstream in(std::string(TRACKRELAY_SOURCE_DIR) + "/conf/trackrelay.example.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), builtin_example_yaml());
}

TEST(ExampleConfig, LoadsFromDisk) {
  const LoadResult r =
      load_file(std::string(TRACKRELAY_SOURCE_DIR) + "/conf/trackrelay.example.yaml");
  EXPECT_TRUE(r.ok()) << ::testing::PrintToString(lines(r));
}

TEST(Load, MinimalConfigGetsTheDocumentedDefaults) {
  const LoadResult r = load(minimal_yaml());
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(lines(r));
  EXPECT_TRUE((r.diagnostics).empty());
  const Config& c = *r.config;
  auto b = [](bool v) { return std::string(v ? "true" : "false"); };
  const std::map<std::string_view, std::string> actual = {
      {"tracking.system_secure", b(c.system_secure)},
      {"tracking.defaults.click_tracking", b(c.defaults.click_tracking)},
      {"tracking.defaults.open_tracking", b(c.defaults.open_tracking)},
      {"tracking.defaults.initial_open", b(c.defaults.initial_open)},
      {"tracking.defaults.text_tracking", b(c.defaults.text_tracking)},
      {"rewrite.max_message_bytes", std::to_string(c.rewrite.max_message_bytes)},
      {"rewrite.max_html_part_bytes", std::to_string(c.rewrite.max_html_part_bytes)},
      {"rewrite.max_text_part_bytes", std::to_string(c.rewrite.max_text_part_bytes)},
      {"rewrite.max_html_parse_errors", std::to_string(c.rewrite.max_html_parse_errors)},
      {"rewrite.max_html_depth", std::to_string(c.rewrite.max_html_depth)},
      {"rewrite.max_tracked_url_length", std::to_string(c.rewrite.max_tracked_url_length)},
  };
  for (const ConfigKey& k : config_keys()) {
    auto it = actual.find(k.path);
    if (it == actual.end()) continue;
    EXPECT_EQ(it->second, k.default_value) << k.path;
  }
  EXPECT_FALSE(c.system_port.has_value());
  EXPECT_TRUE((c.tracking_domains).empty());
  EXPECT_TRUE((c.sending_domains).empty());
}

TEST(Load, ReadsEveryScalarKind) {
  const LoadResult r = load(
      minimal_yaml("  system_secure: True\n"
                   "  system_port: 8443\n"
                   "  defaults: {click_tracking: false, open_tracking: FALSE, initial_open: false,"
                   " text_tracking: false}\n",
                   "rewrite:\n"
                   "  max_message_bytes: 1048576\n"
                   "  max_html_depth: \"50\"\n"));
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(lines(r));
  const Config& c = *r.config;
  EXPECT_TRUE(c.system_secure);
  EXPECT_EQ(c.system_port, 8443);
  EXPECT_FALSE(c.defaults.click_tracking);
  EXPECT_FALSE(c.defaults.open_tracking);
  EXPECT_FALSE(c.defaults.initial_open);
  EXPECT_FALSE(c.defaults.text_tracking);
  EXPECT_EQ(c.rewrite.max_message_bytes, 1048576u);
  EXPECT_EQ(c.rewrite.max_html_depth, 50);
}

TEST(Load, EmptyPortMeansNone) {
  const LoadResult r = load(minimal_yaml("  system_port:\n"));
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(lines(r));
  EXPECT_FALSE(r.config->system_port.has_value());
}

TEST(Load, WrongBooleanIsReportedAtItsValue) {
  const LoadResult r = load(minimal_yaml("  system_secure: yes please\n"));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(lines(r), (Lines{"t.yaml:6:18: error: tracking.system_secure: expected a "
                             "boolean, got 'yes please'"}));
}

TEST(Load, SendersIsDeclaredOrAny) {
  EXPECT_EQ(load(minimal_yaml()).config->senders, "declared");
  EXPECT_EQ(load(minimal_yaml("  senders: any\n")).config->senders, "any");
  const LoadResult r = load(minimal_yaml("  senders: all\n"));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(lines(r),
            (Lines{"t.yaml:6:12: error: tracking.senders: expected declared or any, got 'all'"}));
}

TEST(Load, OutOfRangePort) {
  const LoadResult r = load(minimal_yaml("  system_port: 70000\n"));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(lines(r), (Lines{"t.yaml:6:16: error: tracking.system_port: must be between 1 "
                             "and 65535, got 70000"}));
}

TEST(Load, IntegerErrors) {
  const LoadResult r = load(minimal_yaml("",
                                         "rewrite:\n"
                                         "  max_html_depth: 0\n"
                                         "  max_message_bytes: -1\n"
                                         "  max_html_parse_errors: lots\n"
                                         "  max_text_part_bytes: 99999999999999999999999\n"));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(
      lines(r),
      (Lines{
          "t.yaml:7:19: error: rewrite.max_html_depth: must be between 1 and 100000, got 0",
          "t.yaml:8:22: error: rewrite.max_message_bytes: must be between 1024 and 1073741824, "
          "got -1",
          "t.yaml:9:26: error: rewrite.max_html_parse_errors: expected an integer, got 'lots'",
          "t.yaml:10:24: error: rewrite.max_text_part_bytes: must be between 1024 and 1073741824, "
          "got 99999999999999999999999"}));
}

TEST(Load, WrongShapes) {
  const LoadResult r = load(
      "tracking:\n"
      "  system_domain: [a, b]\n"
      "  keys: k1\n"
      "  defaults: true\n"
      "rewrite: 5\n");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(lines(r), (Lines{"t.yaml:2:18: error: tracking.system_domain: expected a string, got a "
                             "list",
                             "t.yaml:3:9: error: tracking.keys: expected a list, got 'k1'",
                             "t.yaml:4:13: error: tracking.defaults: expected a map, got 'true'",
                             "t.yaml:5:10: error: rewrite: expected a map, got '5'"}));
}

TEST(Load, ListItemsMustBeMaps) {
  const LoadResult r =
      load(minimal_yaml("  tracking_domains:\n"
                        "    - click.example.com\n"));
  EXPECT_EQ(lines(r), (Lines{"t.yaml:7:7: error: tracking.tracking_domains[0]: expected a "
                             "map, got 'click.example.com'"}));
}

TEST(Load, MissingRequiredKeys) {
  const LoadResult r = load("tracking:\n  system_secure: true\n");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(lines(r), (Lines{"t.yaml:1:1: error: missing required key 'tracking.system_domain'",
                             "t.yaml:1:1: error: missing required key 'tracking.keys'"}));
}

TEST(Load, MissingTrackingSection) {
  EXPECT_EQ(lines(load("")), (Lines{"t.yaml: error: missing required key 'tracking'"}));
  EXPECT_EQ(lines(load("rewrite: {}\n")),
            (Lines{"t.yaml: error: missing required key 'tracking'"}));
}

TEST(Load, EmptyTrackingSection) {
  EXPECT_EQ(lines(load("tracking:\n")),
            (Lines{"t.yaml:1:1: error: missing required key 'tracking.system_domain'",
                   "t.yaml:1:1: error: missing required key 'tracking.keys'"}));
}

TEST(Load, EmptyValueForAString) {
  const LoadResult r = load(
      "tracking:\n  system_domain:\n  keys:\n    - {id: k1, secret: "
      "0123456789abcdef0123456789abcdef}\n");
  EXPECT_EQ(lines(r), (Lines{"t.yaml:2:3: error: tracking.system_domain: expected a string, "
                             "got an empty value"}));
}

TEST(Load, NoKeysAtAll) {
  const LoadResult r = load("tracking:\n  system_domain: track.example.net\n  keys: []\n");
  EXPECT_EQ(lines(r), (Lines{"t.yaml:3:9: error: tracking.keys: at least one item is required"}));
}

TEST(Load, UnknownKeysAreWarningsWithTheirPosition) {
  const LoadResult r =
      load(minimal_yaml("  foo: 1\n"
                        "  tracking_domains:\n"
                        "    - {domain: click.example.com, colour: red}\n",
                        "frobnicator:\n  listen: 25\n"));
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(lines(r));
  EXPECT_EQ(lines(r),
            (Lines{"t.yaml:6:3: warning: unknown key 'tracking.foo'",
                   "t.yaml:8:35: warning: unknown key 'tracking.tracking_domains[0].colour'",
                   "t.yaml:9:1: warning: unknown key 'frobnicator'"}));
}

TEST(Load, DuplicateYamlKey) {
  const LoadResult r = load(minimal_yaml("  system_domain: other.example.net\n"));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(lines(r), (Lines{"t.yaml:6:3: error: duplicate key 'tracking.system_domain' (first at "
                             "2:3)"}));
}

TEST(Load, SyntaxErrorHasLineAndColumn) {
  const LoadResult r = load("tracking:\n  keys: [unclosed\n");
  EXPECT_FALSE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].line, 3);
  EXPECT_EQ(r.diagnostics[0].column, 1);
  EXPECT_TRUE(contains(r.diagnostics[0].str(), "t.yaml:3:1: error: "));

  const LoadResult tab = load("tracking:\n  system_domain: a\n bad: [\n");
  EXPECT_FALSE(tab.ok());
  ASSERT_EQ(tab.diagnostics.size(), 1u);
  EXPECT_GT(tab.diagnostics[0].line, 0);
}

TEST(Load, TopLevelMustBeAMap) {
  EXPECT_EQ(lines(load("just a string\n")),
            (Lines{"t.yaml:1:1: error: expected a map at the top level, got 'just a "
                   "string'"}));
  EXPECT_FALSE(load("- a\n- b\n").ok());
}

TEST(Load, CollectsAllErrorsInFileOrder) {
  const LoadResult r = load(
      "tracking:\n"
      "  system_domain: com\n"
      "  system_secure: maybe\n"
      "  keys:\n"
      "    - {id: k1, secret: short}\n"
      "    - {id: k1, secret: \"0123456789abcdef0123456789abcdef\"}\n"
      "  tracking_domains:\n"
      "    - {domain: example.com, port: 0}\n"
      "rewrite: {max_html_depth: many}\n");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(
      lines(r),
      (Lines{
          "t.yaml:2:18: error: tracking.system_domain: 'com' is a public suffix; the system domain "
          "must be a domain you control",
          "t.yaml:3:18: error: tracking.system_secure: expected a boolean, got 'maybe'",
          "t.yaml:5:24: error: tracking.keys[0].secret: secret is 5 bytes; at least 32 are "
          "required",
          "t.yaml:6:12: error: tracking.keys[1].id: duplicate key id 'k1' (first at 5:12)",
          "t.yaml:8:16: error: tracking.tracking_domains[0].domain: 'example.com' is a root "
          "domain; use a subdomain such as click.example.com",
          "t.yaml:8:35: error: tracking.tracking_domains[0].port: must be between 1 and 65535, got "
          "0",
          "t.yaml:9:27: error: rewrite.max_html_depth: expected an integer, got 'many'"}));
}

TEST(Load, NeverThrowsOnGarbage) {
  const std::string inputs[] = {
      std::string("\0\xff\xfe{[", 5),   std::string(5000, '['),  "? [complex, key]\n: value\n",
      "tracking:\n  ? {a: b}\n  : c\n", "%YAML 9.9\n---\nfoo\n", "tracking: !!binary aGVsbG8=\n",
  };
  for (const std::string& in : inputs) {
    LoadResult r;
    EXPECT_NO_THROW(r = load(in)) << in;
    EXPECT_FALSE(r.ok()) << in;
    EXPECT_TRUE(any_contains(errors(r), "error:")) << in;
  }
}

TEST(LoadFile, MissingFileSaysWhy) {
  const LoadResult r = load_file("/nonexistent/trackrelay.yaml");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(lines(r), (Lines{"/nonexistent/trackrelay.yaml: error: cannot read "
                             "configuration file: No such file or directory"}));
}

TEST(LoadFile, DiagnosticsNameTheFile) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("trackrelay_conf_load_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "bad.yaml").string();
  std::ofstream(path) << minimal_yaml("  system_secure: nope\n");
  const LoadResult r = load_file(path);
  EXPECT_EQ(lines(r), (Lines{path + ":6:18: error: tracking.system_secure: expected a "
                                    "boolean, got 'nope'"}));
  std::filesystem::remove_all(dir);
}

TEST(Diagnostic, Formatting) {
  Diagnostic d;
  d.file = "f.yaml";
  d.message = "m";
  EXPECT_EQ(d.str(), "f.yaml: error: m");
  d.line = 3;
  EXPECT_EQ(d.str(), "f.yaml:3: error: m");
  d.column = 7;
  d.severity = Diagnostic::Severity::kWarning;
  EXPECT_EQ(d.str(), "f.yaml:3:7: warning: m");
}

}  // namespace
}  // namespace trackrelay::conf
