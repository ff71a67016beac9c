// relay/accounts.h — what the relay asks about the management API's
// accounts: which account an API key belongs to (AUTH SMTP_Injection) and
// whether a subaccount may send (X-MSYS-SUBACCOUNT).
//
// An interface so that relay/ does not depend on store/: `serve` implements
// it over store::DomainStore (app/relay_accounts.cc); tests may fake it.
// Both calls block (SQLite, SHA-256): sessions call them on the blocking
// pool, never on the I/O thread. Implementations are thread-safe.
//
// May call: base/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace trackrelay::relay {

// The SMTP AUTH user name of API-key authentication (SparkPost's).
inline constexpr std::string_view kApiKeyUser = "SMTP_Injection";

class Accounts {
 public:
  virtual ~Accounts() = default;
  // The account (subaccount id; 0: the primary account) of an API key that
  // may authenticate now; nullopt for an unknown or revoked key, or a key of
  // a suspended or terminated subaccount. The error is the store's.
  virtual Result<std::optional<std::int64_t>> key_account(std::string_view key) = 0;
  // A subaccount's status ("active", "suspended", "terminated"); nullopt
  // when there is no such subaccount.
  virtual Result<std::optional<std::string>> subaccount_status(std::int64_t id) = 0;
};

}  // namespace trackrelay::relay
