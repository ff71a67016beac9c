// app/commands.h — the subcommands of the `trackrelay` program, one function
// each. main.cc parses global options and dispatches.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "conf/config.h"

namespace trackrelay::app {

// Loads `path` (or the built-in example when empty), printing diagnostics
// (warnings too when `verbose`). Null on error.
std::shared_ptr<const conf::Config> load_config(const std::string& path, bool verbose);

// Runs every listener the configuration enables until SIGTERM/SIGINT;
// SIGHUP reloads `config_path`.
int cmd_serve(const std::string& config_path, std::shared_ptr<const conf::Config> config,
              const std::vector<std::string>& args);

// Lists recorded events from the store (text, or JSON lines with --json).
int cmd_events(const conf::Config& config, const std::vector<std::string>& args);

// API keys of the management API: create (printed once), list, revoke.
int cmd_keys(const conf::Config& config, const std::vector<std::string>& args);

// Prints the PBKDF2 hash of the password read from stdin (app/password.cc).
int cmd_hash_password(const std::vector<std::string>& args);

}  // namespace trackrelay::app
