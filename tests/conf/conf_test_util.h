// tests/conf/conf_test_util.h — helpers shared by the conf/ tests: a minimal
// valid configuration and ways to look at LoadResult diagnostics.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"

namespace trackrelay::conf::testing {

// 32 bytes: the shortest accepted secret.
inline constexpr char kSecret32[] = "0123456789abcdef0123456789abcdef";

// A minimal valid configuration; `extra` is appended under `tracking:`
// (indent it by two spaces), `tail` after it at the top level.
inline std::string minimal_yaml(const std::string& extra = "", const std::string& tail = "") {
  return "tracking:\n"
         "  system_domain: track.example.net\n"
         "  keys:\n"
         "    - id: k1\n"
         "      secret: \"0123456789abcdef0123456789abcdef\"\n" +
         extra + tail;
}

inline LoadResult load(const std::string& yaml, const std::string& base_dir = ".") {
  return load_string(yaml, "t.yaml", base_dir);
}

// Every diagnostic as "t.yaml:line:col: error: message".
inline std::vector<std::string> lines(const LoadResult& r) {
  std::vector<std::string> out;
  for (const Diagnostic& d : r.diagnostics) out.push_back(d.str());
  return out;
}

inline std::vector<std::string> errors(const LoadResult& r) {
  std::vector<std::string> out;
  for (const Diagnostic& d : r.diagnostics) {
    if (d.severity == Diagnostic::Severity::kError) out.push_back(d.str());
  }
  return out;
}

using Lines = std::vector<std::string>;

inline ::testing::AssertionResult contains(std::string_view haystack, std::string_view needle) {
  if (haystack.find(needle) != std::string_view::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "'" << haystack << "' does not contain '" << needle << "'";
}

inline ::testing::AssertionResult any_contains(const std::vector<std::string>& all,
                                               std::string_view needle) {
  for (const std::string& s : all) {
    if (s.find(needle) != std::string::npos) return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << ::testing::PrintToString(all) << " has no '" << needle << "'";
}

}  // namespace trackrelay::conf::testing
