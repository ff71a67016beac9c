// The `trackrelay` program as operators use it: exit codes, stdin/stdout,
// diagnostics. Runs the real binary.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

struct Ran {
  int status = -1;
  std::string out;
};

// Runs a shell command line; stdout captured, stderr merged when asked.
Ran run(const std::string& cmd) {
  Ran r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  std::size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string bin() {
  return TRACKRELAY_BINARY;
}
std::string src(const std::string& rel) {
  return std::string(TRACKRELAY_SOURCE_DIR) + "/" + rel;
}

std::string temp_file(const std::string& name, const std::string& content) {
  auto p = std::filesystem::temp_directory_path() / ("trackrelay-cli-" + name);
  std::ofstream(p, std::ios::binary) << content;
  return p.string();
}

TEST(Cli, CheckBuiltInAndExampleFile) {
  auto r = run(bin() + " check 2>&1");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("OK"), std::string::npos);
  auto f = run(bin() + " --config " + src("conf/trackrelay.example.yaml") + " check 2>&1");
  EXPECT_EQ(f.status, 0) << f.out;
}

TEST(Cli, CheckReportsFileLineColumnAndFails) {
  std::string path = temp_file("bad.yaml",
                               "tracking:\n"
                               "  system_domain: track.example.net\n"
                               "  keys: [{id: k1, secret: short}]\n"
                               "  tracking_domains:\n"
                               "    - {domain: example.com}\n");
  auto r = run(bin() + " --config " + path + " check 2>&1");
  EXPECT_EQ(r.status, 78) << r.out;
  EXPECT_NE(r.out.find(path + ":3:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(path + ":5:"), std::string::npos) << r.out;
}

// A store that does not exist is "no input" (EX_NOINPUT), any other store
// failure an I/O error (EX_IOERR): app/events.cc tells them apart by the
// error's code (Errc::kNotFound), not by its text.
TEST(Cli, EventsTellsAMissingStoreFromABrokenOne) {
  const auto dir = std::filesystem::temp_directory_path() / "trackrelay-cli-events";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string tracking =
      "tracking:\n  system_domain: track.example.net\n  keys:\n"
      "    - {id: k1, secret: \"0123456789abcdef0123456789abcdef\"}\n";
  const std::string absent =
      temp_file("events-absent.yaml", tracking + "store: " + (dir / "absent.db").string() + "\n");
  auto missing = run(bin() + " --config " + absent + " events 2>&1");
  EXPECT_EQ(missing.status, 66) << missing.out;
  EXPECT_NE(missing.out.find("no event store"), std::string::npos) << missing.out;
  std::ofstream(dir / "garbage.db", std::ios::binary) << std::string(4096, 'x');
  const std::string garbage =
      temp_file("events-garbage.yaml", tracking + "store: " + (dir / "garbage.db").string() + "\n");
  auto broken = run(bin() + " --config " + garbage + " events 2>&1");
  EXPECT_EQ(broken.status, 74) << broken.out;
  std::filesystem::remove_all(dir);
}

// `store: postgresql://…` (issue 15): check accepts it, and keys create,
// list and revoke work on the database (a real PostgreSQL started by
// tests/support/pgserver.py; one that cannot start fails the test).
TEST(Cli, KeysOnAPostgresqlStore) {
  const std::string name = "cli_keys_" + std::to_string(getpid());
  auto db = run("python3 " + src("tests/support/pgserver.py") + " createdb " + TRACKRELAY_PG_DIR +
                " " + name + " 2>&1");
  ASSERT_EQ(db.status, 0) << db.out;
  const std::string uri = db.out.substr(0, db.out.find('\n'));
  ASSERT_EQ(uri.rfind("postgresql://", 0), 0u) << db.out;
  const std::string config =
      temp_file("pg.yaml",
                "tracking:\n  system_domain: track.example.net\n  keys:\n"
                "    - {id: k1, secret: \"0123456789abcdef0123456789abcdef\"}\nstore: " +
                    uri + "\n");
  const std::string tr = bin() + " --config " + config + " ";
  auto checked = run(tr + "check 2>&1");
  EXPECT_EQ(checked.status, 0) << checked.out;
  auto created = run(tr + "keys create --label pg-ops 2>/dev/null");
  ASSERT_EQ(created.status, 0) << created.out;
  EXPECT_EQ(created.out.size(), 41u) << created.out;  // 40 hex digits and a newline
  auto listed = run(tr + "keys list 2>&1");
  EXPECT_EQ(listed.status, 0) << listed.out;
  EXPECT_NE(listed.out.find("pg-ops"), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find(created.out.substr(0, 8)), std::string::npos) << listed.out;
  EXPECT_EQ(run(tr + "keys revoke 1 2>&1").status, 0);
  EXPECT_EQ(run(tr + "keys list 2>&1").out.find("pg-ops"), std::string::npos);
}

TEST(Cli, UsageErrors) {
  EXPECT_EQ(run(bin() + " 2>/dev/null").status, 64);
  EXPECT_EQ(run(bin() + " frobnicate 2>/dev/null").status, 64);
  EXPECT_EQ(run(bin() + " rewrite --bogus 2>/dev/null </dev/null").status, 64);
  EXPECT_EQ(run(bin() + " --config /nonexistent/x.yaml check 2>/dev/null").status, 78);
}

TEST(Cli, RewriteThenDecodeTheSample) {
  std::string out = temp_file("welcome.out", "");
  auto r = run(bin() + " rewrite --mail-from news@example.com --rcpt alice@example.net < " +
               src("examples/welcome.eml") + " > " + out + " 2>/dev/null");
  ASSERT_EQ(r.status, 0);
  std::ifstream in(out, std::ios::binary);
  std::string msg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(msg.find("X-MSYS-API"), std::string::npos);
  auto pos = msg.find("https://click.example.com/f/");
  ASSERT_NE(pos, std::string::npos);
  std::string url = msg.substr(pos, msg.find_first_of("\r\n \"<>)", pos) - pos);
  auto d = run(bin() + " decode '" + url + "'");
  EXPECT_EQ(d.status, 0) << d.out;
  EXPECT_NE(d.out.find(
                "\"target\":\"https://www.example.com/start?utm_source=welcome&utm_medium=email\""),
            std::string::npos)
      << d.out;
  EXPECT_NE(d.out.find("\"campaign_id\":\"welcome-series\""), std::string::npos);
  EXPECT_NE(d.out.find("\"rcpt_to\":\"alice@example.net\""), std::string::npos);
}

TEST(Cli, DecodeRejectsForgedAndForeignHostUrls) {
  std::string out = temp_file("welcome2.out", "");
  ASSERT_EQ(run(bin() + " rewrite < " + src("examples/welcome.eml") + " > " + out + " 2>/dev/null")
                .status,
            0);
  std::ifstream in(out, std::ios::binary);
  std::string msg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto pos = msg.find("https://click.example.com/f/");
  ASSERT_NE(pos, std::string::npos);
  std::string url = msg.substr(pos, msg.find_first_of("\r\n \"<>)", pos) - pos);
  std::string other_host = "https://links.example.org" + url.substr(url.find("/f/"));
  auto a = run(bin() + " decode '" + other_host + "' 2>&1");
  EXPECT_EQ(a.status, 65);
  EXPECT_NE(a.out.find("does not verify"), std::string::npos) << a.out;
  std::string flipped = url;
  flipped[flipped.size() - 5] = flipped[flipped.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(run(bin() + " decode '" + flipped + "' 2>/dev/null").status, 65);
  EXPECT_EQ(run(bin() + " decode https://click.example.com/x/abc 2>/dev/null").status, 65);
  // Several URLs: one line per valid URL, in order, non-zero exit when any fails.
  auto both = run(bin() + " decode '" + url + "' '" + flipped + "' 2>/dev/null");
  EXPECT_EQ(both.status, 65);
  EXPECT_EQ(std::count(both.out.begin(), both.out.end(), '\n'), 1);
}

TEST(Cli, MalformedMsysApiExitsNonZeroWithTheParserMessage) {
  std::string msg = temp_file("bad-msys.eml",
                              "From: a@example.com\r\nX-MSYS-API: {\"options\": \r\n"
                              "Content-Type: text/plain\r\n\r\nhttps://x.example/\r\n");
  auto r = run(bin() + " rewrite < " + msg + " 2>&1 >/dev/null");
  EXPECT_EQ(r.status, 65);
  EXPECT_NE(r.out.find("X-MSYS-API: invalid JSON"), std::string::npos) << r.out;
}

// Issue 18: per message, candidates vs tracked and every untracked link
// with its part and reason on stderr; an 8bits part is tracked, its field kept.
TEST(Cli, RewriteReportsLinkCoverage) {
  std::string msg =
      temp_file("coverage.eml",
                "From: a@example.com\r\nMessage-ID: <c1@example.com>\r\nMIME-Version: 1.0\r\n"
                "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
                "--b\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: 8bits\r\n\r\n"
                "<a href=\"https://shop.example/\">s</a><a href=\"https://x.example/{{id}}\">p</a>"
                "<a href=\"https://o.example/\" data-msys-clicktrack=\"0\">o</a>\r\n"
                "--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: x-uue\r\n\r\n"
                "see https://left.example/\r\n--b--\r\n");
  std::string out = temp_file("coverage.out", "");
  auto r = run(bin() + " rewrite < " + msg + " 2>&1 >" + out);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("links: tracked 1 of 3 candidates; 2 left untracked, 1 opted out"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("part 1: link left untracked (template placeholder): "
                       "https://x.example/{{id}}"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("part 2: link left untracked (part left alone: unknown transfer "
                       "encoding x-uue): https://left.example/"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("part 1: link opted out"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("links_tracked=1 "), std::string::npos) << r.out;
  std::ifstream in(out, std::ios::binary);
  std::string rewritten((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(rewritten.find("Content-Transfer-Encoding: 8bits\r\n"), std::string::npos);
  EXPECT_NE(rewritten.find("https://click.example.com/f/"), std::string::npos);
}

}  // namespace
