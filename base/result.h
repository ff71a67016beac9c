// base/result.h — Result<T>: a value or an Error, never both; Result<void>:
// success or an Error.
//
// Libraries report failures as values (LevelDB's Status idea) instead of
// throwing across their boundaries; the caller decides what a failure means
// (an SMTP reply, an HTTP status, a config diagnostic, a pass-through). A
// caller that must tell failures apart switches on Error::code, never on the
// message text: the message is for people (logs, replies, diagnostics) and
// may be reworded freely.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace trackrelay {

// What kind of failure: a small, closed set shared by every library. Most
// errors are kFailed (the caller only reports them); a library gives a more
// specific code where a caller acts on the difference.
enum class Errc : unsigned char {
  kFailed,       // no finer distinction: report the message
  kInvalid,      // the input was rejected (syntax, a value out of range)
  kNotFound,     // the thing named does not exist (a file, a store, a row)
  kLimit,        // a configured limit was reached (size, depth, count)
  kUnavailable,  // a resource could not be had now (I/O, a full disk, a timeout)
};

struct Error {
  Error(std::string message_, Errc code_ = Errc::kFailed)  // NOLINT(implicit)
      : message(std::move(message_)), code(code_) {}
  std::string message;
  Errc code;
};

inline std::string_view errc_name(Errc code) {
  switch (code) {
    case Errc::kFailed:
      return "failed";
    case Errc::kInvalid:
      return "invalid";
    case Errc::kNotFound:
      return "not found";
    case Errc::kLimit:
      return "limit";
    case Errc::kUnavailable:
      return "unavailable";
  }
  return "failed";
}

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}      // NOLINT(implicit)
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT(implicit)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // Precondition for these three: !ok().
  const std::string& error() const { return std::get<1>(v_).message; }
  Errc code() const { return std::get<1>(v_).code; }
  const Error& failure() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Success (`return {};`) or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT(implicit)

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok(); }

  // Precondition for these three: !ok().
  const std::string& error() const { return error_.message; }
  Errc code() const { return error_.code; }
  const Error& failure() const { return error_; }

 private:
  Error error_{""};
  bool ok_ = true;
};

}  // namespace trackrelay
