// fuzz/fuzz_http.cc — libFuzzer entry point for the tracking endpoint's
// request handling; the checks are check_http() in fuzz_http.h (shared with
// tests/regressions/).
#include "fuzz/fuzz_http.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return trackrelay::fuzz::check_http(data, size);
}
