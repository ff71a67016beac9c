// tests/acme/pem_test.cc — the CSR (names in subjectAltName, signed by the
// certificate key), reading a chain's leaf, and the checks an uploaded
// certificate must pass. Certificates are made by the openssl CLI.
#include "acme/pem.h"

#include <gtest/gtest.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace trackrelay::acme {
namespace {

namespace fs = std::filesystem;

TEST(AcmeCsr, NamesAndSignature) {
  auto key = Key::generate();
  ASSERT_TRUE(key.ok());
  auto der = make_csr(*key, {"click.example.com", "links.example.com"});
  ASSERT_TRUE(der.ok()) << der.error();
  const auto* p = reinterpret_cast<const unsigned char*>(der->data());
  X509_REQ* req = d2i_X509_REQ(nullptr, &p, static_cast<long>(der->size()));
  ASSERT_NE(req, nullptr);
  EXPECT_EQ(X509_REQ_verify(req, key->get()), 1);
  auto other = Key::generate();
  EXPECT_NE(X509_REQ_verify(req, other->get()), 1);
  STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req);
  std::vector<std::string> names;
  for (int i = 0; i < sk_X509_EXTENSION_num(exts); ++i) {
    X509_EXTENSION* e = sk_X509_EXTENSION_value(exts, i);
    if (OBJ_obj2nid(X509_EXTENSION_get_object(e)) != NID_subject_alt_name) continue;
    auto* gens = static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(e));
    for (int j = 0; j < sk_GENERAL_NAME_num(gens); ++j) {
      const GENERAL_NAME* g = sk_GENERAL_NAME_value(gens, j);
      if (g->type == GEN_DNS) {
        names.emplace_back(reinterpret_cast<const char*>(g->d.dNSName->data), g->d.dNSName->length);
      }
    }
    GENERAL_NAMES_free(gens);
  }
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  X509_REQ_free(req);
  EXPECT_EQ(names, (std::vector<std::string>{"click.example.com", "links.example.com"}));
  EXPECT_FALSE(make_csr(*key, {}).ok());
}

class Uploads : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "trackrelay-pem-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    make("a", "click.example.com");
    make("b", "*.example.org");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void make(const std::string& name, const std::string& san) {
    const std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "
        "/CN=test -addext subjectAltName=DNS:" +
        san + " -keyout " + path(name + ".key") + " -out " + path(name + ".pem") +
        " >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  std::string path(const std::string& name) const { return (fs::path(dir_) / name).string(); }
  std::string read(const std::string& name) const {
    std::ifstream in(path(name));
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  std::string dir_;
};

TEST_F(Uploads, InspectReadsTheLeaf) {
  auto info = inspect(read("a.pem"));
  ASSERT_TRUE(info.ok()) << info.error();
  EXPECT_EQ(info->names, std::vector<std::string>{"click.example.com"});
  EXPECT_GT(info->not_after_ms, info->not_before_ms);
  EXPECT_NEAR(static_cast<double>(info->not_after_ms - info->not_before_ms), 2 * 86400000.0,
              60000.0);
  EXPECT_FALSE(info->serial.empty());
  EXPECT_FALSE(inspect("garbage").ok());
}

TEST_F(Uploads, ChecksKeyNameAndValidity) {
  auto info = inspect(read("a.pem"));
  ASSERT_TRUE(info.ok());
  const std::int64_t now = info->not_before_ms + 1000;
  auto good = check_certificate("Click.Example.COM", read("a.pem"), read("a.key"), now);
  EXPECT_TRUE(good.ok()) << good.error();

  auto wild = check_certificate("t.example.org", read("b.pem"), read("b.key"), now);
  EXPECT_TRUE(wild.ok()) << wild.error();
  auto deep = check_certificate("a.t.example.org", read("b.pem"), read("b.key"), now);
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.error().find("does not name a.t.example.org"), std::string::npos) << deep.error();

  auto mismatch = check_certificate("click.example.com", read("a.pem"), read("b.key"), now);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.error(), "the key does not match the certificate");

  auto name = check_certificate("other.example.com", read("a.pem"), read("a.key"), now);
  ASSERT_FALSE(name.ok());
  EXPECT_NE(name.error().find("(its names: click.example.com)"), std::string::npos) << name.error();

  auto expired =
      check_certificate("click.example.com", read("a.pem"), read("a.key"), info->not_after_ms + 1);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error(), "the certificate has expired");

  EXPECT_FALSE(check_certificate("click.example.com", "junk", read("a.key"), now).ok());
  EXPECT_FALSE(check_certificate("click.example.com", read("a.pem"), "junk", now).ok());
}

}  // namespace
}  // namespace trackrelay::acme
