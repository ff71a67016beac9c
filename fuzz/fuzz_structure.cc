// fuzz/fuzz_structure.cc — libFuzzer entry point for MIME structure analysis; the
// checks are check_structure() in fuzz_structure.h (shared with tests/regressions/).
#include "fuzz/fuzz_structure.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return trackrelay::fuzz::check_structure(data, size);
}
