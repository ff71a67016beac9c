// tests/dns/txt_test.cc — Resolver::txt() (sending-domain ownership proof,
// issue 10) against a real dnsmasq: one record, a record split into several
// character-strings (joined, as RFC 7208 reads them), two records, no TXT at
// an existing name and NXDOMAIN (both definite "none"), and SERVFAIL from a
// scripted server (no definite answer). dnsmasq is required: a missing one
// fails this test rather than skipping it.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <memory>

#include "dns/resolver.h"
#include "dns_test_util.h"

namespace trackrelay::dns {
namespace {

class TxtTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!testing::have_dnsmasq()) return;
    dir_ = std::filesystem::temp_directory_path() /
           ("trackrelay-dns-txt-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    server_ = std::make_unique<testing::Dnsmasq>(
        dir_, std::vector<std::string>{
                  "host-record=notxt.example.com,127.0.0.1",
                  "txt-record=_trackrelay.one.example.com,\"trackrelay-verification=abc123\"",
                  "txt-record=_trackrelay.split.example.com,\"trackrelay-\",\"verification=xyz\"",
                  "txt-record=_trackrelay.two.example.com,\"v=spf1 -all\"",
                  "txt-record=_trackrelay.two.example.com,\"trackrelay-verification=def\"",
                  "local=/example.com/",
              });
  }
  static void TearDownTestSuite() {
    server_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  void SetUp() override {
    ASSERT_TRUE(testing::have_dnsmasq()) << "dnsmasq is required (apt-get install dnsmasq-base)";
    ASSERT_TRUE(server_ != nullptr && server_->ready()) << "dnsmasq did not start";
  }
  Answer txt(std::string_view name) {
    auto r = make_resolver({server_->address()}, 2000);
    EXPECT_TRUE(r.ok());
    return (*r)->txt(name);
  }

  static inline std::filesystem::path dir_;
  static inline std::unique_ptr<testing::Dnsmasq> server_;
};

TEST_F(TxtTest, OneRecord) {
  const Answer a = txt("_trackrelay.one.example.com");
  ASSERT_EQ(a.kind, Answer::Kind::kFound) << a.detail;
  EXPECT_EQ(a.values, std::vector<std::string>{"trackrelay-verification=abc123"});
}

TEST_F(TxtTest, CharacterStringsOfOneRecordAreJoined) {
  const Answer a = txt("_trackrelay.split.example.com");
  ASSERT_EQ(a.kind, Answer::Kind::kFound) << a.detail;
  EXPECT_EQ(a.values, std::vector<std::string>{"trackrelay-verification=xyz"});
}

TEST_F(TxtTest, EveryRecordIsListed) {
  Answer a = txt("_trackrelay.two.example.com");
  ASSERT_EQ(a.kind, Answer::Kind::kFound) << a.detail;
  std::sort(a.values.begin(), a.values.end());
  EXPECT_EQ(a.values, (std::vector<std::string>{"trackrelay-verification=def", "v=spf1 -all"}));
}

TEST_F(TxtTest, NoRecordAndNoNameAreDefinitelyNone) {
  EXPECT_EQ(txt("notxt.example.com").kind, Answer::Kind::kNone);
  const Answer a = txt("_trackrelay.missing.example.com");
  EXPECT_EQ(a.kind, Answer::Kind::kNone);
  EXPECT_FALSE(a.detail.empty());
}

TEST(TxtScripted, ServfailIsNoDefiniteAnswer) {
  testing::ScriptedDns server(
      {{"_trackrelay.broken.example.com", {testing::ScriptedDns::Mode::kServfail, ""}}});
  auto r = make_resolver({server.address()}, 2000);
  ASSERT_TRUE(r.ok());
  const Answer a = (*r)->txt("_trackrelay.broken.example.com");
  EXPECT_EQ(a.kind, Answer::Kind::kFailed);
  EXPECT_NE(a.detail.find("SERVFAIL"), std::string::npos) << a.detail;
}

}  // namespace
}  // namespace trackrelay::dns
