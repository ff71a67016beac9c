// fuzz/fuzz_token.cc — libFuzzer entry point for token encode/verify; the
// checks are check_token() in fuzz_token.h (shared with tests/regressions/).
#include "fuzz/fuzz_token.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return trackrelay::fuzz::check_token(data, size);
}
