// conf/internal.h — internal to conf/: the shape of the key table (defined in
// config.cc) that drives the loader (loader.cc), and shared helpers. Not part
// of the public API; the public view of the table is conf::config_keys().
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "conf/config.h"

namespace trackrelay::conf::internal {

// kStrings: one string or a list of strings ("listen: a" or "listen: [a, b]").
enum class Kind { kMap, kList, kString, kBool, kPort, kInt, kSize, kStrings };

// Where a scalar key's value goes. monostate: maps and lists.
using FieldRef = std::variant<std::monostate, std::string*, bool*, std::optional<uint16_t>*, int*,
                              std::size_t*, std::vector<std::string>*>;

// Binds a key to the Config being built. Scalars return their field; keys
// below "x[]" address x.back(). For a kList key, calling bind appends one new
// item (and returns monostate); the loader calls it once per list element.
using Bind = FieldRef (*)(Config&);

struct KeySpec {
  std::string_view path;  // "tracking.keys[].id"
  Kind kind;
  bool required;
  std::string_view default_value;  // documentation text; "" when none
  int64_t min;                     // int/size/port lower bound; list: minimum items
  int64_t max;                     // int/size/port upper bound
  std::string_view doc;
  Bind bind;  // null for maps, and for keys the loader reads itself (secret_file)
};

std::span<const KeySpec> key_table();
const KeySpec* find_key(std::string_view path);
std::string_view kind_name(Kind kind);

// The secret in conf/trackrelay.example.yaml: public, so using it is warned about.
inline constexpr std::string_view kExampleSecret =
    "example-secret-change-me-0123456789abcdefghijklmnop";

// The form a host name is compared in: ASCII lower-case, one trailing dot
// removed, non-ASCII names converted to their A-label. Empty when the name
// cannot be converted (it then matches nothing).
std::string lookup_form(std::string_view host);

// 'text' for diagnostics. Built by appending: GCC 12 at -O2 reports a false
// -Wrestrict for "'" + std::string(s) + "'".
inline std::string in_quotes(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('\'');
  out.append(s);
  out.push_back('\'');
  return out;
}

}  // namespace trackrelay::conf::internal
