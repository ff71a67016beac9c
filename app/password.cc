// app/password.cc — `trackrelay hash-password`: reads a password from stdin
// (one line; the line break is not part of it) and prints its
// pbkdf2-sha256$ITERATIONS$SALT$HASH form (600000 iterations, 16 random
// bytes of salt) for dashboard.admin_password_hash or a relay.auth entry.
// Needs no configuration. May call: base/ (crypto, encoding).
#include <sysexits.h>

#include <iostream>
#include <optional>
#include <string>

#include "app/commands.h"
#include "base/crypto.h"
#include "base/encoding.h"

namespace trackrelay::app {

int cmd_hash_password(const std::vector<std::string>& args) {
  if (!args.empty()) {
    std::cerr << "trackrelay: hash-password: reads the password from stdin; unexpected argument '"
              << args.front() << "'\n";
    return EX_USAGE;
  }
  constexpr int kIterations = 600000;
  std::string password;
  std::getline(std::cin, password);
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (password.empty()) {
    std::cerr << "trackrelay: hash-password: no password on stdin\n";
    return EX_DATAERR;
  }
  const std::optional<std::string> salt = random_bytes(16);
  if (!salt) {
    std::cerr << "trackrelay: hash-password: no random bytes for the salt\n";
    return EX_SOFTWARE;
  }
  std::cout << "pbkdf2-sha256$" << kIterations << "$" << base64_encode(*salt) << "$"
            << base64_encode(make_password_hash(password, *salt, kIterations)) << "\n";
  return EX_OK;
}

}  // namespace trackrelay::app
