// fuzz/fuzz_ari.cc — libFuzzer entry point for ACME renewal information
// (acme/ari.h); the checks are check_ari() in fuzz_ari.h (shared with
// tests/regressions/).
#include "fuzz/fuzz_ari.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return trackrelay::fuzz::check_ari(data, size);
}
