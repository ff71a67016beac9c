// fuzz/fuzz_rewrite.cc — libFuzzer entry point for the whole-message rewrite; the
// checks are check_rewrite() in fuzz_rewrite.h (shared with tests/regressions/).
#include "fuzz/fuzz_rewrite.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return trackrelay::fuzz::check_rewrite(data, size);
}
