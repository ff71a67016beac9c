// tests/acme/ari_test.cc — ACME Renewal Information (RFC 9773): a
// certificate's ARI identifier (against the RFC's example and against what
// `openssl x509 -ext authorityKeyIdentifier -serial` prints for a
// certificate made here), the renewalInfo window, the random time inside it,
// Retry-After clamping, and the renewal time with and without ARI (the
// fallback to the lifetime rule, acme.renew_before_days as an upper bound).
// The HTTP conversation runs against a stub CA in tests/acme/ari_stub_test.py.
#include "acme/ari.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "acme/manager.h"
#include "base/encoding.h"

namespace trackrelay::acme {
namespace {

constexpr std::int64_t kDay = 86400000;

TEST(AriId, RfcExample) {
  // RFC 9773 §4.1: keyIdentifier 69:88:5B:..., serial 0x0087654321.
  const std::string aki =
      "\x69\x88\x5B\x6B\x87\x46\x40\x41\xE1\xB3\x7B\x84\x7B\xA0\xAE\x2C\xDE\x01"
      "\xC8\xD4";
  const std::string serial("\x00\x87\x65\x43\x21", 5);
  EXPECT_EQ(ari_id(aki, serial), "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
}

class AriCert : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tr-ari-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
       "-subj /CN=ari-ca -keyout ca.key -out ca.pem");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void sh(const std::string& cmd) {
    const std::string full = "cd '" + dir_.string() + "' && " + cmd + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(full.c_str()), 0) << cmd;
  }
  std::string out(const std::string& cmd) {
    const std::string full = "cd '" + dir_.string() + "' && " + cmd;
    std::string text;
    if (FILE* p = popen(full.c_str(), "r")) {
      char buf[512];
      while (std::fgets(buf, sizeof buf, p) != nullptr) text += buf;
      pclose(p);
    }
    return text;
  }
  std::string read(const std::string& name) {
    std::ifstream f(dir_ / name);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }
  void leaf(const std::string& serial, const std::string& aki = "keyid") {
    sh("printf 'subjectAltName=DNS:a.example.com\\nauthorityKeyIdentifier=" + aki +
       "\\nsubjectKeyIdentifier=none\\n' > ext && "
       "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=leaf "
       "-keyout leaf.key -out leaf.csr && openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key "
       "-set_serial " +
       serial + " -days 1 -extfile ext -out leaf.pem");
  }
  static std::string bytes(std::string hex) {
    std::string b;
    hex.erase(std::remove_if(hex.begin(), hex.end(), [](char c) { return !std::isxdigit(c); }),
              hex.end());
    if (hex.size() % 2 != 0) hex.insert(0, "0");
    for (std::size_t i = 0; i < hex.size(); i += 2) {
      b.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    }
    return b;
  }
  // The identifier from openssl's own printout: the keyid's hex and the
  // serial's hex (a leading 00 added when the top bit is set, as DER does).
  std::string expected() {
    const std::string text = out("openssl x509 -in leaf.pem -noout -ext authorityKeyIdentifier");
    std::istringstream lines(text);
    std::string line, keyid;
    while (std::getline(lines, line)) {
      if (line.find("Authority Key Identifier") != std::string::npos) continue;
      if (auto k = line.find("keyid:"); k != std::string::npos) line = line.substr(k + 6);
      if (line.find(':') != std::string::npos) keyid = line;
    }
    std::string serial = out("openssl x509 -in leaf.pem -noout -serial");
    serial = serial.substr(serial.find('=') + 1);
    std::string s = bytes(serial);
    if (!s.empty() && (static_cast<unsigned char>(s[0]) & 0x80) != 0) s.insert(0, 1, '\0');
    return base64url_encode(bytes(keyid)) + "." + base64url_encode(s);
  }
  std::filesystem::path dir_;
};

TEST_F(AriCert, MatchesOpensslPrintout) {
  leaf("0x87654321");  // top bit set: the DER serial gains a leading zero byte
  auto id = ari_cert_id(read("leaf.pem") + read("ca.pem"));
  ASSERT_TRUE(id) << id.error();
  EXPECT_EQ(*id, expected());
  EXPECT_EQ(id->substr(id->find('.') + 1), "AIdlQyE");
  leaf("0x1234");
  id = ari_cert_id(read("leaf.pem"));
  ASSERT_TRUE(id) << id.error();
  EXPECT_EQ(*id, expected());
  EXPECT_EQ(id->substr(id->find('.') + 1), "EjQ");
}

TEST_F(AriCert, NoAuthorityKeyIdentifierIsAnError) {
  leaf("0x1234", "none");
  ASSERT_EQ(out("openssl x509 -in leaf.pem -noout -ext authorityKeyIdentifier"), "");
  auto id = ari_cert_id(read("leaf.pem"));
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error(), "the certificate has no authority key identifier");
  EXPECT_FALSE(ari_cert_id("not a certificate"));
}

TEST(AriTime, Rfc3339) {
  EXPECT_EQ(*parse_rfc3339("1970-01-02T00:00:00Z"), kDay);
  EXPECT_EQ(*parse_rfc3339("2025-01-02T04:00:00Z"), 1735790400000);
  EXPECT_EQ(*parse_rfc3339("2025-01-02T04:00:00.250Z"), 1735790400250);
  EXPECT_EQ(*parse_rfc3339("2025-01-02T06:30:00+02:30"), 1735790400000);
  EXPECT_EQ(*parse_rfc3339("2025-01-02t01:00:00-03:00"), 1735790400000);
  EXPECT_EQ(*parse_rfc3339("2024-02-29T00:00:00Z"), 1709164800000);  // a leap day
  for (const char* bad : {"", "2025-01-02", "2025-02-29T00:00:00Z", "2025-04-31T00:00:00Z",
                          "1900-02-29T00:00:00Z", "2025-00-10T00:00:00Z", "2025-01-02T04:00:00",
                          "2025-13-02T04:00:00Z", "2025-01-02T04:00:00ZZ", "2025-01-02 04:00:00Z",
                          "yesterday", "2025-01-02T04:00:00+0200", "2025-01-02T04:00:00.Z"}) {
    EXPECT_FALSE(parse_rfc3339(bad)) << bad;
  }
}

TEST(AriWindow, Parses) {
  auto w = parse_renewal_window(
      R"({"suggestedWindow":{"start":"2025-01-02T04:00:00Z","end":"2025-01-03T04:00:00Z"},)"
      R"("explanationURL":"https://acme.example.com/docs/ari"})");
  ASSERT_TRUE(w) << w.error();
  EXPECT_EQ(w->start_ms, 1735790400000);
  EXPECT_EQ(w->end_ms, 1735790400000 + kDay);
  EXPECT_EQ(w->explanation_url, "https://acme.example.com/docs/ari");
  w = parse_renewal_window(
      R"({"suggestedWindow":{"start":"2025-01-02T04:00:00Z","end":"2025-01-02T04:00:00Z"}})");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->explanation_url, "");
}

TEST(AriWindow, RejectsMalformed) {
  for (const char* bad :
       {"", "[]", "{}", "not json", R"({"suggestedWindow":"soon"})",
        R"({"suggestedWindow":{"start":"2025-01-02T04:00:00Z"}})",
        R"({"suggestedWindow":{"start":"2025-01-02T04:00:00Z","end":5}})",
        R"({"suggestedWindow":{"start":"2025-01-03T04:00:00Z","end":"2025-01-02T04:00:00Z"}})",
        R"({"suggestedWindow":{"start":"tomorrow","end":"2025-01-02T04:00:00Z"}})"}) {
    auto w = parse_renewal_window(bad);
    EXPECT_FALSE(w) << bad;
    if (!w) {
      EXPECT_NE(w.error().find("renewalInfo"), std::string::npos);
    }
  }
}

TEST(AriWindow, RandomTimeIsInsideAndSpread) {
  const RenewalWindow w{1000000, 1000000 + kDay, {}};
  std::mt19937_64 rng(42);
  std::set<std::int64_t> seen;
  std::int64_t lo = w.end_ms, hi = w.start_ms;
  for (int i = 0; i < 10000; ++i) {
    const std::int64_t t = choose_in_window(w, rng());
    ASSERT_GE(t, w.start_ms);
    ASSERT_LE(t, w.end_ms);
    seen.insert(t);
    lo = std::min(lo, t);
    hi = std::max(hi, t);
  }
  EXPECT_GT(seen.size(), 9900u);
  EXPECT_LT(lo, w.start_ms + kDay / 100);  // the whole window is used
  EXPECT_GT(hi, w.end_ms - kDay / 100);
  EXPECT_EQ(choose_in_window({5, 5, {}}, rng()), 5);
  EXPECT_EQ(choose_in_window(w, 0), w.start_ms);
  EXPECT_EQ(choose_in_window(w, kDay), w.end_ms);
}

TEST(AriRetryAfter, ClampedWithDefault) {
  using std::chrono::seconds;
  const std::int64_t now = 1735790400000;  // Thu, 02 Jan 2025 04:00:00 GMT
  EXPECT_EQ(ari_retry_after("", now), seconds(6 * 3600));
  EXPECT_EQ(ari_retry_after("soon", now), seconds(6 * 3600));
  EXPECT_EQ(ari_retry_after("-5", now), seconds(6 * 3600));
  EXPECT_EQ(ari_retry_after("60", now), seconds(3600));
  EXPECT_EQ(ari_retry_after("0", now), seconds(3600));
  EXPECT_EQ(ari_retry_after("7200", now), seconds(7200));
  EXPECT_EQ(ari_retry_after("200000", now), seconds(86400));
  EXPECT_EQ(ari_retry_after("99999999999999999999", now), seconds(86400));
  EXPECT_EQ(ari_retry_after("Thu, 02 Jan 2025 07:00:00 GMT", now), seconds(3 * 3600));
  EXPECT_EQ(ari_retry_after("Wed, 01 Jan 2025 07:00:00 GMT", now), seconds(3600));
  EXPECT_EQ(ari_retry_after("Sat, 04 Jan 2025 07:00:00 GMT", now), seconds(86400));
}

store::CertificateRow active(std::int64_t not_before, std::int64_t not_after) {
  store::CertificateRow r;
  r.domain = "a.example.com";
  r.source = "acme";
  r.status = "active";
  r.chain_pem = "-----BEGIN CERTIFICATE-----";
  r.not_before_ms = not_before;
  r.not_after_ms = not_after;
  return r;
}

TEST(AriRenewal, WindowWinsAndFallsBackToTheLifetime) {
  const store::CertificateRow row = active(0, 90 * kDay);
  // no ARI (none offered, or its answer failed): a third of the lifetime
  EXPECT_EQ(renewal_time(row, 0), 60 * kDay);
  EXPECT_FALSE(due(row, 0, 59 * kDay));
  EXPECT_TRUE(due(row, 0, 60 * kDay));
  // ARI: the chosen time, earlier or later than the lifetime rule
  EXPECT_EQ(renewal_time(row, 0, 10 * kDay), 10 * kDay);
  EXPECT_TRUE(due(row, 0, 10 * kDay, 10 * kDay));
  EXPECT_FALSE(due(row, 0, 70 * kDay, 80 * kDay));
  // renew_before_days set: an upper bound on the ARI time
  EXPECT_EQ(renewal_time(row, 30, 80 * kDay), 60 * kDay);
  EXPECT_EQ(renewal_time(row, 30, 10 * kDay), 10 * kDay);
  EXPECT_TRUE(due(row, 30, 61 * kDay, 80 * kDay));
  // a window reaching past expiry: a tenth of the lifetime before it at the latest
  EXPECT_EQ(renewal_time(row, 0, 89 * kDay), 81 * kDay);
  EXPECT_EQ(renewal_time(row, 0, 200 * kDay), 81 * kDay);
  EXPECT_TRUE(due(row, 0, 81 * kDay, 200 * kDay));
  // a missing or inactive certificate is due whatever ARI says
  store::CertificateRow failed = row;
  failed.status = "failed";
  EXPECT_TRUE(due(failed, 0, 0, 80 * kDay));
}

}  // namespace
}  // namespace trackrelay::acme
