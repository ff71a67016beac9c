// base/log.h — the logging facility: one line per event on stderr, with a
// severity, a component ("relay", "track", "api", "verify", …), a message
// and key=value fields.
//
// Two formats (log.format in the configuration):
//   text  trackrelay: COMPONENT: FIELDS MESSAGE — the historical lines
//         operators and tests read (key=value fields, then the message;
//         the severity is not written, as before).
//   json  one JSON object per line: {"time","level","component","msg",
//         <fields>} (Boost.JSON does the escaping); a field's value is
//         written without its text-mode decoration (<…> or "…").
//
// The format is the one process-wide setting: like std::cerr itself, the
// sink is shared by every thread and set once at start (`serve` applies
// log.format before it starts a listener; reloads never change it).
// Each event is one write of one whole line, so lines of concurrent
// sessions never interleave. May call: Boost.JSON, the C++ library.
#pragma once

#include <concepts>
#include <string>
#include <string_view>
#include <vector>

namespace trackrelay::log {

enum class Level { kInfo, kWarning, kError };
enum class Format { kText, kJson };

// How text mode writes a field's value: key=value, key=<value>, key="value".
enum class Style { kPlain, kAngle, kQuoted };

struct Field {
  std::string key;
  std::string value;
  Style style = Style::kPlain;
};

struct Event {
  Level level = Level::kInfo;
  std::string component;  // empty: "trackrelay: MESSAGE"
  std::string message;
  std::vector<Field> fields;

  Event& add(std::string key, std::string value, Style style = Style::kPlain);
  template <std::integral T>
  Event& add(std::string key, T value) {
    return add(std::move(key), std::to_string(value));
  }
};

// The line for `e` in `format`, with its line break (pure; for tests).
// `time` is the JSON "time" value (empty: none).
std::string render(const Event& e, Format format, std::string_view time = {});

// Sets the process-wide format (once at start; see the header comment).
void set_format(Format format);
Format format();

// Writes `e` to stderr in the process-wide format.
void write(const Event& e);

// Shorthands for events without fields.
void info(std::string_view component, std::string_view message);
void warning(std::string_view component, std::string_view message);
void error(std::string_view component, std::string_view message);

}  // namespace trackrelay::log
