// base/log.cc — see log.h.
#include "base/log.h"

#include <atomic>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>

namespace trackrelay::log {
namespace {

// The one process-wide setting (log.h says why); atomic so that a thread
// that logs while `serve` starts reads a whole value.
std::atomic<Format> g_format{Format::kText};  // NOLINT(global mutable: the sink's format)

std::string_view level_name(Level level) {
  switch (level) {
    case Level::kInfo:
      return "info";
    case Level::kWarning:
      return "warning";
    case Level::kError:
      return "error";
  }
  return "info";
}

std::string text_field(const Field& f) {
  switch (f.style) {
    case Style::kAngle:
      return f.key + "=<" + f.value + ">";
    case Style::kQuoted:
      return f.key + "=\"" + f.value + "\"";
    case Style::kPlain:
      break;
  }
  return f.key + "=" + f.value;
}

std::string render_text(const Event& e) {
  std::string line = "trackrelay: ";
  if (!e.component.empty()) line += e.component + ": ";
  std::string body;
  for (const Field& f : e.fields) body += (body.empty() ? "" : " ") + text_field(f);
  if (!e.message.empty()) body += (body.empty() ? "" : " ") + e.message;
  return line + body + "\n";
}

std::string render_json(const Event& e, std::string_view time) {
  boost::json::object o;
  if (!time.empty()) o["time"] = time;
  o["level"] = level_name(e.level);
  if (!e.component.empty()) o["component"] = e.component;
  if (!e.message.empty()) o["msg"] = e.message;
  for (const Field& f : e.fields) o[f.key] = f.value;
  return boost::json::serialize(o) + "\n";
}

std::string now_utc() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t secs = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms.count()));
  return buf;
}

}  // namespace

Event& Event::add(std::string key, std::string value, Style style) {
  fields.push_back(Field{std::move(key), std::move(value), style});
  return *this;
}

std::string render(const Event& e, Format format, std::string_view time) {
  return format == Format::kJson ? render_json(e, time) : render_text(e);
}

void set_format(Format format) {
  g_format.store(format);
}

Format format() {
  return g_format.load();
}

void write(const Event& e) {
  const Format f = format();
  const std::string line = render(e, f, f == Format::kJson ? now_utc() : std::string());
  std::cerr.write(line.data(), static_cast<std::streamsize>(line.size()));
}

void info(std::string_view component, std::string_view message) {
  write(Event{Level::kInfo, std::string(component), std::string(message), {}});
}

void warning(std::string_view component, std::string_view message) {
  write(Event{Level::kWarning, std::string(component), std::string(message), {}});
}

void error(std::string_view component, std::string_view message) {
  write(Event{Level::kError, std::string(component), std::string(message), {}});
}

}  // namespace trackrelay::log
