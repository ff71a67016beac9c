// fuzz/fuzz_config.cc — libFuzzer entry point for YAML configuration loading; the
// checks are check_config() in fuzz_config.h (shared with tests/regressions/).
#include "fuzz/fuzz_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return trackrelay::fuzz::check_config(data, size);
}
