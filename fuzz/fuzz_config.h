// fuzz/fuzz_config.h — fuzz target body for YAML configuration loading
// (conf/config.h load_string: yaml-cpp, the key table, validation, domain
// rules with libpsl and libidn2).
//
// Input: a configuration file's text.
//
// Invariants: loading never crashes; it gives a configuration exactly when
// no diagnostic is an error, and a refused file has at least one error
// diagnostic, each with a message; an accepted configuration has a key, and
// every tracking domain a sending domain names is declared.
//
// Inputs that mention /dev/ or /proc/ are skipped: `secret_file:` reads the
// named file, and a device can block the fuzzer (the file is the operator's,
// so this is no attack surface). Relative secret files resolve against a
// directory that does not exist.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "conf/config.h"
#include "fuzz/fuzz_common.h"

namespace trackrelay::fuzz {

inline int check_config(const std::uint8_t* data, std::size_t size) {
  const std::string_view yaml = as_view(data, size);
  if (yaml.find("/dev/") != std::string_view::npos ||
      yaml.find("/proc/") != std::string_view::npos) {
    return 0;
  }
  const conf::LoadResult r = conf::load_string(yaml, "<fuzz>", "/nonexistent-trackrelay-fuzz");
  const bool has_error = std::any_of(
      r.diagnostics.begin(), r.diagnostics.end(),
      [](const conf::Diagnostic& d) { return d.severity == conf::Diagnostic::Severity::kError; });
  FUZZ_CHECK(r.ok() != has_error,
             "config given with errors, or refused without one: " + escaped(yaml));
  for (const conf::Diagnostic& d : r.diagnostics) {
    FUZZ_CHECK(!d.message.empty(), "a diagnostic without a message: " + escaped(yaml));
    FUZZ_CHECK(d.line >= 0 && d.column >= 0, "negative line or column: " + d.str());
  }
  if (!r.ok()) return 0;
  const conf::Config& c = *r.config;
  FUZZ_CHECK(!c.keys.empty(), "a configuration without a signing key: " + escaped(yaml));
  for (const conf::SendingDomain& s : c.sending_domains) {
    FUZZ_CHECK(c.find_tracking_domain(s.tracking_domain) != nullptr,
               "sending domain " + s.domain + " names an undeclared tracking domain");
  }
  return 0;
}

}  // namespace trackrelay::fuzz
