// tests/api/api_test_util.h — a Router over a real store in a temporary
// directory, a configuration file text, and a resolver answering from a
// table (the real one is tested against dnsmasq in tests/dns/).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "api/router.h"
#include "conf/config.h"
#include "dns/resolver.h"
#include "store/domain_store.h"
#include "store/event_store.h"
#include "store/webhook_store.h"

namespace trackrelay::api::testing {

namespace fs = std::filesystem;
namespace json = boost::json;

class TableResolver final : public dns::Resolver {
 public:
  explicit TableResolver(std::map<std::string, dns::Answer> answers)
      : answers_(std::move(answers)) {}
  dns::Answer cname(std::string_view name) override {
    auto it = answers_.find(std::string(name));
    if (it != answers_.end()) return it->second;
    return dns::Answer{dns::Answer::Kind::kNone, {}, "NXDOMAIN (the name does not exist)"};
  }
  dns::Answer addresses(std::string_view) override {
    return dns::Answer{dns::Answer::Kind::kFailed, {}, "no addresses in tests"};
  }
  // TXT answers are in the same table under "TXT " + name.
  dns::Answer txt(std::string_view name) override {
    auto it = answers_.find("TXT " + std::string(name));
    if (it != answers_.end()) return it->second;
    return dns::Answer{dns::Answer::Kind::kNone, {}, "NXDOMAIN (the name does not exist)"};
  }

 private:
  std::map<std::string, dns::Answer> answers_;
};

inline dns::Answer cname_to(std::string target) {
  return dns::Answer{dns::Answer::Kind::kFound, {std::move(target)}, ""};
}
inline dns::Answer servfail() {
  return dns::Answer{dns::Answer::Kind::kFailed, {}, "SERVFAIL from the resolver"};
}

inline constexpr const char* kBaseConfig =
    "tracking:\n"
    "  system_domain: track.example.net\n"
    "  keys: [{id: k1, secret: \"api-test-secret-0123456789abcdefghijklmnop\"}]\n";

class Api : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "trackrelay-api-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    use_config(kBaseConfig);
    auto d = store::DomainStore::open(dir_ + "/s.db");
    ASSERT_TRUE(d.ok()) << d.error();
    domains_ = std::move(d).value();
    store::Options o;
    o.path = dir_ + "/s.db";
    auto e = store::EventStore::open(o);
    ASSERT_TRUE(e.ok()) << e.error();
    events_ = std::move(e).value();
    auto w = store::WebhookStore::open(dir_ + "/s.db");
    ASSERT_TRUE(w.ok()) << w.error();
    webhooks_ = std::move(w).value();
    RouterOptions ro;
    ro.domains = domains_.get();
    ro.events = events_.get();
    ro.webhooks = webhooks_.get();
    ro.file_config = [this] { return file_; };
    ro.resolver = [this](const conf::Config&) -> Result<std::unique_ptr<dns::Resolver>> {
      return std::unique_ptr<dns::Resolver>(std::make_unique<TableResolver>(dns_));
    };
    ro.changed = [this] { ++changes_; };
    router_ = std::make_unique<Router>(std::move(ro));
    auto k = domains_->create_api_key("primary", 0);
    ASSERT_TRUE(k.ok());
    key_ = k->key;
  }
  void TearDown() override {
    router_.reset();
    webhooks_.reset();
    events_.reset();
    domains_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void use_config(const std::string& yaml) {
    auto r = conf::load_string(yaml, "test.yaml");
    ASSERT_TRUE(r.ok()) << (r.diagnostics.empty() ? "" : r.diagnostics[0].str());
    file_ = r.config;
  }

  struct Reply {
    int status = 0;
    json::value body;
  };
  Reply call(std::string method, std::string path, std::string body = "", std::string key = "",
             std::optional<std::string> subaccount = std::nullopt) {
    ApiRequest req;
    req.method = std::move(method);
    req.target = "/api/v1" + path;
    req.authorization = key.empty() ? key_ : key;
    if (subaccount) {
      req.has_subaccount = true;
      req.subaccount = *subaccount;
    }
    req.body = std::move(body);
    ApiResponse r = router_->handle(req);
    Reply out{r.status, {}};
    if (!r.body.empty()) {
      boost::system::error_code ec;
      out.body = json::parse(r.body, ec);
      EXPECT_FALSE(ec) << "not JSON: " << r.body;
    }
    return out;
  }
  static std::string error_text(const Reply& r) {
    if (!r.body.is_object() || !r.body.as_object().contains("errors")) return "";
    const auto& e = r.body.at("errors").at(0).as_object();
    std::string out = std::string(e.at("message").as_string());
    if (e.contains("description")) out += ": " + std::string(e.at("description").as_string());
    return out;
  }

  std::string dir_;
  std::shared_ptr<const conf::Config> file_;
  std::unique_ptr<store::DomainStore> domains_;
  std::unique_ptr<store::EventStore> events_;
  std::unique_ptr<store::WebhookStore> webhooks_;
  std::unique_ptr<Router> router_;
  std::map<std::string, dns::Answer> dns_;
  std::string key_;
  int changes_ = 0;
};

}  // namespace trackrelay::api::testing
