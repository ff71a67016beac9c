// Helpers shared by the rewrite tests: configurations and token decoding.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "conf/config.h"
#include "token/token.h"

namespace trackrelay::testing {

// senders: any — the engine's tests track mail from any sending domain
// (account_test.cc tests `declared`, the default).
inline constexpr char kTestYaml[] = R"(
tracking:
  system_domain: track.example.net
  senders: any
  keys:
    - {id: k1, secret: "test-secret-0123456789abcdef0123456789"}
  tracking_domains:
    - {domain: click.example.com, secure: true, default: true}
    - {domain: links.example.org}
  sending_domains:
    - {domain: example.org, tracking_domain: links.example.org}
)";

inline std::shared_ptr<const conf::Config> config_from(const std::string& yaml) {
  auto r = conf::load_string(yaml, "<test>");
  for (const auto& d : r.diagnostics) ADD_FAILURE() << d.str();
  EXPECT_TRUE(r.ok());
  return r.config;
}

inline std::shared_ptr<const conf::Config> test_config() {
  return config_from(kTestYaml);
}

// Every tracked URL (http(s)://host/f|q/token) in `text`, in order.
inline std::vector<std::string> tracked_urls(const std::string& text) {
  static const std::regex kRe(R"(https?://[A-Za-z0-9.\-]+(:[0-9]+)?/[fq]/[A-Za-z0-9_\-]+)");
  std::vector<std::string> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kRe); it != std::sregex_iterator();
       ++it) {
    out.push_back(it->str());
  }
  return out;
}

// Verifies a tracked URL with the config's keys; fails the test when it does not verify.
inline token::Claims decode_url(const std::string& url, const conf::Config& c) {
  std::vector<token::Key> keys;
  for (const auto& k : c.keys) keys.push_back({k.id, k.secret});
  auto scheme = url.find("://");
  auto slash = url.find('/', scheme + 3);
  std::string host = url.substr(scheme + 3, slash - scheme - 3);
  auto r = token::verify(url.substr(slash + 3), keys, host);
  EXPECT_TRUE(r.ok()) << url << ": " << (r.ok() ? "" : r.error());
  return r.ok() ? *r : token::Claims{};
}

}  // namespace trackrelay::testing
