// rewrite/account.cc — see account.h.
#include "rewrite/account.h"

#include <charconv>
#include <vector>

#include "base/strings.h"

namespace trackrelay::rewrite {
namespace {

struct Field {
  std::size_t offset = 0;
  std::size_t length = 0;  // through the EOL of its last (folded) line
  std::string_view value;  // raw, folds included
};

// The X-MSYS-SUBACCOUNT fields of the header block (up to the first empty line).
std::vector<Field> find_fields(std::string_view message) {
  std::vector<Field> out;
  std::size_t pos = 0;
  while (pos < message.size()) {
    std::size_t eol = message.find('\n', pos);
    std::size_t end = eol == std::string_view::npos ? message.size() : eol + 1;
    const std::string_view line = message.substr(pos, end - pos);
    if (line == "\n" || line == "\r\n") break;  // end of the header block
    // A field: its first line and the continuation lines after it.
    while (end < message.size() && (message[end] == ' ' || message[end] == '\t')) {
      eol = message.find('\n', end);
      end = eol == std::string_view::npos ? message.size() : eol + 1;
    }
    const std::string_view field = message.substr(pos, end - pos);
    const std::size_t colon = field.find(':');
    if (colon != std::string_view::npos) {
      const std::string_view name = trim(field.substr(0, colon));
      if (iequals(name, kSubaccountHeader)) {
        out.push_back(Field{pos, end - pos, field.substr(colon + 1)});
      }
    }
    pos = end;
  }
  return out;
}

}  // namespace

Result<std::optional<std::int64_t>> subaccount_header(std::string_view message) {
  const std::vector<Field> fields = find_fields(message);
  if (fields.empty()) return std::optional<std::int64_t>();
  if (fields.size() > 1) {
    return Error{std::string(kSubaccountHeader) + ": the header appears more than once"};
  }
  std::string value;
  for (char c : fields.front().value) {
    if (c != '\r' && c != '\n') value += c;
  }
  const std::string_view v = trim(value);
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), id);
  if (v.empty() || v.size() > 18 || ec != std::errc() || end != v.data() + v.size() ||
      v[0] == '-' || v[0] == '+') {
    std::string shown;
    for (char c : v.substr(0, 64)) shown += (c >= 0x20 && c < 0x7f) ? c : '?';
    return Error{std::string(kSubaccountHeader) + ": expected a subaccount id (digits), got '" +
                 shown + "'"};
  }
  return std::optional<std::int64_t>(id);
}

std::string without_subaccount_header(std::string_view message) {
  const std::vector<Field> fields = find_fields(message);
  if (fields.empty()) return std::string(message);
  std::string out;
  out.reserve(message.size());
  std::size_t pos = 0;
  for (const Field& f : fields) {
    out.append(message.substr(pos, f.offset - pos));
    pos = f.offset + f.length;
  }
  out.append(message.substr(pos));
  return out;
}

}  // namespace trackrelay::rewrite
