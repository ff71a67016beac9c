// fuzz/fuzz_common.h — what every fuzz target body (fuzz/fuzz_<name>.h)
// shares: the invariant macro FUZZ_CHECK, byte-span helpers and a small
// reader for targets whose input is structured.
//
// Target bodies are plain functions `int check_<name>(const uint8_t*, size_t)`
// so that the libFuzzer entry points (fuzz_<name>.cc, clang only) and the
// regression replay (tests/regressions/, built by every compiler) run exactly
// the same checks. A violated invariant prints what was expected and aborts:
// libFuzzer then saves the input as a crash, and the replay test fails.
//
// Calls: the standard library only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace trackrelay::fuzz {

// Prints the violated invariant (and a bounded excerpt of `detail`) and aborts.
[[noreturn]] inline void fail(const char* file, int line, const char* condition,
                              std::string_view detail) {
  constexpr std::size_t kMaxDetail = 2000;
  std::fprintf(stderr, "%s:%d: invariant violated: %s\n", file, line, condition);
  if (!detail.empty()) {
    const std::size_t shown = detail.size() < kMaxDetail ? detail.size() : kMaxDetail;
    std::fprintf(stderr, "  %.*s%s\n", static_cast<int>(shown), detail.data(),
                 shown < detail.size() ? " [...]" : "");
  }
  std::fflush(stderr);
  std::abort();
}

// `detail` (anything convertible to std::string_view) is evaluated only on failure.
#define FUZZ_CHECK(condition, detail)                                                     \
  do {                                                                                    \
    if (!(condition)) ::trackrelay::fuzz::fail(__FILE__, __LINE__, #condition, (detail)); \
  } while (0)

inline std::string_view as_view(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Printable excerpt of bytes for failure messages: non-printables as \xNN.
inline std::string escaped(std::string_view s, std::size_t max = 400) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < max; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

// Where `a` and `b` first differ, with a little context of each, for failure messages.
inline std::string first_difference(std::string_view a, std::string_view b) {
  std::size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  const std::size_t from = i < 80 ? 0 : i - 80;
  return "sizes " + std::to_string(a.size()) + " and " + std::to_string(b.size()) +
         ", first difference at " + std::to_string(i) + ": " +
         escaped(a.substr(from, i - from + 80), 240) + " | became | " +
         escaped(b.substr(from, i - from + 80), 240);
}

// Reads a structured input front to back. Running out is not an error: every
// read then returns an empty/zero value, so any byte string is a valid input.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}

  bool empty() const { return data_.empty(); }
  std::uint8_t byte() {
    if (data_.empty()) return 0;
    const auto b = static_cast<std::uint8_t>(data_.front());
    data_.remove_prefix(1);
    return b;
  }
  // Little-endian, `n` <= 8 bytes.
  std::uint64_t uint(int n) {
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(byte()) << (8 * i);
    return v;
  }
  // Up to (excluding) the next '\n', which is consumed; the rest when there is none.
  std::string_view line() {
    const std::size_t nl = data_.find('\n');
    const std::string_view out = data_.substr(0, nl);
    data_.remove_prefix(nl == std::string_view::npos ? data_.size() : nl + 1);
    return out;
  }
  std::string_view rest() {
    const std::string_view out = data_;
    data_ = {};
    return out;
  }

 private:
  std::string_view data_;
};

}  // namespace trackrelay::fuzz
