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
// The kinds after kStrings are strings (kEnum..kPasswordHash) or lists of
// strings (kListen..kAuthUsers) whose syntax the loader checks as it reads
// them (check_value, validate.cc), so `check` refuses what `serve` would.
enum class Kind {
  kMap,
  kList,
  kString,
  kBool,
  kPort,
  kInt,
  kSize,
  kStrings,
  kEnum,          // one of enum_choices(path)
  kPath,          // a file name; relative: to the configuration file's directory
  kUpstream,      // host:port, or maildir:PATH (PATH resolved like kPath)
  kPasswordHash,  // pbkdf2-sha256$ITERATIONS$SALT$HASH, or empty
  kListen,        // listen addresses: IP (or localhost, *) and port
  kCidrs,         // networks: 10.0.0.0/8, ::1/128, or a single address
  kResolvers,     // DNS servers: ip, ip:port, [v6]:port
  kAuthUsers,     // user:pbkdf2-sha256$ITERATIONS$SALT$HASH
};
// Kinds whose value may be one string or a list of strings.
bool is_strings(Kind kind);

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
// The values a kEnum key accepts (config.cc); empty for other keys.
std::span<const std::string_view> enum_choices(std::string_view path);

// Checks one value (one list element for the list kinds) of a key of a
// checked kind and returns what to store: paths resolved against `base_dir`
// ("." or "": left relative, to the working directory). validate.cc.
Result<std::string> check_value(Kind kind, std::string_view path, const std::string& text,
                                const std::string& base_dir);
// `path` resolved against `base_dir` as above.
std::string resolve_path(const std::string& base_dir, const std::string& path);

// How the cross-key checks (validate.cc) report: `shown` names the key
// ("track.certificates[0].cert"); the loader places it at its file:line:col.
class Reporter {
 public:
  virtual void error(const std::string& shown, const std::string& message) = 0;

 protected:
  ~Reporter() = default;
};
// TLS settings: certificate and key files readable, PEM, matching each other,
// and covering the names listed for them; tls_listen and require_tls have
// certificates.
void validate_tls(const Config& config, Reporter& report);
// The first listener not on loopback, as "relay.listen '0.0.0.0:25'"; empty
// when every listener is on loopback (or there is none).
std::string exposed_listener(const Config& config);

// "true"/"True"/"TRUE", "false"/...; nullopt otherwise (YAML 1.1 words too).
std::optional<bool> parse_bool(std::string_view s);
// Decimal integer with an optional sign; nullopt when not an integer.
// Overflow saturates (it is then reported as out of range).
std::optional<int64_t> parse_int(std::string_view s);
// Reads a whole (regular) file of at most `limit` bytes; the error says why not.
Result<std::string> read_file(const std::string& path, std::size_t limit);

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
