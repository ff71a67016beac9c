// tests/regressions/replay_test.cc — replays every file of
// tests/regressions/NAME/ (inputs that once failed fuzz target NAME) and of
// fuzz/seeds/NAME/ through check_NAME() from fuzz/fuzz_NAME.h, compiled
// without libFuzzer. A violated invariant aborts with its message; the test
// names the file first. The targets come from fuzz/targets.cmake.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <ostream>
#include <string>
#include <vector>

// Generated: #include "fuzz/fuzz_NAME.h" and TRACKRELAY_FUZZ_TARGET(NAME) per target.
#define TRACKRELAY_FUZZ_TARGET(name)
#include "fuzz_targets.inc"
#undef TRACKRELAY_FUZZ_TARGET

namespace trackrelay::fuzz {
namespace {

struct Target {
  const char* name;
  int (*check)(const std::uint8_t*, std::size_t);
};

constexpr Target kTargets[] = {
#define TRACKRELAY_FUZZ_TARGET(name) {#name, &check_##name},
#include "fuzz_targets.inc"
#undef TRACKRELAY_FUZZ_TARGET
};

// Names the parameter in test listings (ctest shows "# GetParam() = rewrite").
void PrintTo(const Target& t, std::ostream* os) {
  *os << t.name;
}

std::vector<std::filesystem::path> inputs_of(const std::string& name) {
  const std::filesystem::path src(TRACKRELAY_SOURCE_DIR);
  std::vector<std::filesystem::path> files;
  for (const auto& dir : {src / "tests" / "regressions" / name, src / "fuzz" / "seeds" / name}) {
    if (!std::filesystem::is_directory(dir)) continue;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (entry.is_regular_file() && entry.path().filename() != "README.md") {
        files.push_back(entry.path());
      }
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

class Replay : public ::testing::TestWithParam<Target> {};

TEST_P(Replay, EveryFileHoldsTheInvariants) {
  const Target& t = GetParam();
  EXPECT_EQ(t.check(nullptr, 0), 0) << "empty input";
  for (const std::filesystem::path& file : inputs_of(t.name)) {
    std::ifstream in(file, std::ios::binary);
    ASSERT_TRUE(in) << file;
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::fprintf(stderr, "replaying %s\n", file.c_str());  // named before a check can abort
    EXPECT_EQ(t.check(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), 0)
        << file;
  }
}

INSTANTIATE_TEST_SUITE_P(Fuzz, Replay, ::testing::ValuesIn(kTargets),
                         [](const ::testing::TestParamInfo<Target>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace trackrelay::fuzz
