// app/main.cc — the `trackrelay` program.
//
//   trackrelay [--config FILE] check
//   trackrelay [--config FILE] rewrite [--mail-from ADDR] [--rcpt ADDR]... [--subaccount N]
//              < in.eml > out.eml
//   trackrelay [--config FILE] decode URL...
//   trackrelay [--config FILE] events [--since T] [--type T] [--limit N] [--json]
//   trackrelay [--config FILE] keys create [--subaccount N] [--label L] [--grants G,G…] | list |
//   revoke ID trackrelay hash-password < password trackrelay --help | --version
//
// `rewrite` and `decode` use the effective configuration: the file's domains
// plus the verified domains created through the management API, read from
// the store named by `store:` when it exists (api/service.h).
//
// Without --config the built-in example configuration is used (the same
// text as conf/trackrelay.example.yaml). Exit status follows sysexits.h:
// 0 ok, 64 usage, 65 bad input (e.g. malformed X-MSYS-API, a token that does
// not verify), 66 unreadable input, 78 configuration error.
//
// May call every library.
#include <sysexits.h>

#include <boost/json.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "api/service.h"
#include "app/commands.h"
#include "base/strings.h"
#include "conf/config.h"
#include "rewrite/account.h"
#include "rewrite/engine.h"
#include "token/token.h"

namespace tr = trackrelay;

namespace {

constexpr std::string_view kUsage =
    "usage: trackrelay [--config FILE] COMMAND [ARGS]\n"
    "       trackrelay --help | --version\n"
    "\n"
    "options:\n"
    "  -c, --config FILE          the configuration (trackrelay.yaml(5))\n"
    "  -h, --help                 print this help and exit\n"
    "      --version              print the version and exit\n"
    "\n"
    "commands:\n"
    "  check                      validate the configuration and exit\n"
    "  rewrite [--mail-from ADDR] [--rcpt ADDR]... [--subaccount N]\n"
    "                             rewrite one message from stdin to stdout (as sent\n"
    "                             by subaccount N; default 0, the primary account)\n"
    "  decode URL...              print the contents of tracked URLs as JSON lines\n"
    "  serve                      run the relay and tracking listeners the configuration enables\n"
    "  events [--since T] [--type click|open|initial_open] [--limit N] [--json]\n"
    "                             list recorded clicks and opens, oldest first\n"
    "  keys create [--subaccount N] [--label L] [--grants G,...] | keys list | keys revoke ID\n"
    "                             API keys of the management API (a new key is printed once)\n"
    "  hash-password              print the PBKDF2 hash of the password on stdin\n"
    "                             (dashboard.admin_password_hash, relay.auth)\n"
    "\n"
    "Without --config, the built-in example configuration is used. See trackrelay(8).\n";

int usage_error(const std::string& what) {
  std::cerr << "trackrelay: " << what << "\n\n" << kUsage;
  return EX_USAGE;
}

}  // namespace

std::shared_ptr<const tr::conf::Config> tr::app::load_config(const std::string& path,
                                                             bool verbose) {
  tr::conf::LoadResult r =
      path.empty() ? tr::conf::load_string(tr::conf::builtin_example_yaml(), "<built-in example>")
                   : tr::conf::load_file(path);
  for (const auto& d : r.diagnostics) {
    if (verbose || d.severity == tr::conf::Diagnostic::Severity::kError) {
      std::cerr << d.str() << "\n";
    }
  }
  return r.config;
}

namespace {

int cmd_check(const tr::conf::Config& c) {
  std::cout << c.source << ": OK: system domain " << c.system_domain << ", "
            << c.tracking_domains.size() << " tracking domain(s), " << c.sending_domains.size()
            << " sending domain(s), " << c.keys.size() << " key(s)\n";
  return EX_OK;
}

int cmd_rewrite(const tr::conf::Config& c, const std::vector<std::string>& args) {
  tr::rewrite::Envelope env;
  bool subaccount_given = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--subaccount" && i + 1 < args.size()) {
      subaccount_given = true;
      const std::string& n = args[++i];
      const auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), env.subaccount_id);
      if (n.empty() || ec != std::errc() || end != n.data() + n.size() || env.subaccount_id < 0) {
        return usage_error("rewrite: --subaccount: expected a subaccount id, got '" + n + "'");
      }
    } else if ((args[i] == "--mail-from" || args[i] == "--rcpt") && i + 1 < args.size()) {
      if (args[i] == "--mail-from") {
        env.mail_from = args[++i];
      } else {
        env.rcpt_to.push_back(args[++i]);
      }
    } else {
      return usage_error("rewrite: unexpected argument '" + args[i] + "'");
    }
  }
  std::string in{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
  if (std::cin.bad()) {
    std::cerr << "trackrelay: rewrite: cannot read standard input\n";
    return EX_NOINPUT;
  }
  // As in a primary relay session, X-MSYS-SUBACCOUNT names the account
  // unless --subaccount does (no status check here: an unknown id simply
  // has no domains).
  auto header = tr::rewrite::subaccount_header(in);
  if (!header) {
    std::cerr << "trackrelay: rewrite: " << header.error() << "\n";
    return EX_DATAERR;
  }
  if (!subaccount_given && *header) env.subaccount_id = **header;
  auto scanner = tr::rewrite::make_scanner(c.rewrite);
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  auto r = tr::rewrite::rewrite_message(in, env, c, *scanner, now);
  if (!r) {
    std::cerr << "trackrelay: rewrite: " << r.error() << "\n";
    return EX_DATAERR;
  }
  std::cout.write(r->message.data(), static_cast<std::streamsize>(r->message.size()));
  std::cout.flush();
  for (const auto& line : r->log) std::cerr << "trackrelay: " << line << "\n";
  // Coverage (rewrite/coverage.h): every link left untracked, with why.
  for (const auto& l : r->untracked_links) {
    std::cerr << "trackrelay: part " << l.part << ": link "
              << (l.opted_out ? "opted out" : "left untracked") << " (" << l.reason
              << "): " << l.url << "\n";
  }
  std::cerr << "trackrelay: links: tracked " << r->links_tracked << " of " << r->links_candidates
            << " candidates; " << r->links_untracked << " left untracked, " << r->links_opted_out
            << " opted out (not candidates)\n";
  std::cerr << "trackrelay: message-id=<" << r->message_id
            << "> sending_domain=" << (r->sending_domain.empty() ? "-" : r->sending_domain)
            << " subaccount=" << env.subaccount_id
            << " tracking_domain=" << (r->tracking.domain.empty() ? "-" : r->tracking.domain)
            << " (" << tr::rewrite::describe(r->tracking.reason)
            << (r->tracking.why.empty() ? "" : ": " + r->tracking.why)
            << ") links_tracked=" << r->links_tracked << " links_untracked=" << r->links_untracked
            << " pixels=" << r->pixels_added << " bytes_in=" << in.size()
            << " bytes_out=" << r->message.size() << "\n";
  return std::cout.good() ? EX_OK : EX_IOERR;
}

// Splits "scheme://host[:port]/kind/token[?...]" into host, kind and token.
bool split_tracked_url(std::string_view url, std::string& host, std::string& kind,
                       std::string& tok) {
  auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return false;
  std::string_view rest = url.substr(scheme + 3);
  auto slash = rest.find('/');
  if (slash == std::string_view::npos) return false;
  host = std::string(rest.substr(0, slash));
  std::string_view path = rest.substr(slash);
  if (path.size() < 4 || path[0] != '/' || path[2] != '/' || (path[1] != 'f' && path[1] != 'q')) {
    return false;
  }
  kind = std::string(path.substr(1, 1));
  tok = std::string(path.substr(3, path.find_first_of("?#") == std::string_view::npos
                                       ? std::string_view::npos
                                       : path.find_first_of("?#") - 3));
  return true;
}

int cmd_decode(const tr::conf::Config& c, const std::vector<std::string>& urls) {
  if (urls.empty()) return usage_error("decode: give one or more tracked URLs");
  std::vector<tr::token::Key> keys;
  for (const auto& k : c.keys) keys.push_back({k.id, k.secret});
  int status = EX_OK;
  for (const std::string& url : urls) {
    std::string host, kind, tok;
    if (!split_tracked_url(url, host, kind, tok)) {
      std::cerr << "trackrelay: decode: " << url << ": not a tracked URL (expected /f/ or /q/)\n";
      status = EX_DATAERR;
      continue;
    }
    auto claims = tr::token::verify(tok, keys, host);
    bool kind_ok = claims && ((kind == "f") == (claims->kind == tr::token::Kind::kClick));
    if (!claims || !kind_ok) {
      std::cerr << "trackrelay: decode: " << url << ": does not verify: "
                << (claims ? "token kind does not match the path" : claims.error()) << "\n";
      status = EX_DATAERR;
      continue;
    }
    boost::json::object o;
    o["kind"] = tr::token::kind_name(claims->kind);
    o["target"] = tr::to_valid_utf8(claims->target);
    o["link_name"] = tr::to_valid_utf8(claims->link_name);
    o["tracking_domain"] = tr::to_valid_utf8(claims->tracking_domain);
    o["message_id"] = tr::to_valid_utf8(claims->message_id);
    o["rcpt_to"] = tr::to_valid_utf8(claims->rcpt_to);
    o["campaign_id"] = tr::to_valid_utf8(claims->campaign_id);
    o["sending_domain"] = tr::to_valid_utf8(claims->sending_domain);
    o["issued_at"] = claims->issued_at;
    o["key_id"] = claims->key_id;
    std::cout << boost::json::serialize(o) << "\n";
  }
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string config_path;
  std::size_t i = 0;
  for (; i < args.size(); ++i) {
    if (args[i] == "--config" || args[i] == "-c") {
      if (i + 1 >= args.size()) return usage_error("--config needs a file name");
      config_path = args[++i];
    } else if (args[i].starts_with("--config=")) {
      config_path = args[i].substr(9);
    } else if (args[i] == "--help" || args[i] == "-h") {
      std::cout << kUsage;
      return EX_OK;
    } else if (args[i] == "--version") {
      std::cout << "trackrelay " TRACKRELAY_VERSION "\n";
      return EX_OK;
    } else {
      break;
    }
  }
  if (i >= args.size()) return usage_error("no command given");
  std::string command = args[i];
  std::vector<std::string> rest(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
  if (command == "hash-password") return tr::app::cmd_hash_password(rest);  // no configuration
  if (command != "check" && command != "rewrite" && command != "decode" && command != "serve" &&
      command != "events" && command != "keys") {
    return usage_error("unknown command '" + command + "'");
  }
  auto config = tr::app::load_config(config_path, command == "check" || command == "serve");
  if (!config) {
    std::cerr << "trackrelay: configuration "
              << (config_path.empty() ? "<built-in example>" : config_path) << " is invalid\n";
    return EX_CONFIG;
  }
  if (command == "check") return cmd_check(*config);
  if (command == "keys") return tr::app::cmd_keys(*config, rest);
  if (command == "rewrite" || command == "decode") config = tr::api::effective_for_command(config);
  if (command == "rewrite") return cmd_rewrite(*config, rest);
  if (command == "serve") return tr::app::cmd_serve(config_path, std::move(config), rest);
  if (command == "events") return tr::app::cmd_events(*config, rest);
  return cmd_decode(*config, rest);
}
