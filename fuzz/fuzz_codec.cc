// fuzz/fuzz_codec.cc — libFuzzer entry point for the QP/base64 transfer codecs; the
// checks are check_codec() in fuzz_codec.h (shared with tests/regressions/).
#include "fuzz/fuzz_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return trackrelay::fuzz::check_codec(data, size);
}
