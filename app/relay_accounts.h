// app/relay_accounts.h — relay::Accounts over the store's API keys and
// subaccounts, for `serve` (the relay's AUTH SMTP_Injection and
// X-MSYS-SUBACCOUNT; a key with grants needs smtp/inject). May call:
// relay/accounts.h, store/domain_store.h, api/grants.h.
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "relay/accounts.h"

namespace trackrelay::app {

// Opens its own connection to the store file `path` (never creates it: the
// API service does). The error names the file.
Result<std::shared_ptr<relay::Accounts>> open_relay_accounts(const std::string& path);

}  // namespace trackrelay::app
