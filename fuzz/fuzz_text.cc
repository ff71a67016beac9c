// fuzz/fuzz_text.cc — libFuzzer entry point for the plain-text URL scanner; the
// checks are check_text() in fuzz_text.h (shared with tests/regressions/).
#include "fuzz/fuzz_text.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return trackrelay::fuzz::check_text(data, size);
}
