// app/keys.cc — `trackrelay keys`: API keys of the management API.
//
//   trackrelay [--config FILE] keys create [--subaccount N] [--label L]
//   trackrelay [--config FILE] keys list
//   trackrelay [--config FILE] keys revoke ID
//
// Works on the store named by `store:` (created when missing), so it needs
// no running server. `create` prints the new key on stdout, alone on its
// line; it is never shown again (only its SHA-256 is stored). `list` prints
// id, prefix, account and label, never keys. Exit status: 0, 64 usage,
// 65 unknown subaccount or key id, 74 store error.
// May call: store/, conf/.
#include <sysexits.h>

#include <charconv>
#include <filesystem>
#include <iostream>

#include "app/commands.h"
#include "store/domain_store.h"
#include "store/event_json.h"
#include "store/location.h"

namespace trackrelay::app {
namespace {

constexpr std::string_view kUsage =
    "usage: trackrelay [--config FILE] keys create [--subaccount N] [--label L]\n"
    "       trackrelay [--config FILE] keys list\n"
    "       trackrelay [--config FILE] keys revoke ID\n";

int usage(const std::string& what) {
  std::cerr << "trackrelay: keys: " << what << "\n" << kUsage;
  return EX_USAGE;
}

std::optional<std::int64_t> parse_id(std::string_view s, std::int64_t min) {
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end != s.data() + s.size() || n < min) return std::nullopt;
  return n;
}

// `keys` arguments after the subcommand.
struct KeysArgs {
  std::string sub;
  std::int64_t subaccount = 0;
  std::string label;
  std::optional<std::int64_t> revoke_id;
};

// Parses args into *out; an exit code (after the usage text) when they are wrong.
std::optional<int> parse_args(const std::vector<std::string>& args, KeysArgs* out) {
  if (args.empty()) return usage("give a subcommand: create, list or revoke");
  const std::string& sub = args[0];
  out->sub = sub;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const bool has_value = i + 1 < args.size();
    if (sub == "create" && args[i] == "--subaccount" && has_value) {
      auto n = parse_id(args[++i], 0);
      if (!n) return usage("--subaccount: expected a subaccount id, got '" + args[i] + "'");
      out->subaccount = *n;
    } else if (sub == "create" && args[i] == "--label" && has_value) {
      out->label = args[++i];
    } else if (sub == "revoke" && !out->revoke_id) {
      out->revoke_id = parse_id(args[i], 1);
      if (!out->revoke_id) return usage("revoke: expected a key id, got '" + args[i] + "'");
    } else {
      return usage("unexpected argument '" + args[i] + "'");
    }
  }
  if (sub != "create" && sub != "list" && sub != "revoke") {
    return usage("unknown subcommand '" + sub + "'");
  }
  if (sub == "revoke" && !out->revoke_id) return usage("revoke: give the key id (see keys list)");
  return std::nullopt;
}

int create_key(store::DomainStore& s, const KeysArgs& a) {
  if (a.subaccount != 0) {
    auto row = s.subaccount(a.subaccount);
    if (!row) {
      std::cerr << "trackrelay: keys: " << row.error() << "\n";
      return EX_IOERR;
    }
    if (!row->has_value()) {
      std::cerr << "trackrelay: keys: subaccount " << a.subaccount
                << " does not exist (create it with POST /api/v1/subaccounts)\n";
      return EX_DATAERR;
    }
  }
  auto key = s.create_api_key(a.label, a.subaccount);
  if (!key) {
    std::cerr << "trackrelay: keys: " << key.error() << "\n";
    return EX_IOERR;
  }
  std::cout << key->key << "\n";
  std::cerr << "trackrelay: keys: created key " << key->row.id << " ("
            << (a.subaccount == 0 ? std::string("primary account")
                                  : "subaccount " + std::to_string(a.subaccount))
            << "); it is shown only this once\n";
  return std::cout.good() ? EX_OK : EX_IOERR;
}

int list_keys(store::DomainStore& s) {
  auto keys = s.api_keys();
  if (!keys) {
    std::cerr << "trackrelay: keys: " << keys.error() << "\n";
    return EX_IOERR;
  }
  for (const store::ApiKeyRow& k : *keys) {
    std::cout << k.id << "  " << k.prefix << "...  "
              << (k.subaccount_id == 0 ? std::string("primary")
                                       : "subaccount " + std::to_string(k.subaccount_id))
              << "  " << store::format_iso8601(k.created_ms) << "  "
              << (k.label.empty() ? "-" : k.label) << "\n";
  }
  return std::cout.good() ? EX_OK : EX_IOERR;
}

int revoke_key(store::DomainStore& s, std::int64_t id) {
  auto r = s.revoke_api_key(id);
  if (!r) {
    std::cerr << "trackrelay: keys: " << r.error() << "\n";
    return EX_IOERR;
  }
  if (*r == store::Change::kNotFound) {
    std::cerr << "trackrelay: keys: no key with id " << id << "\n";
    return EX_DATAERR;
  }
  std::cerr << "trackrelay: keys: revoked key " << id << "\n";
  return EX_OK;
}

}  // namespace

int cmd_keys(const conf::Config& config, const std::vector<std::string>& args) {
  KeysArgs a;
  if (auto wrong = parse_args(args, &a)) return *wrong;
  store::make_store_directory(config.store);
  auto opened = store::DomainStore::open(config.store, true);
  if (!opened) {
    std::cerr << "trackrelay: keys: " << opened.error() << "\n";
    return EX_IOERR;
  }
  if (a.sub == "create") return create_key(**opened, a);
  if (a.sub == "list") return list_keys(**opened);
  return revoke_key(**opened, *a.revoke_id);
}

}  // namespace trackrelay::app
