// tests/conf/table_test.cc — the key table is the one source of defaults and
// of the checked kinds: every struct default in config.h equals the table's
// documented default, and each checked kind refuses its bad values at the
// key's file:line:col (tests/conf/check_test.py drives the same classes
// through `trackrelay check`, `serve` and reload).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "conf/internal.h"
#include "tests/conf/conf_test_util.h"

namespace trackrelay::conf {
namespace {

using testing::any_contains;
using testing::errors;
using testing::load;
using testing::minimal_yaml;

// A bound field's value, written the way the table documents defaults.
struct Show {
  std::string operator()(std::monostate) const { return "?"; }
  std::string operator()(std::string* p) const { return *p; }
  std::string operator()(bool* p) const { return *p ? "true" : "false"; }
  std::string operator()(int* p) const { return std::to_string(*p); }
  std::string operator()(std::size_t* p) const { return std::to_string(*p); }
  std::string operator()(std::optional<uint16_t>* p) const { return *p ? std::to_string(**p) : ""; }
  std::string operator()(std::vector<std::string>* p) const {
    if (p->empty()) return "";
    std::string out = "[";
    for (const std::string& s : *p) out += (out.size() > 1 ? ", " : "") + s;
    return out + "]";
  }
};

TEST(Table, StructDefaultsEqualTheTable) {
  int compared = 0;
  for (const internal::KeySpec& k : internal::key_table()) {
    if (k.bind == nullptr || k.kind == internal::Kind::kList) continue;
    Config c;
    // Keys below "x[]" bind x.back(): create the item the way the loader does.
    const std::size_t item = k.path.find("[]");
    if (item != std::string_view::npos) {
      const internal::KeySpec* list = internal::find_key(k.path.substr(0, item));
      ASSERT_NE(list, nullptr) << k.path;
      list->bind(c);
    }
    EXPECT_EQ(std::visit(Show{}, k.bind(c)), k.default_value) << k.path;
    ++compared;
  }
  EXPECT_GT(compared, 60);
}

TEST(Table, EnumsListTheirChoicesAndDefault) {
  for (const internal::KeySpec& k : internal::key_table()) {
    if (k.kind != internal::Kind::kEnum) continue;
    const auto choices = internal::enum_choices(k.path);
    EXPECT_GE(choices.size(), 2u) << k.path;
    EXPECT_NE(std::find(choices.begin(), choices.end(), k.default_value), choices.end()) << k.path;
  }
}

struct BadValue {
  const char* tail;  // appended to the minimal configuration
  const char* want;  // in the error
};

class Refused : public ::testing::TestWithParam<BadValue> {};

TEST_P(Refused, AtTheKeysLine) {
  const std::string yaml = minimal_yaml("", GetParam().tail);
  const LoadResult r = load(yaml);
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(any_contains(errors(r), GetParam().want));
  EXPECT_TRUE(any_contains(errors(r), "t.yaml:7:")) << "the bad value is on line 7";
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, Refused,
    ::testing::Values(
        BadValue{"relay:\n  listen: 127.0.0.1:65536\n  upstream: maildir:o\n", "relay.listen"},
        BadValue{"relay:\n  listen: example.com:25\n  upstream: maildir:o\n", "not an IP"},
        BadValue{"relay:\n  upstream: mx.example.net\n", "relay.upstream"},
        BadValue{"relay:\n  clients: [10.0.0.0/40]\n", "relay.clients"},
        BadValue{"relay:\n  upstream_tls: yes\n",
                 "relay.upstream_tls: expected none, opportunistic or required, got 'yes'"},
        BadValue{"relay:\n  auth: [nohash]\n", "relay.auth"},
        BadValue{"relay:\n  require_tls: true\n", "relay.require_tls"},
        BadValue{"relay:\n  tls_key: k.pem\n", "relay.tls_key"},
        BadValue{"track:\n  tls_listen: 127.0.0.1:0\n", "track.certificates"},
        BadValue{"track:\n  trusted_proxies: [x]\n", "track.trusted_proxies"},
        BadValue{"api:\n  listen: 1.2.3.4\n", "api.listen"},
        BadValue{"dns:\n  resolvers: ['[::1']\n", "dns.resolvers"},
        BadValue{"dashboard:\n  admin_password_hash: md5$x\n", "dashboard.admin_password_hash"},
        BadValue{"rewrite:\n  html_scanner: regex\n", "expected fast or gumbo, got 'regex'"}));

TEST(Store, ABadUriIsRefusedAtItsLine) {
  for (auto [tail, want] :
       {std::pair{"store: 'postgresql://u:hunter2@[::1/db'\n", "store: invalid PostgreSQL URI"},
        {"store: postgresql://h/db?nosuchoption=1\n", "invalid URI query parameter"},
        {"store: mysql://h/db\n", "unsupported store URI scheme 'mysql'"}}) {
    const LoadResult r = load(minimal_yaml("", tail));
    EXPECT_FALSE(r.ok()) << tail;
    EXPECT_TRUE(any_contains(errors(r), want));
    EXPECT_TRUE(any_contains(errors(r), "t.yaml:6:8: error: store:")) << "the value's line:col";
  }
}

TEST(Store, APostgresqlUriIsKeptAsItIsAndItsPasswordNeverShown) {
  const LoadResult r =
      load(minimal_yaml(
               "", "store: postgresql://tr:pw@db.example.net:5433/trackrelay?sslmode=require\n"),
           "/etc/trackrelay");
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(testing::lines(r));
  EXPECT_EQ(r.config->store, "postgresql://tr:pw@db.example.net:5433/trackrelay?sslmode=require");
  const LoadResult short_scheme = load(minimal_yaml("", "store: postgres:///trackrelay\n"));
  ASSERT_TRUE(short_scheme.ok());
  EXPECT_EQ(short_scheme.config->store, "postgres:///trackrelay");
  const LoadResult bad = load(minimal_yaml("", "store: 'postgresql://u:hunter2@[::1/db'\n"));
  ASSERT_FALSE(bad.ok());
  for (const std::string& e : errors(bad)) EXPECT_EQ(e.find("hunter2"), std::string::npos) << e;
  EXPECT_TRUE(any_contains(errors(bad), "postgresql://u@[::1/db")) << "the URI, without password";
}

TEST(Paths, RelativePathsResolveAgainstTheBaseDirectory) {
  const LoadResult r = load(minimal_yaml("",
                                         "relay:\n  upstream: maildir:out\n"
                                         "store: db/events.db\n"),
                            "/etc/trackrelay");
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(testing::lines(r));
  EXPECT_EQ(r.config->store, "/etc/trackrelay/db/events.db");
  EXPECT_EQ(r.config->relay.upstream, "maildir:/etc/trackrelay/out");
  const LoadResult abs = load(minimal_yaml("", "store: /var/lib/trackrelay/e.db\n"), "/etc/x");
  ASSERT_TRUE(abs.ok());
  EXPECT_EQ(abs.config->store, "/var/lib/trackrelay/e.db");
  // The built-in example's rule: "." leaves them relative to the working directory.
  const LoadResult here = load(minimal_yaml("", "store: var/e.db\n"), ".");
  ASSERT_TRUE(here.ok());
  EXPECT_EQ(here.config->store, "var/e.db");
}

TEST(Paths, LoadFileResolvesAgainstTheFilesDirectory) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("trackrelay-table-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir / "secret") << "0123456789abcdef0123456789abcdef-file\n";
    std::ofstream(dir / "c.yaml") << "tracking:\n  system_domain: track.example.net\n"
                                     "  keys:\n    - {id: k1, secret_file: secret}\n"
                                     "store: e.db\n";
  }
  const LoadResult r = load_file((dir / "c.yaml").string());
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(testing::lines(r));
  EXPECT_EQ(r.config->store, (dir / "e.db").string());
  EXPECT_EQ(r.config->keys[0].secret, "0123456789abcdef0123456789abcdef-file");
}

TEST(ExampleSecret, RefusedUnlessEveryListenerIsOnLoopback) {
  const std::string keys =
      "tracking:\n  system_domain: track.example.net\n  keys:\n"
      "    - {id: k1, secret: \"" +
      std::string(internal::kExampleSecret) + "\"}\n";
  const LoadResult loopback =
      load(keys +
           "track:\n  listen: [127.0.0.1:8080, '[::1]:8080', 'localhost:1']\n"
           "api:\n  listen: 127.0.0.1:8025\n");
  EXPECT_TRUE(loopback.ok()) << ::testing::PrintToString(testing::lines(loopback));
  for (const char* exposed : {"track:\n  listen: 0.0.0.0:80\n", "api:\n  listen: '*:8025'\n",
                              "track:\n  tls_listen: '[::]:443'\n",
                              "relay:\n  listen: 192.0.2.1:25\n  upstream: maildir:o\n"}) {
    const LoadResult r = load(keys + exposed);
    EXPECT_FALSE(r.ok()) << exposed;
    EXPECT_TRUE(any_contains(errors(r), "t.yaml:4:")) << exposed;
    EXPECT_TRUE(any_contains(errors(r), "public example secret")) << exposed;
  }
}

// Certificates made by the openssl command (as tests/conf/check_test.py and
// tests/track/serve_test.py do), checked in-process so the sanitizer build
// covers conf/validate.cc's OpenSSL code.
class Certificates : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("trackrelay-certs-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    for (const char* name : {"click", "other"}) {
      const std::string cn = std::string(name) + ".example.com";
      const std::string cmd =
          "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
          " -subj /CN=" +
          cn + " -addext subjectAltName=DNS:" + cn + " -keyout " +
          (dir_ / (std::string(name) + ".key")).string() + " -out " +
          (dir_ / (std::string(name) + ".pem")).string() + " >/dev/null 2>&1";
      ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    }
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  LoadResult with_track(const std::string& track) {
    return load(minimal_yaml("", "track:\n" + track), dir_.string());
  }

  std::filesystem::path dir_;
};

TEST_F(Certificates, MatchingAndCoveringLoads) {
  const LoadResult r = with_track(
      "  tls_listen: 127.0.0.1:0\n"
      "  certificates: [{domains: [click.example.com], cert: click.pem, key: click.key}]\n");
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(testing::lines(r));
  EXPECT_EQ(r.config->track.certificates[0].cert, (dir_ / "click.pem").string());
}

TEST_F(Certificates, EachProblemIsAnErrorAtItsKey) {
  struct Row {
    const char* item;
    const char* want;
  };
  for (const Row& row : {
           Row{"{domains: [click.example.com], cert: click.pem, key: other.key}",
               "t.yaml:8:60: error: track.certificates[0].key: '"},
           Row{"{domains: [click.example.com], cert: click.pem, key: other.key}",
               "other.key' does not match certificate '"},
           Row{"{domains: [links.example.org], cert: click.pem, key: click.key}",
               "does not cover 'links.example.org' (its names: click.example.com)"},
           Row{"{domains: ['*.example.com'], cert: click.pem, key: click.key}",
               "does not cover '*.example.com'"},
           Row{"{domains: [click.example.com], cert: none.pem, key: click.key}",
               "track.certificates[0].cert: cannot read"},
           Row{"{domains: [click.example.com], cert: click.key, key: click.key}",
               "is not a PEM certificate chain"},
           Row{"{domains: [click.example.com], cert: click.pem, key: click.pem}",
               "is not a usable PEM private key"},
       }) {
    const LoadResult r = with_track(std::string("  certificates:\n    - ") + row.item + "\n");
    EXPECT_FALSE(r.ok()) << row.item;
    EXPECT_TRUE(any_contains(errors(r), row.want)) << row.item;
  }
}

TEST(Builtin, TheBuiltInExampleLoads) {
  const LoadResult r = load_string(builtin_example_yaml(), "<built-in example>");
  ASSERT_TRUE(r.ok()) << ::testing::PrintToString(testing::lines(r));
  EXPECT_EQ(r.config->store, "var/trackrelay.db");
}

}  // namespace
}  // namespace trackrelay::conf
