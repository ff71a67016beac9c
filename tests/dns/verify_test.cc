// tests/dns/verify_test.cc — CNAME verification against real DNS servers:
// dnsmasq (Debian) with the records below, and a scripted UDP server for
// SERVFAIL, silence (timeout) and upper-case answers. Also the verification
// state rules (flap protection) as plain unit tests.
#include "dns/verify.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>

#include "conf/config.h"
#include "dns/resolver.h"
#include "dns_test_util.h"

namespace trackrelay::dns {
namespace {

using testing::Dnsmasq;
using testing::ScriptedDns;
using Mode = ScriptedDns::Mode;

constexpr const char* kSystem = "track.example.net";

class DnsmasqTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!testing::have_dnsmasq()) return;
    dir_ =
        std::filesystem::temp_directory_path() / ("trackrelay-dns-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    server_ =
        std::make_unique<Dnsmasq>(dir_, std::vector<std::string>{
                                            "host-record=track.example.net,127.0.0.1",
                                            "host-record=other.example.net,127.0.0.2",
                                            "host-record=flat.example.com,127.0.0.1",
                                            "cname=good.example.com,track.example.net",
                                            "cname=wrong.example.com,other.example.net",
                                            "cname=click.xn--bcher-kva.example,track.example.net",
                                            "local=/example.com/",
                                        });
  }
  static void TearDownTestSuite() {
    server_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  void SetUp() override {
    if (!testing::have_dnsmasq()) GTEST_SKIP() << "dnsmasq is not installed (dnsmasq-base)";
    ASSERT_TRUE(server_ != nullptr && server_->ready()) << "dnsmasq did not start";
  }
  Check check(std::string_view domain, std::string_view expected = kSystem) {
    auto r = make_resolver({server_->address()}, 2000);
    EXPECT_TRUE(r.ok());
    return check_cname(**r, domain, expected);
  }

  static inline std::filesystem::path dir_;
  static inline std::unique_ptr<Dnsmasq> server_;
};

TEST_F(DnsmasqTest, ValidCname) {
  const Check c = check("good.example.com");
  EXPECT_EQ(c.cname_status, "valid") << c.message;
  EXPECT_EQ(c.found, "track.example.net");
}

TEST_F(DnsmasqTest, ExpectedNameMayHaveTrailingDotAndAnyCase) {
  EXPECT_EQ(check("good.example.com", "Track.Example.NET.").cname_status, "valid");
}

TEST_F(DnsmasqTest, WrongTargetSaysWhatWasFoundAndExpected) {
  const Check c = check("wrong.example.com");
  EXPECT_EQ(c.cname_status, "invalid");
  EXPECT_EQ(c.found, "other.example.net");
  EXPECT_NE(c.message.find("wrong.example.com has CNAME other.example.net; expected "
                           "track.example.net"),
            std::string::npos)
      << c.message;
  EXPECT_NE(c.message.find("wrong.example.com. CNAME track.example.net."), std::string::npos)
      << "names the record to create: " << c.message;
}

TEST_F(DnsmasqTest, MissingNameIsInvalid) {
  const Check c = check("missing.example.com");
  EXPECT_EQ(c.cname_status, "invalid");
  EXPECT_NE(c.message.find("has no CNAME record"), std::string::npos) << c.message;
  EXPECT_NE(c.message.find("NXDOMAIN"), std::string::npos) << c.message;
}

TEST_F(DnsmasqTest, AddressInsteadOfCnameIsInvalid) {
  // A CDN that flattens the CNAME: the name has an A record, no CNAME.
  const Check c = check("flat.example.com");
  EXPECT_EQ(c.cname_status, "invalid");
  EXPECT_TRUE(c.found.empty());
}

TEST_F(DnsmasqTest, InternationalisedNameIsLookedUpAsALabel) {
  auto a = conf::to_alabel("click.Bücher.example");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, "click.xn--bcher-kva.example");
  EXPECT_EQ(check(*a).cname_status, "valid");
}

TEST_F(DnsmasqTest, AddressesForTheHttpChallenge) {
  auto r = make_resolver({server_->address()}, 2000);
  ASSERT_TRUE(r.ok());
  const Answer a = (*r)->addresses("flat.example.com");
  ASSERT_EQ(a.kind, Answer::Kind::kFound) << a.detail;
  EXPECT_EQ(a.values, std::vector<std::string>{"127.0.0.1"});
}

// A listening socket on 127.0.0.1 that never accepts: a connection to it
// completes in the kernel's backlog, so readable() says whether anyone
// connected.
class Listener {
 public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ok_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) == 0 &&
          ::listen(fd_, 8) == 0 && ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0;
    port_ = ntohs(a.sin_port);
  }
  ~Listener() {
    if (fd_ >= 0) ::close(fd_);
  }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  bool ok() const { return ok_; }
  std::uint16_t port() const { return port_; }
  bool connected() const {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 200) == 1;
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
  std::uint16_t port_ = 0;
};

TEST_F(DnsmasqTest, HttpChallengeNeverConnectsToAPrivateAddress) {
  Listener listener;
  ASSERT_TRUE(listener.ok());
  auto r = make_resolver({server_->address()}, 2000);
  ASSERT_TRUE(r.ok());
  const Check c = check_http(**r, "flat.example.com", listener.port(), "tok", 500, false);
  EXPECT_FALSE(listener.connected()) << "the challenge connected to 127.0.0.1";
  EXPECT_EQ(c.cname_status, "invalid");
  EXPECT_NE(c.message.find("could not fetch the challenge"), std::string::npos) << c.message;
  EXPECT_EQ(c.message.find("127.0.0.1"), std::string::npos) << c.message;
  EXPECT_NE(c.detail.find("127.0.0.1 refused: loopback"), std::string::npos) << c.detail;
  EXPECT_EQ(c.method, Method::kHttp);
}

TEST_F(DnsmasqTest, HttpChallengeReachesPrivateAddressesOnlyWhenAllowed) {
  Listener listener;  // never answers: the challenge times out
  ASSERT_TRUE(listener.ok());
  auto r = make_resolver({server_->address()}, 2000);
  ASSERT_TRUE(r.ok());
  const auto start = std::chrono::steady_clock::now();
  const Check c = check_http(**r, "flat.example.com", listener.port(), "tok", 300, true);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_TRUE(listener.connected());
  EXPECT_EQ(c.cname_status, "pending");
  EXPECT_NE(c.message.find("could not fetch the challenge"), std::string::npos) << c.message;
  EXPECT_EQ(c.message.find("timeout"), std::string::npos) << c.message;  // the error: log only
  EXPECT_FALSE(c.detail.empty());
}

TEST(ScriptedDnsTest, UpperCaseAndTrailingDotAnswersAreValid) {
  ScriptedDns server({{"upper.example.com", {Mode::kCname, "TRACK.Example.NET."}}});
  auto r = make_resolver({server.address()}, 2000);
  ASSERT_TRUE(r.ok());
  const Check c = check_cname(**r, "upper.example.com", kSystem);
  EXPECT_EQ(c.cname_status, "valid") << c.message;
  EXPECT_EQ(c.found, "TRACK.Example.NET");  // shown as found
}

TEST(ScriptedDnsTest, ServfailIsPendingNeverInvalid) {
  ScriptedDns server({{"broken.example.com", {Mode::kServfail, ""}}});
  auto r = make_resolver({server.address()}, 2000);
  ASSERT_TRUE(r.ok());
  const Check c = check_cname(**r, "broken.example.com", kSystem);
  EXPECT_EQ(c.cname_status, "pending");
  EXPECT_NE(c.message.find("SERVFAIL"), std::string::npos) << c.message;
}

TEST(ScriptedDnsTest, TimeoutIsPendingWithinTheConfiguredTime) {
  ScriptedDns server({{"slow.example.com", {Mode::kSilent, ""}}});
  auto r = make_resolver({server.address()}, 600);
  ASSERT_TRUE(r.ok());
  const auto start = std::chrono::steady_clock::now();
  const Check c = check_cname(**r, "slow.example.com", kSystem);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(c.cname_status, "pending");
  EXPECT_NE(c.message.find("no answer within 600 ms"), std::string::npos) << c.message;
  EXPECT_LT(took, std::chrono::milliseconds(1500));
  EXPECT_GE(server.queries(), 1);
}

TEST(Resolver, RejectsBadServerAddresses) {
  EXPECT_FALSE(check_servers({"127.0.0.1:99999"}).ok());
  EXPECT_FALSE(check_servers({"dns.example.com"}).ok());
  EXPECT_FALSE(check_servers({"[::1"}).ok());
  EXPECT_TRUE(check_servers({"127.0.0.1", "127.0.0.1:5353", "[::1]:53", "::1"}).ok());
  auto r = make_resolver({"nonsense"}, 1000);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("nonsense"), std::string::npos);
}

// --- state rules ---

Check result(const char* status) {
  return Check{status, "", "", ""};
}

// api/service.cc re-verifies a domain the way it was last verified, read
// back from the stored `found` with method_of(), never by searching its text.
TEST(VerifyMethod, StoredFoundTellsTheMethodOfTheLastCheck) {
  EXPECT_EQ(method_of(kFoundHttpAnswered), Method::kHttp);
  EXPECT_EQ(method_of(kFoundHttpNotAnswered), Method::kHttp);
  EXPECT_EQ(method_of("track.example.net"), Method::kCname);
  EXPECT_EQ(method_of(""), Method::kCname);
  EXPECT_EQ(method_of("HTTP challenge answered; and more"), Method::kCname);
  EXPECT_EQ(Check{}.method, Method::kCname);
}

TEST(VerifyState, ManualDefiniteResultsApplyAtOnce) {
  EXPECT_EQ(after_manual({}, result("valid")).cname_status, "valid");
  EXPECT_TRUE(after_manual({}, result("valid")).verified);
  const State bad = after_manual({true, "valid", 0}, result("invalid"));
  EXPECT_FALSE(bad.verified);
  EXPECT_EQ(bad.cname_status, "invalid");
}

TEST(VerifyState, ManualPendingNeverUnverifies) {
  const State s = after_manual({true, "valid", 0}, result("pending"));
  EXPECT_TRUE(s.verified);
  EXPECT_EQ(s.cname_status, "valid");
  EXPECT_EQ(after_manual({}, result("pending")).cname_status, "pending");
}

TEST(VerifyState, PeriodicNeedsConsecutiveDefiniteFailures) {
  State s{true, "valid", 0};
  s = after_periodic(s, result("invalid"), 3);
  EXPECT_TRUE(s.verified);
  EXPECT_EQ(s.failures, 1);
  s = after_periodic(s, result("pending"), 3);  // a timeout neither counts nor resets
  EXPECT_TRUE(s.verified);
  EXPECT_EQ(s.failures, 1);
  s = after_periodic(s, result("invalid"), 3);
  EXPECT_TRUE(s.verified);
  s = after_periodic(s, result("invalid"), 3);
  EXPECT_FALSE(s.verified);
  EXPECT_EQ(s.cname_status, "invalid");
  s = after_periodic(s, result("valid"), 3);  // fixed: verified again, count reset
  EXPECT_TRUE(s.verified);
  EXPECT_EQ(s.failures, 0);
}

TEST(VerifyState, PeriodicSuccessResetsTheCount) {
  State s{true, "valid", 0};
  s = after_periodic(s, result("invalid"), 2);
  s = after_periodic(s, result("valid"), 2);
  s = after_periodic(s, result("invalid"), 2);
  EXPECT_TRUE(s.verified) << "failures must be consecutive";
}

TEST(VerifyState, PeriodicNeverFailsOnTimeoutsAlone) {
  State s{true, "valid", 0};
  for (int i = 0; i < 50; ++i) s = after_periodic(s, result("pending"), 3);
  EXPECT_TRUE(s.verified);
  EXPECT_EQ(s.cname_status, "valid");
}

TEST(VerifyState, PeriodicVerifiesAPendingDomainOnceItsRecordExists) {
  State s{false, "pending", 0};
  s = after_periodic(s, result("valid"), 3);
  EXPECT_TRUE(s.verified);
}

}  // namespace
}  // namespace trackrelay::dns
