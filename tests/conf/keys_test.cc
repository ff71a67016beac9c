// tests/conf/keys_test.cc — signing keys: ids, secrets, secret_file (relative
// to the configuration file's directory), rotation order, the example secret.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "conf/config.h"
#include "tests/conf/conf_test_util.h"

namespace trackrelay::conf {
namespace {

using testing::contains;
using testing::kSecret32;
using testing::Lines;
using testing::lines;
using testing::load;

std::string with_keys(const std::string& keys) {
  return "tracking:\n"
         "  system_domain: track.example.net\n"
         "  keys:\n" +
         keys;
}

// A fresh directory, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    path_ = std::filesystem::temp_directory_path() /
            ("trackrelay_conf_" + test + "_" + std::to_string(::getpid()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }
  std::string write(const std::string& name, const std::string& contents) const {
    const std::filesystem::path p = path_ / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << contents;
    return p.string();
  }

 private:
  std::filesystem::path path_;
};

TEST(Keys, FirstSignsAllKept) {
  const LoadResult r = load(with_keys("    - {id: new_2, secret: \"" + std::string(kSecret32) +
                                      "\"}\n"
                                      "    - {id: Old-1, secret: \"" +
                                      std::string(40, 'x') + "\"}\n"));
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(lines(r));
  ASSERT_EQ(r.config->keys.size(), 2u);
  EXPECT_EQ(r.config->keys[0].id, "new_2");
  EXPECT_EQ(r.config->keys[0].secret, kSecret32);
  EXPECT_EQ(r.config->keys[1].id, "Old-1");
  EXPECT_EQ(r.config->keys[1].secret, std::string(40, 'x'));
}

TEST(Keys, ShortSecret) {
  const LoadResult r =
      load(with_keys("    - id: k1\n"
                     "      secret: hunter2-but-longer-31-bytes-xxx\n"));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(lines(r), (Lines{"t.yaml:5:15: error: tracking.keys[0].secret: secret is 31 "
                             "bytes; at least 32 are required"}));
}

TEST(Keys, IdSyntax) {
  const std::string s = ", secret: " + std::string(kSecret32) + "}\n";
  const LoadResult r = load(with_keys("    - {id: 'bad id!'" + s +          // line 4
                                      "    - {id: abcdefghijklmnopq" + s +  // 17 bytes
                                      "    - {id: ''" + s +                 // empty
                                      "    - {id: abcdefghijklmnop" + s +   // 16: fine
                                      "    - {id: 7" + s));                 // fine
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(lines(r),
            (Lines{"t.yaml:4:12: error: tracking.keys[0].id: 'bad id!' is not a valid key id "
                   "(1-16 characters of A-Z a-z 0-9 _ -)",
                   "t.yaml:5:12: error: tracking.keys[1].id: 'abcdefghijklmnopq' is not a "
                   "valid key id (1-16 characters of A-Z a-z 0-9 _ -)",
                   "t.yaml:6:12: error: tracking.keys[2].id: '' is not a valid key id (1-16 "
                   "characters of A-Z a-z 0-9 _ -)"}));
}

TEST(Keys, DuplicateIds) {
  const std::string s = ", secret: " + std::string(kSecret32) + "}\n";
  const LoadResult r =
      load(with_keys("    - {id: k1" + s + "    - {id: k2" + s + "    - {id: k1" + s));
  EXPECT_EQ(lines(r), (Lines{"t.yaml:6:12: error: tracking.keys[2].id: duplicate key id "
                             "'k1' (first at 4:12)"}));
}

TEST(Keys, MissingId) {
  const LoadResult r = load(with_keys("    - secret: " + std::string(kSecret32) + "\n"));
  EXPECT_EQ(lines(r), (Lines{"t.yaml:4:7: error: missing required key 'tracking.keys[0].id'"}));
}

TEST(Keys, ExactlyOneOfSecretAndSecretFile) {
  const LoadResult r =
      load(with_keys("    - {id: a}\n"
                     "    - {id: b, secret: " +
                     std::string(kSecret32) + ", secret_file: /etc/b.secret}\n"));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(lines(r), (Lines{"t.yaml:4:7: error: tracking.keys[0]: missing secret or secret_file "
                             "(exactly one is required)",
                             "t.yaml:5:70: error: tracking.keys[1]: set exactly one of secret and "
                             "secret_file, not both"}));
}

TEST(Keys, SecretsNeverAppearInDiagnostics) {
  const LoadResult r = load(with_keys("    - {id: k1, secret: hunter2}\n"));
  ASSERT_FALSE(r.diagnostics.empty());
  for (const std::string& l : lines(r)) EXPECT_FALSE(contains(l, "hunter2"));
}

TEST(Keys, ExampleSecretIsAWarning) {
  const LoadResult r = load(
      with_keys("    - {id: k1, secret: example-secret-change-me-0123456789abcdefghijklmnop}\n"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(lines(r), (Lines{"t.yaml:4:24: warning: tracking.keys[0].secret: key 'k1' uses "
                             "the public example secret; replace it (openssl rand -base64 "
                             "48)"}));
}

TEST(SecretFile, RelativeToTheConfigFilesDirectory) {
  TempDir dir;
  dir.write("secrets/k1.secret", std::string(kSecret32) + "\n");
  const std::string conf =
      dir.write("trackrelay.yaml", with_keys("    - {id: k1, secret_file: secrets/k1.secret}\n"));
  const LoadResult r = load_file(conf);
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(lines(r));
  EXPECT_TRUE((r.diagnostics).empty());
  EXPECT_EQ(r.config->keys[0].secret, kSecret32);  // the trailing newline is not part of it
}

TEST(SecretFile, RelativeToBaseDirForStrings) {
  TempDir dir;
  dir.write("k.secret", std::string(kSecret32) + "\r\n");
  const LoadResult r =
      load(with_keys("    - {id: k1, secret_file: k.secret}\n"), dir.path().string());
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(lines(r));
  EXPECT_EQ(r.config->keys[0].secret, kSecret32);
}

TEST(SecretFile, AbsolutePath) {
  TempDir dir;
  const std::string secret = std::string(40, 's');
  const std::string path = dir.write("abs.secret", secret);
  const LoadResult r = load(with_keys("    - {id: k1, secret_file: '" + path + "'}\n"), "/");
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(lines(r));
  EXPECT_EQ(r.config->keys[0].secret, secret);
}

TEST(SecretFile, UnreadableSaysWhichFileAndWhy) {
  TempDir dir;
  const LoadResult r =
      load(with_keys("    - {id: k1, secret_file: missing.secret}\n"), dir.path().string());
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(lines(r),
            (Lines{"t.yaml:4:29: error: tracking.keys[0].secret_file: cannot read '" +
                   (dir.path() / "missing.secret").string() + "': No such file or directory"}));

  const LoadResult d = load(with_keys("    - {id: k1, secret_file: .}\n"), dir.path().string());
  ASSERT_EQ(lines(d).size(), 1u);
  EXPECT_TRUE(contains(lines(d)[0], "Is a directory"));
}

TEST(SecretFile, ShortContents) {
  TempDir dir;
  dir.write("short.secret", "abc\n");
  const LoadResult r =
      load(with_keys("    - {id: k1, secret_file: short.secret}\n"), dir.path().string());
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(lines(r), (Lines{"t.yaml:4:29: error: tracking.keys[0].secret_file: the secret "
                             "in '" +
                             (dir.path() / "short.secret").string() +
                             "' is 3 bytes; at least 32 are required"}));
}

}  // namespace
}  // namespace trackrelay::conf
