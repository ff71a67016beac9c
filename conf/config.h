// conf/config.h — trackrelay's configuration: one immutable snapshot.
//
// Owns: the YAML file format (every key, type, default and bound is declared
// once, in the key table in config.cc), its validation with file:line:col
// diagnostics, and the domain rules a configuration must satisfy (A-label
// normalisation, "a tracking domain is never a registrable root or public
// suffix" via libpsl). May call: base/, yaml-cpp, libpsl, libidn2.
//
// A Config is built once by load_file()/load_string() and never mutated; it is
// shared as std::shared_ptr<const Config> so a reload can swap the snapshot
// atomically while in-flight work keeps the old one alive.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace trackrelay::conf {

struct SigningKey {
  std::string id;      // 1..16 bytes of [A-Za-z0-9_-]
  std::string secret;  // >= 32 bytes (from `secret:` or the contents of `secret_file:`)
};

struct TrackingDefaults {
  bool click_tracking = true;
  bool open_tracking = true;
  bool initial_open = true;
  bool text_tracking = true;  // rewrite URLs in text/plain parts
};

struct TrackingDomain {
  std::string domain;  // lower-case A-label form
  bool secure = false;
  std::optional<uint16_t> port;  // explicit port; none = scheme default
  bool is_default = false;
};

struct SendingDomain {
  std::string domain;           // lower-case A-label form
  std::string tracking_domain;  // lower-case A-label form; names a TrackingDomain
};

// Bounds on the work the rewrite engine spends on one message part.
struct RewriteLimits {
  std::size_t max_message_bytes = 64u << 20;   // larger messages pass through untouched
  std::size_t max_html_part_bytes = 8u << 20;  // larger HTML parts pass through untouched
  std::size_t max_text_part_bytes = 8u << 20;
  int max_html_parse_errors = 20000;  // gumbo parse errors before a part is given up
  int max_html_depth = 400;           // element nesting beyond which a part is given up
  std::size_t max_tracked_url_length = 2000;
};

// relay: the SMTP relay filter (relay/ extends this as it grows).
struct RelayConfig {
  std::vector<std::string> listen;  // "host:port" ("[::1]:10025" for IPv6); empty = no relay
  std::string upstream;             // "host:port", or "maildir:PATH" (built-in capture)
};

// track: the tracking endpoint (track/ extends this as it grows).
struct TrackConfig {
  std::vector<std::string> listen;      // plain HTTP "host:port"; empty = none
  std::vector<std::string> tls_listen;  // HTTPS "host:port"; empty = none
};

struct Config {
  std::string source;  // file the snapshot was loaded from ("<string>" for tests)

  std::string system_domain;  // operator's default tracking domain (lower-case A-label)
  bool system_secure = false;
  std::optional<uint16_t> system_port;

  std::vector<SigningKey> keys;  // keys[0] signs; all verify
  TrackingDefaults defaults;
  std::vector<TrackingDomain> tracking_domains;
  std::vector<SendingDomain> sending_domains;
  RewriteLimits rewrite;
  RelayConfig relay;
  TrackConfig track;
  std::string store = "var/trackrelay.db";  // SQLite event store (relative: to the working dir)

  // Lookup helpers (names compared in lower-case A-label form).
  const TrackingDomain* find_tracking_domain(std::string_view alabel) const;
  const SendingDomain* find_sending_domain(std::string_view alabel) const;
  // True when `host` is the system domain or any configured tracking domain.
  bool is_tracking_host(std::string_view host) const;

  // The designated default tracking domain, or the only tracking domain when
  // exactly one is declared and none is designated; null otherwise.
  const TrackingDomain* default_tracking_domain() const;
  // (The full choice rule, with the system default, is rewrite/domain_choice.h.)
};

struct Diagnostic {
  enum class Severity { kWarning, kError };
  Severity severity = Severity::kError;
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based; 0 when unknown
  std::string message;
  // "file:line:col: error: message" (or "warning:")
  std::string str() const;
};

struct LoadResult {
  std::shared_ptr<const Config> config;  // null when any error was found
  std::vector<Diagnostic> diagnostics;   // errors and warnings, in file order
  bool ok() const { return config != nullptr; }
};

LoadResult load_file(const std::string& path);
// `name` is used in diagnostics; relative secret_file paths resolve against `base_dir`.
LoadResult load_string(std::string_view yaml, const std::string& name,
                       const std::string& base_dir = ".");

// One entry of the key table (config.cc): what docs/config.md documents.
struct ConfigKey {
  std::string_view path;           // "tracking.system_port"; "[]" marks list items
  std::string_view type;           // map, list, string, bool, port, int, size
  bool required = false;           // must be present (within its parent)
  std::string_view default_value;  // as documented; empty when there is none
  int64_t min = 0;                 // int/size/port: bounds; list: minimum items
  int64_t max = 0;                 // int/size/port: upper bound; 0 otherwise
  std::string_view doc;            // one line
};
// Every key the loader accepts, in file order (parents before children).
std::vector<ConfigKey> config_keys();

// The built-in example configuration (conf/trackrelay.example.yaml, compiled in),
// so `trackrelay` runs with no file at all.
std::string_view builtin_example_yaml();

// --- domain rules (also used by the API later) ---

// Lower-cases and converts a domain name to its A-label (punycode) form with
// IDNA2008 (libidn2). Errors say what is wrong ("empty label", "invalid
// character", ...). A trailing dot is removed.
Result<std::string> to_alabel(std::string_view domain);

enum class TrackingDomainCheck { kOk, kPublicSuffix, kRegistrableRoot, kInvalid };
// Classifies an A-label domain with the Public Suffix List (libpsl): a tracking
// domain must be a proper subdomain of a registrable domain.
TrackingDomainCheck check_tracking_domain(std::string_view alabel);
std::string_view describe(TrackingDomainCheck);

}  // namespace trackrelay::conf
