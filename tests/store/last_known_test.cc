// tests/store/last_known_test.cc — LastKnown, the last-known snapshot a
// node reads at start while PostgreSQL is unreachable: domains and
// certificates round-trip with every field, a missing file is "nothing
// known", a corrupt or unreadable one is ignored (never fatal), the files are
// 0600 and replaced atomically (no temporary file left), and
// certificates_or_last_known() serves the cached rows only when the store
// fails.
#include "store/last_known.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "store_test_util.h"

namespace trackrelay::store {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

DomainsSnapshot sample_domains() {
  DomainsSnapshot s;
  s.version = 42;
  TrackingDomainRow t;
  t.domain = "click.example.com";
  t.subaccount_id = 7;
  t.port = 8443;
  t.secure = true;
  t.is_default = true;
  t.default_on_verify = true;
  t.verified = true;
  t.cname_status = "valid";
  t.compliance_status = "valid";
  t.found = "track.example.net.";
  t.message = "CNAME \"ok\"\n\xc3\xa9";
  t.checked_ms = 1795000000123;
  t.failures = 2;
  t.http_token = "tok";
  t.created_ms = 1795000000000;
  s.tracking.push_back(t);
  t.domain = "plain.example.com";
  t.port.reset();
  t.secure = false;
  s.tracking.push_back(t);
  SendingDomainRow d("shop.example.com", 7, "click.example.com", 1795000000001);
  d.verified = true;
  d.txt_status = "valid";
  d.txt_token = "0123456789abcdef";
  d.found = "trackrelay-verification=0123456789abcdef";
  d.message = "found";
  d.checked_ms = 1795000000002;
  s.sending.push_back(d);
  s.subaccounts.push_back(SubaccountRow{7, "Acme", "active", 1795000000003});
  s.tls_live = {"click.example.com"};
  return s;
}

CertificateRow sample_certificate(const std::string& domain, const std::string& status) {
  CertificateRow c;
  c.domain = domain;
  c.source = "acme";
  c.status = status;
  c.message = "issued";
  c.chain_pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  c.key_pem = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n";
  c.not_before_ms = 1795000000000;
  c.not_after_ms = 1802000000000;
  c.serial = "0a1b";
  c.failures = 1;
  c.next_try_ms = 1796000000000;
  c.updated_ms = 1795000000005;
  return c;
}

void expect_same(const TrackingDomainRow& a, const TrackingDomainRow& b) {
  EXPECT_EQ(a.domain, b.domain);
  EXPECT_EQ(a.subaccount_id, b.subaccount_id);
  EXPECT_EQ(a.port, b.port);
  EXPECT_EQ(a.secure, b.secure);
  EXPECT_EQ(a.is_default, b.is_default);
  EXPECT_EQ(a.default_on_verify, b.default_on_verify);
  EXPECT_EQ(a.verified, b.verified);
  EXPECT_EQ(a.cname_status, b.cname_status);
  EXPECT_EQ(a.compliance_status, b.compliance_status);
  EXPECT_EQ(a.found, b.found);
  EXPECT_EQ(a.message, b.message);
  EXPECT_EQ(a.checked_ms, b.checked_ms);
  EXPECT_EQ(a.failures, b.failures);
  EXPECT_EQ(a.http_token, b.http_token);
  EXPECT_EQ(a.created_ms, b.created_ms);
}

void expect_same(const CertificateRow& a, const CertificateRow& b) {
  EXPECT_EQ(a.domain, b.domain);
  EXPECT_EQ(a.source, b.source);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.message, b.message);
  EXPECT_EQ(a.chain_pem, b.chain_pem);
  EXPECT_EQ(a.key_pem, b.key_pem);
  EXPECT_EQ(a.not_before_ms, b.not_before_ms);
  EXPECT_EQ(a.not_after_ms, b.not_after_ms);
  EXPECT_EQ(a.serial, b.serial);
  EXPECT_EQ(a.failures, b.failures);
  EXPECT_EQ(a.next_try_ms, b.next_try_ms);
  EXPECT_EQ(a.updated_ms, b.updated_ms);
}

unsigned mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

TEST(LastKnown, DomainsRoundTripWithEveryField) {
  TempDir dir;
  const DomainsSnapshot saved = sample_domains();
  {
    LastKnown cache(dir.file("spool"));  // created when missing
    ASSERT_TRUE(cache.save_domains(saved).ok());
  }
  LastKnown cache(dir.file("spool"));
  auto read = cache.load_domains();
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->version, 42);
  ASSERT_EQ(read->tracking.size(), 2u);
  expect_same(read->tracking[0], saved.tracking[0]);
  expect_same(read->tracking[1], saved.tracking[1]);
  ASSERT_EQ(read->sending.size(), 1u);
  const SendingDomainRow& d = read->sending[0];
  EXPECT_EQ(d.domain, "shop.example.com");
  EXPECT_EQ(d.subaccount_id, 7);
  EXPECT_EQ(d.tracking_domain, "click.example.com");
  EXPECT_EQ(d.created_ms, 1795000000001);
  EXPECT_TRUE(d.verified);
  EXPECT_EQ(d.txt_status, "valid");
  EXPECT_EQ(d.txt_token, "0123456789abcdef");
  EXPECT_EQ(d.found, "trackrelay-verification=0123456789abcdef");
  EXPECT_EQ(d.message, "found");
  EXPECT_EQ(d.checked_ms, 1795000000002);
  ASSERT_EQ(read->subaccounts.size(), 1u);
  EXPECT_EQ(read->subaccounts[0].id, 7);
  EXPECT_EQ(read->subaccounts[0].name, "Acme");
  EXPECT_EQ(read->subaccounts[0].status, "active");
  EXPECT_EQ(read->subaccounts[0].created_ms, 1795000000003);
  EXPECT_EQ(read->tls_live, std::set<std::string>{"click.example.com"});
}

TEST(LastKnown, CertificatesRoundTripWithTheirKeys) {
  TempDir dir;
  LastKnown cache(dir.file("spool"));
  const std::vector<CertificateRow> saved = {sample_certificate("a.example.com", "active"),
                                             sample_certificate("b.example.com", "active")};
  ASSERT_TRUE(cache.save_certificates(saved).ok());
  auto read = LastKnown(dir.file("spool")).load_certificates();
  ASSERT_TRUE(read.has_value());
  ASSERT_EQ(read->size(), 2u);
  expect_same((*read)[0], saved[0]);
  expect_same((*read)[1], saved[1]);
}

TEST(LastKnown, AMissingFileIsNothingKnown) {
  TempDir dir;
  LastKnown cache(dir.file("spool"));
  EXPECT_FALSE(cache.load_domains().has_value());
  EXPECT_FALSE(cache.load_certificates().has_value());
  LastKnown off("");  // no store_spool: keeps nothing
  EXPECT_TRUE(off.save_domains(sample_domains()).ok());
  EXPECT_FALSE(off.load_domains().has_value());
  EXPECT_EQ(off.domains_file(), "");
}

TEST(LastKnown, ACorruptOrUnreadableFileIsIgnoredAndReplacedByTheNextSave) {
  TempDir dir;
  fs::create_directories(dir.file("spool"));
  LastKnown cache(dir.file("spool"));
  for (const std::string& bad :
       {std::string("{\"format\":1,\"version\":"), std::string("not json"),
        std::string("{\"format\":2,\"version\":1,\"tracking\":[],\"sending\":[],"
                    "\"subaccounts\":[],\"tls_live\":[]}"),
        std::string("{\"format\":1,\"version\":1,\"tracking\":[{\"domain\":3}],\"sending\":[],"
                    "\"subaccounts\":[],\"tls_live\":[]}"),
        std::string("\0\0\0", 3)}) {
    write_file(cache.domains_file(), bad);
    EXPECT_FALSE(cache.load_domains().has_value()) << bad;
    write_file(cache.certificates_file(), bad);
    EXPECT_FALSE(cache.load_certificates().has_value()) << bad;
  }
  ASSERT_TRUE(cache.save_domains(sample_domains()).ok());
  ASSERT_TRUE(cache.load_domains().has_value());
  if (::geteuid() != 0) {  // root reads any file
    ::chmod(cache.domains_file().c_str(), 0);
    EXPECT_FALSE(LastKnown(dir.file("spool")).load_domains().has_value());
  }
  fs::remove(cache.domains_file());
  fs::create_directory(cache.domains_file());  // a directory where the file should be
  EXPECT_FALSE(LastKnown(dir.file("spool")).load_domains().has_value());
  EXPECT_FALSE(LastKnown(dir.file("spool")).save_domains(sample_domains()).ok())
      << "the error, not a crash";
}

TEST(LastKnown, FilesAre0600AndReplacedAtomically) {
  TempDir dir;
  fs::create_directories(dir.file("spool"));
  LastKnown cache(dir.file("spool"));
  write_file(cache.certificates_file(), "old");
  ::chmod(cache.certificates_file().c_str(), 0644);
  ASSERT_TRUE(cache.save_domains(sample_domains()).ok());
  ASSERT_TRUE(cache.save_certificates({sample_certificate("a.example.com", "active")}).ok());
  EXPECT_EQ(mode_of(cache.domains_file()), 0600u);
  EXPECT_EQ(mode_of(cache.certificates_file()), 0600u);
  std::size_t files = 0;
  for (const auto& f : fs::directory_iterator(dir.file("spool"))) {
    ++files;
    EXPECT_EQ(f.path().string().find(".tmp-"), std::string::npos) << f.path();
  }
  EXPECT_EQ(files, 2u);
  DomainsSnapshot next = sample_domains();
  next.version = 43;
  ASSERT_TRUE(cache.save_domains(next).ok());
  EXPECT_EQ(LastKnown(dir.file("spool")).load_domains()->version, 43);
}

TEST(LastKnown, CertificatesComeFromTheStoreAndFromTheCacheOnlyWhenItFails) {
  TempDir dir;
  LastKnown cache(dir.file("spool"));
  auto live = CertStore::open(dir.file("store.db"), true);
  ASSERT_TRUE(live.ok()) << live.error();
  ASSERT_TRUE((*live)->put_certificate(sample_certificate("a.example.com", "active")).ok());
  ASSERT_TRUE((*live)->put_certificate(sample_certificate("p.example.com", "pending")).ok());
  auto rows = certificates_or_last_known(**live, cache);
  ASSERT_TRUE(rows.ok()) << rows.error();
  EXPECT_EQ(rows->size(), 2u) << "the store's rows, as they are";
  auto cached = cache.load_certificates();
  ASSERT_TRUE(cached.has_value());
  ASSERT_EQ(cached->size(), 1u) << "only what the tracker serves";
  EXPECT_EQ((*cached)[0].domain, "a.example.com");

  // A PostgreSQL store that cannot be reached (opened as `serve` opens it).
  auto away = CertStore::open("postgresql://nobody@127.0.0.1:1/db", true, Connect::kWhenReachable);
  ASSERT_TRUE(away.ok()) << away.error();
  auto fallback = certificates_or_last_known(**away, cache);
  ASSERT_TRUE(fallback.ok()) << fallback.error();
  ASSERT_EQ(fallback->size(), 1u);
  expect_same((*fallback)[0], (*rows)[0]);
  LastKnown empty(dir.file("other"));
  auto none = certificates_or_last_known(**away, empty);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.code(), Errc::kUnavailable) << none.error();
}

}  // namespace
}  // namespace trackrelay::store
