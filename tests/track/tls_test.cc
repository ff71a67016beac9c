// tests/track/tls_test.cc — track.certificates: clear errors for missing,
// unreadable, non-PEM and mismatched files; SNI name choice. Certificates
// are made by the openssl CLI in a temporary directory.
#include "track/tls.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>

namespace trackrelay::track {
namespace {

namespace fs = std::filesystem;

class Certs : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "trackrelay-tls-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    make("a", "click.example.com");
    make("b", "*.example.org");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void make(const std::string& name, const std::string& cn) {
    const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=" + cn +
                            " -keyout " + file(name + ".key") + " -out " + file(name + ".pem") +
                            " >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  std::string file(const std::string& name) const { return (fs::path(dir_) / name).string(); }
  std::string file_name(const std::string& name) const { return file(name); }
  conf::TrackCertificate cert(const std::string& name, std::vector<std::string> domains) const {
    return {std::move(domains), file(name + ".pem"), file(name + ".key")};
  }

  std::string dir_;
};

TEST_F(Certs, LoadsAndChoosesBySni) {
  auto set = CertificateSet::load(
      {cert("a", {"click.example.com", "Links.Example.NET"}), cert("b", {"*.example.org"})});
  ASSERT_TRUE(set.ok()) << set.error();
  EXPECT_EQ((*set)->choose("click.example.com"), 0u);
  EXPECT_EQ((*set)->choose("LINKS.example.net."), 0u);
  EXPECT_EQ((*set)->choose("t.example.org"), 1u);
  EXPECT_EQ((*set)->choose("a.b.example.org"), std::nullopt);  // a wildcard is one label
  EXPECT_EQ((*set)->choose("example.org"), std::nullopt);
  EXPECT_EQ((*set)->choose("unknown.test"), std::nullopt);  // no default certificate
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST_F(Certs, StoreCertificatesYieldToTheFile) {
  make("c", "t.example.org");
  auto file = CertificateSet::load_files({cert("b", {"*.example.org"})});
  ASSERT_TRUE(file.ok()) << file.error();
  auto covered = CertificateSet::from_pem(
      {"t.example.org", slurp(file_name("c.pem")), slurp(file_name("c.key"))});
  auto own = CertificateSet::from_pem(
      {"click.example.com", slurp(file_name("a.pem")), slurp(file_name("a.key"))});
  ASSERT_TRUE(covered.ok()) << covered.error();
  ASSERT_TRUE(own.ok()) << own.error();
  std::vector<CertificateSet::Entry> stored;
  stored.push_back(std::move(covered).value());
  stored.push_back(std::move(own).value());
  auto set = CertificateSet::make(std::move(file).value(), std::move(stored));
  EXPECT_EQ(set->size(), 2u);                   // t.example.org's store copy is left out
  EXPECT_EQ(set->choose("t.example.org"), 0u);  // the file's wildcard
  EXPECT_EQ(set->choose("click.example.com"), 1u);

  auto mismatch = CertificateSet::from_pem(
      {"x.example.com", slurp(file_name("a.pem")), slurp(file_name("b.key"))});
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.error().find("does not match"), std::string::npos) << mismatch.error();
}

TEST_F(Certs, ClearErrors) {
  auto none = CertificateSet::load({});  // ACME or the API may add certificates later
  ASSERT_TRUE(none.ok()) << none.error();
  EXPECT_EQ((*none)->choose("click.example.com"), std::nullopt);

  auto missing = CertificateSet::load(
      {cert("a", {"x.example.com"}), {{"y.example.com"}, file("nope.pem"), file("a.key")}});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("track.certificates[1]"), std::string::npos) << missing.error();
  EXPECT_NE(missing.error().find("nope.pem"), std::string::npos) << missing.error();
  EXPECT_NE(missing.error().find("No such file"), std::string::npos) << missing.error();

  auto missing_key = CertificateSet::load({{{"x.example.com"}, file("a.pem"), file("nope.key")}});
  ASSERT_FALSE(missing_key.ok());
  EXPECT_NE(missing_key.error().find("nope.key"), std::string::npos) << missing_key.error();

  std::ofstream(file("garbage.pem")) << "not a certificate\n";
  auto garbage = CertificateSet::load({{{"x.example.com"}, file("garbage.pem"), file("a.key")}});
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.error().find("garbage.pem"), std::string::npos) << garbage.error();

  auto mismatch = CertificateSet::load({{{"x.example.com"}, file("a.pem"), file("b.key")}});
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.error().find("does not match"), std::string::npos) << mismatch.error();

  if (geteuid() != 0) {  // root reads anything
    fs::permissions(file("a.key"), fs::perms::none);
    auto unreadable = CertificateSet::load({cert("a", {"x.example.com"})});
    ASSERT_FALSE(unreadable.ok());
    EXPECT_NE(unreadable.error().find("Permission denied"), std::string::npos)
        << unreadable.error();
  }
}

}  // namespace
}  // namespace trackrelay::track
