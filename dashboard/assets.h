// dashboard/assets.h — the dashboard's static files, compiled into the
// binary (dashboard/CMakeLists.txt generates their table from www/).
// May call: nothing.
#pragma once

#include <span>
#include <string_view>

namespace trackrelay::dashboard {

struct Asset {
  std::string_view name;          // path below www/: "index.html", "js/app.js"
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view body;
};

// Every file, sorted by name.
std::span<const Asset> assets();
// The file called `name`, or null.
const Asset* find_asset(std::string_view name);

}  // namespace trackrelay::dashboard
