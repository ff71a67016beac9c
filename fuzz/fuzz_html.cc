// fuzz/fuzz_html.cc — libFuzzer entry point for HTML link scanning alone; the
// checks are check_html() in fuzz_html.h (shared with tests/regressions/).
#include "fuzz/fuzz_html.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return trackrelay::fuzz::check_html(data, size);
}
