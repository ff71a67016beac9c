// tests/track/classify_test.cc — who clicked: each built-in rule firing on a
// request built from its source (real user agents, an address in Apple's
// published network, HEAD, prefetch headers, a quick click, a burst of
// links), a plain browser click staying human, the rules file (override,
// disable, extend, file:line:col errors) and classify_event() on a real
// Beast request.
#include "track/classify.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

// Signals{...} leaves the other fields at their defaults on purpose.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace trackrelay::track {
namespace {

// Chromium 120 on Linux, as a person's browser sends it.
constexpr std::string_view kChrome =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36";
// Gmail's image proxy (support.google.com/mail/answer/145919).
constexpr std::string_view kGmailProxy =
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)";
// Yahoo Mail's proxy (help.yahoo.com/kb/SLN28749.html).
constexpr std::string_view kYahooProxy =
    "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html";
constexpr std::string_view kOutlookProxy =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/118.0.0.0 Safari/537.36 OutlookImageProxy";
constexpr std::string_view kBarracuda = "Barracuda Sentinel (EE)";
constexpr std::string_view kMimecast = "Mozilla/5.0 (compatible; Mimecast URL Protect)";
constexpr std::string_view kProofpoint = "Mozilla/5.0 (compatible; Proofpoint URL Defense)";
constexpr std::string_view kBingPreview =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "BingPreview/1.0b";
// Apple's network (support.apple.com/en-us/101555): 17.0.0.0/8.
constexpr std::string_view kAppleAddress = "17.58.101.3";
constexpr std::string_view kPersonAddress = "198.51.100.23";

constexpr std::int64_t kNowMs = 1'800'000'000'000;

Rules builtins(int quick = 0) {
  auto r = load_rules("", quick);
  EXPECT_TRUE(r.ok());
  return *r;
}

Signals request(std::string_view type, std::string_view ua,
                std::string_view address = kPersonAddress, std::string_view method = "GET") {
  Signals s;
  s.type = type;
  s.method = method;
  s.user_agent = ua;
  s.client_address = address;
  s.now_ms = kNowMs;
  s.issued_at_s = kNowMs / 1000 - 3600;  // an hour after sending
  return s;
}

bool has_reason(const Classification& c, std::string_view r) {
  return std::find(c.reasons.begin(), c.reasons.end(), r) != c.reasons.end();
}

TEST(Classify, EveryBuiltinRuleHasASourceAndAValidName) {
  for (const Rule& r : builtin_rules()) {
    EXPECT_FALSE(r.source.empty()) << r.name;
    EXPECT_FALSE(r.name.empty());
    EXPECT_EQ(r.name.find(','), std::string::npos);
  }
}

TEST(Classify, PlainBrowserClickAndOpenStayHuman) {
  const Rules rules = builtins(10);
  for (std::string_view type : {"click", "open", "initial_open"}) {
    const Classification c = classify(rules, request(type, kChrome));
    EXPECT_EQ(c.kind, Kind::kHuman) << type;
    EXPECT_TRUE(c.reasons.empty()) << type;
  }
}

TEST(Classify, AppleMppOpenFromApplesNetwork) {
  const Rules rules = builtins();
  const Classification c = classify(
      rules, request("open",
                     "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
                     "(KHTML, like Gecko)",
                     kAppleAddress));
  EXPECT_EQ(c.kind, Kind::kAppleMpp);
  EXPECT_EQ(c.reasons, std::vector<std::string>{"apple_mpp_network"});
}

TEST(Classify, AppleMppOpenByItsBareUserAgent) {
  const Rules rules = builtins();
  Classification c = classify(rules, request("initial_open", "Mozilla/5.0"));
  EXPECT_EQ(c.kind, Kind::kAppleMpp);
  EXPECT_TRUE(has_reason(c, "apple_mpp_user_agent"));
  c = classify(rules, request("open", "Mozilla/5.0", kAppleAddress));
  EXPECT_EQ(c.reasons, (std::vector<std::string>{"apple_mpp_network", "apple_mpp_user_agent"}));
}

TEST(Classify, AppleRulesAreForOpensOnly) {
  // A person on an Apple network clicking a link is a person.
  EXPECT_EQ(classify(builtins(), request("click", kChrome, kAppleAddress)).kind, Kind::kHuman);
}

TEST(Classify, AppleNetworkAsIPv4MappedIPv6) {
  EXPECT_EQ(classify(builtins(), request("open", kChrome, "::ffff:17.1.2.3")).kind,
            Kind::kAppleMpp);
}

TEST(Classify, MailboxImageProxiesAreImageProxyOpens) {
  const Rules rules = builtins();
  const std::pair<std::string_view, std::string_view> cases[] = {
      {kGmailProxy, "gmail_image_proxy"},
      {kYahooProxy, "yahoo_image_proxy"},
      {kOutlookProxy, "outlook_image_proxy"}};
  for (const auto& [ua, rule] : cases) {
    const Classification c = classify(rules, request("open", ua));
    EXPECT_EQ(c.kind, Kind::kImageProxy) << rule;
    EXPECT_TRUE(has_reason(c, rule)) << rule;
  }
}

TEST(Classify, SecurityScannersByUserAgent) {
  const Rules rules = builtins();
  const std::pair<std::string_view, std::string_view> cases[] = {
      {kBarracuda, "barracuda"},
      {kMimecast, "mimecast"},
      {kProofpoint, "proofpoint"},
      {kBingPreview, "microsoft_defender"},
      {"python-requests/2.31.0", "automation_client"},
      {"curl/7.88.1", "automation_client"}};
  for (const auto& [ua, rule] : cases) {
    for (std::string_view type : {"click", "open"}) {
      const Classification c = classify(rules, request(type, ua));
      EXPECT_EQ(c.kind, Kind::kScanner) << rule << " " << type;
      EXPECT_TRUE(has_reason(c, rule)) << rule << " " << type;
    }
  }
}

TEST(Classify, HeadRequestsAreScanners) {
  const Classification c = classify(builtins(), request("click", kChrome, kPersonAddress, "HEAD"));
  EXPECT_EQ(c.kind, Kind::kScanner);
  EXPECT_EQ(c.reasons, std::vector<std::string>{"head_request"});
}

TEST(Classify, TheIssueExampleBarracudaHeadIsAScanner) {
  const Classification c =
      classify(builtins(), request("click", kBarracuda, kPersonAddress, "HEAD"));
  EXPECT_EQ(c.kind, Kind::kScanner);
  EXPECT_EQ(c.reasons, (std::vector<std::string>{"barracuda", "head_request"}));
}

TEST(Classify, PrefetchHeadersAreScanners) {
  const Rules rules = builtins();
  const std::pair<std::string_view, std::string_view> headers[] = {
      {"Sec-Purpose", "prefetch;prerender"},
      {"Purpose", "prefetch"},
      {"X-Moz", "prefetch"},
      {"x-purpose", "preview"}};
  for (const auto& h : headers) {
    Signals s = request("click", kChrome);
    const std::pair<std::string_view, std::string_view> one[] = {h};
    s.headers = one;
    const Classification c = classify(rules, s);
    EXPECT_EQ(c.kind, Kind::kScanner) << h.first;
    EXPECT_EQ(c.reasons, std::vector<std::string>{"prefetch"}) << h.first;
  }
  Signals s = request("click", kChrome);
  const std::pair<std::string_view, std::string_view> other[] = {{"Sec-Fetch-Mode", "navigate"}};
  s.headers = other;
  EXPECT_EQ(classify(rules, s).kind, Kind::kHuman);
}

TEST(Classify, QuickClickAfterIssueIsAScannerWhenConfigured) {
  Signals s = request("click", kChrome);
  s.issued_at_s = kNowMs / 1000 - 4;  // four seconds after the relay issued the token
  EXPECT_EQ(classify(builtins(0), s).kind, Kind::kHuman);  // 0: off
  Classification c = classify(builtins(10), s);
  EXPECT_EQ(c.kind, Kind::kScanner);
  EXPECT_EQ(c.reasons, std::vector<std::string>{"quick_click"});
  s.issued_at_s = kNowMs / 1000 - 11;
  EXPECT_EQ(classify(builtins(10), s).kind, Kind::kHuman);
  // Opens are not clicks: an open seconds after delivery is normal.
  Signals open = request("open", kChrome);
  open.issued_at_s = kNowMs / 1000 - 1;
  EXPECT_EQ(classify(builtins(10), open).kind, Kind::kHuman);
}

TEST(Classify, AllLinksBurstWithinASecond) {
  BurstWindow w;
  const std::string msg = "m1@example.com\nalice@example.net";
  EXPECT_FALSE(w.clicked(msg, "https://a.example/1", kNowMs));
  EXPECT_FALSE(w.clicked(msg, "https://a.example/1", kNowMs + 100));  // the same link again
  EXPECT_TRUE(w.clicked(msg, "https://a.example/2", kNowMs + 300));
  EXPECT_TRUE(w.clicked(msg, "https://a.example/3", kNowMs + 600));
  EXPECT_FALSE(w.clicked(msg, "https://a.example/4", kNowMs + 5000));  // a person, later
  EXPECT_FALSE(w.clicked("other\n", "https://a.example/9", kNowMs + 5100));

  Signals s = request("click", kChrome);
  s.link_burst = true;
  const Classification c = classify(builtins(), s);
  EXPECT_EQ(c.kind, Kind::kScanner);
  EXPECT_EQ(c.reasons, std::vector<std::string>{"link_burst"});
}

TEST(Classify, BurstWindowIsBounded) {
  BurstWindow w(2);
  EXPECT_FALSE(w.clicked("a", "x", kNowMs));
  EXPECT_FALSE(w.clicked("b", "x", kNowMs));
  EXPECT_FALSE(w.clicked("c", "x", kNowMs));  // forgets "a"
  EXPECT_FALSE(w.clicked("a", "y", kNowMs + 1));
  EXPECT_TRUE(w.clicked("c", "y", kNowMs + 2));
}

TEST(Classify, FirstMatchingRuleGivesTheKind) {
  // An image proxy fetching with HEAD: the proxy rule comes first.
  const Classification c =
      classify(builtins(), request("open", kGmailProxy, kPersonAddress, "HEAD"));
  EXPECT_EQ(c.kind, Kind::kImageProxy);
  EXPECT_EQ(c.reasons, (std::vector<std::string>{"gmail_image_proxy", "head_request"}));
}

class RulesFile : public ::testing::Test {
 protected:
  std::string write(const std::string& text) {
    path_ = ::testing::TempDir() + "classify_rules_test.yaml";
    std::ofstream(path_) << text;
    return path_;
  }
  void TearDown() override { std::filesystem::remove(path_); }
  std::string path_;
};

TEST_F(RulesFile, DisablesReplacesAndExtends) {
  const std::string path = write(
      "rules:\n"
      "  - name: barracuda\n"
      "    disabled: true\n"
      "  - name: head_request\n"
      "    kind: image_proxy\n"
      "  - name: our-monitor\n"
      "    kind: scanner\n"
      "    events: [click]\n"
      "    user_agent_contains: UptimeProbe\n"
      "    networks: [192.0.2.0/24]\n"
      "    source: our own uptime checks\n");
  auto rules = load_rules(path, 0);
  ASSERT_TRUE(rules.ok()) << rules.error();
  EXPECT_EQ(classify(*rules, request("click", kBarracuda)).kind, Kind::kHuman);
  const Classification head = classify(*rules, request("click", kChrome, kPersonAddress, "HEAD"));
  EXPECT_EQ(head.kind, Kind::kImageProxy);  // kind replaced, matcher (HEAD) kept
  EXPECT_EQ(classify(*rules, request("click", "UptimeProbe/1", "192.0.2.9")).kind, Kind::kScanner);
  EXPECT_EQ(classify(*rules, request("click", "UptimeProbe/1", "198.51.100.1")).kind,
            Kind::kHuman);  // every matcher must match
  EXPECT_EQ(classify(*rules, request("open", "UptimeProbe/1", "192.0.2.9")).kind, Kind::kHuman);
}

TEST_F(RulesFile, ErrorsNameFileLineAndColumn) {
  struct Case {
    std::string yaml;
    std::string want;
  };
  const Case cases[] = {
      {"rules:\n  - name: x\n    kind: robot\n    source: s\n    methods: HEAD\n",
       ":3:11: error: kind: expected human, apple_mpp, image_proxy or scanner"},
      {"rules:\n  - name: x\n    kind: scanner\n    colour: red\n    source: s\n",
       ":4:13: error: unknown rule key 'colour'"},
      {"rules:\n  - name: x\n    kind: scanner\n    methods: HEAD\n",
       ":2:5: error: rule 'x' needs a source"},
      {"rules:\n  - name: x\n    kind: scanner\n    source: s\n    networks: [10.0.0.0/33]\n",
       ":5:15: error: networks: "},
      {"rules:\n  - name: Bad Name\n", ":2:11: error: rule name"},
      {"rulez: []\n", ":1:1: error: unknown key 'rulez'"},
      {"rules:\n  - name: x\n    kind: scanner\n    source: s\n",
       ":2:5: error: rule 'x' has no matcher"},
      {"rules: [\n", ": error: "},
  };
  for (const Case& c : cases) {
    const std::string path = write(c.yaml);
    auto rules = load_rules(path, 0);
    ASSERT_FALSE(rules.ok()) << c.yaml;
    EXPECT_EQ(rules.error().rfind(path, 0), 0u) << rules.error();
    EXPECT_NE(rules.error().find(c.want), std::string::npos) << rules.error();
  }
  auto missing = load_rules("/nonexistent/rules.yaml", 0);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("/nonexistent/rules.yaml: error:"), std::string::npos);
}

TEST(ClassifyEvent, FromABeastRequest) {
  const Rules rules = builtins();
  BurstWindow burst;
  net::HttpRequest req;
  req.method(boost::beast::http::verb::get);
  req.target("/f/abc");
  req.set("Sec-Purpose", "prefetch");
  store::Event e;
  e.type = "click";
  e.method = "GET";
  e.user_agent = std::string(kChrome);
  e.ip_address = std::string(kPersonAddress);
  e.timestamp_ms = kNowMs;
  e.message_id = "m@example.com";
  e.target_link_url = "https://www.example.org/";
  classify_event(rules, burst, e, req);
  EXPECT_EQ(e.classification, "scanner");
  EXPECT_EQ(e.classification_reasons, std::vector<std::string>{"prefetch"});

  net::HttpRequest plain;
  plain.method(boost::beast::http::verb::get);
  store::Event later = e;
  later.timestamp_ms = kNowMs + 10'000;
  classify_event(rules, burst, later, plain);
  EXPECT_EQ(later.classification, "human");
  EXPECT_TRUE(later.classification_reasons.empty());
}

}  // namespace
}  // namespace trackrelay::track
