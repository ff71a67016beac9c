// app/relay_accounts.cc — see relay_accounts.h.
#include "app/relay_accounts.h"

#include "api/grants.h"
#include "store/domain_store.h"

namespace trackrelay::app {
namespace {

class StoreAccounts final : public relay::Accounts {
 public:
  explicit StoreAccounts(std::unique_ptr<store::DomainStore> s) : store_(std::move(s)) {}

  Result<std::optional<std::int64_t>> key_account(std::string_view key) override {
    // The store refuses revoked keys and keys of inactive subaccounts; a key
    // with grants needs smtp/inject (api/grants.h).
    auto row = store_->authenticate(key);
    if (!row) return Error{row.error()};
    if (!*row || !api::key_allows(**row, api::kGrantSmtpInject)) {
      return std::optional<std::int64_t>();
    }
    return std::optional<std::int64_t>((*row)->subaccount_id);
  }

  Result<std::optional<std::string>> subaccount_status(std::int64_t id) override {
    auto row = store_->subaccount(id);
    if (!row) return Error{row.error()};
    if (!*row) return std::optional<std::string>();
    return std::optional<std::string>((*row)->status);
  }

 private:
  std::unique_ptr<store::DomainStore> store_;  // thread-safe (one connection, a mutex)
};

}  // namespace

Result<std::shared_ptr<relay::Accounts>> open_relay_accounts(const std::string& path) {
  // `serve` only: a database unreachable now is checked at the first key.
  auto s = store::DomainStore::open(path, false, store::Connect::kWhenReachable);
  if (!s) return s.failure();
  return std::shared_ptr<relay::Accounts>(std::make_shared<StoreAccounts>(std::move(*s)));
}

}  // namespace trackrelay::app
