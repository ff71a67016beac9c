// bench/rewrite.cc — how much the whole rewrite costs over gumbo's parse.
//
// Over the corpus (every ../shared/corpus/mime message, and every HTML body
// wrapped in a quoted-printable message), measures in the same process:
//   parse-only  gumbo_parse on every HTML leaf the engine would scan (decoded)
//   link scan   each LinkScanner on the same parts: gumbo (guard, gumbo, tree
//               walk) and fast (tokenizer; delegates odd parts to gumbo)
//   rewrite     the whole engine on every message (MIME, decode, scan, tokens,
//               re-encode, splice, re-parse check), with each scanner
// and prints MB/s, messages/s and the ratio rewrite/gumbo-parse-only. Rounds are
// interleaved (parse, rewrite, parse, ...) and the median round is reported,
// since these machines are noisy. Not a test: no assertion on time.
// Then link coverage over the same messages (rewrite/coverage.h):
//   links: tracked X of Y candidates (Z %)
// followed by the untracked candidates grouped by reason (digits folded);
// with BENCH_LIST_UNTRACKED set, every untracked link (message id, part,
// reason, URL; tab-separated) to look at the classes.
//
// With BENCH_PROFILE_ENGINE=N set, runs only the whole engine (fast scanner)
// N times over the corpus and prints nothing: the loop to `perf record`.
//
// usage: bench_rewrite [ROUNDS] [CORPUS_DIR]
#include <gumbo.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "conf/config.h"
#include "mime/codec.h"
#include "mime/structure.h"
#include "rewrite/engine.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
namespace tr = trackrelay;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// "tracked URL would be 2113 characters" and "... 2200 ..." are one class.
std::string reason_class(const std::string& reason) {
  std::string out;
  for (char c : reason) {
    if (c >= '0' && c <= '9') {
      if (out.empty() || out.back() != 'N') out.push_back('N');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// CPU time of this thread: on a shared machine wall time also counts the
// time other processes hold the core, so per-core rates use this one.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The corpus as messages: every mime/*.eml, and every html/*.html wrapped in
// a quoted-printable text/html message.
std::vector<std::string> load_messages(const fs::path& corpus) {
  std::vector<std::string> messages;
  for (const auto& e : fs::directory_iterator(corpus / "mime")) {
    if (e.path().extension() == ".eml") messages.push_back(read_file(e.path()));
  }
  for (const auto& e : fs::directory_iterator(corpus / "html")) {
    if (e.path().extension() != ".html") continue;
    messages.push_back(
        "From: a@example.com\r\nMessage-ID: <b@example.com>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: "
        "quoted-printable\r\n\r\n" +
        tr::mime::qp_encode(read_file(e.path()), "\r\n"));
  }
  return messages;
}

// The HTML the engine scans: decoded text/html leaves within the limits.
std::vector<std::string> html_parts(const std::vector<std::string>& messages,
                                    const tr::conf::Config& config) {
  std::vector<std::string> html;
  for (const auto& m : messages) {
    auto s = tr::mime::analyse(m);
    if (!s) continue;
    for (const auto& leaf : s->leaves) {
      if (leaf.media_type != "text/html") continue;
      auto d = tr::mime::decode_body(std::string_view(m).substr(leaf.body_offset, leaf.body_length),
                                     leaf.encoding);
      if (d && d->size() <= config.rewrite.max_html_part_bytes) html.push_back(std::move(*d));
    }
  }
  return html;
}

std::size_t total_bytes(const std::vector<std::string>& v) {
  std::size_t n = 0;
  for (const auto& s : v) n += s.size();
  return n;
}

struct Bench {
  Bench(const tr::conf::Config& c, const std::vector<std::string>& m,
        const std::vector<std::string>& h, tr::rewrite::LinkScanner& g, tr::rewrite::LinkScanner& f)
      : config(c), messages(m), html(h), gumbo(g), fast(f) {}

  const tr::conf::Config& config;
  const std::vector<std::string>& messages;
  const std::vector<std::string>& html;
  tr::rewrite::LinkScanner& gumbo;
  tr::rewrite::LinkScanner& fast;
  tr::rewrite::Envelope env{"a@example.com", {"r@example.net"}};
  std::size_t sink = 0;

  // Seconds per round of each measure (wall clock; the fast ones also in thread CPU time).
  std::vector<double> parse_s, scan_s, rewrite_s, fast_scan_s, fast_rewrite_s;
  std::vector<double> fast_scan_cpu, fast_rewrite_cpu;

  void rewrite_all(tr::rewrite::LinkScanner& scanner) {
    for (const auto& m : messages) {
      auto res = tr::rewrite::rewrite_message(m, env, config, scanner, 1795000000);
      if (res) sink += res->message.size();
    }
  }
  void scan_all(tr::rewrite::LinkScanner& scanner) {
    for (const auto& h : html) {
      auto scanned = scanner.scan(h);
      if (scanned) sink += scanned->links.size();
    }
  }
  void parse_all() {
    for (const auto& h : html) {
      GumboOptions opts = kGumboDefaultOptions;
      opts.max_errors = config.rewrite.max_html_parse_errors;
      GumboOutput* out = gumbo_parse_with_options(&opts, h.data(), h.size());
      sink += out->errors.length;
      gumbo_destroy_output(&opts, out);
    }
  }
  void round() {
    auto seconds = [](Clock::time_point a, Clock::time_point b) {
      return std::chrono::duration<double>(b - a).count();
    };
    auto t0 = Clock::now();
    parse_all();
    auto t1 = Clock::now();
    scan_all(gumbo);
    auto t1b = Clock::now();
    rewrite_all(gumbo);
    auto t2 = Clock::now();
    const double c2 = thread_cpu_seconds();
    scan_all(fast);
    auto t3 = Clock::now();
    const double c3 = thread_cpu_seconds();
    rewrite_all(fast);
    auto t4 = Clock::now();
    const double c4 = thread_cpu_seconds();
    fast_scan_cpu.push_back(c3 - c2);
    fast_rewrite_cpu.push_back(c4 - c3);
    parse_s.push_back(seconds(t0, t1));
    scan_s.push_back(seconds(t1, t1b));
    rewrite_s.push_back(seconds(t1b, t2));
    fast_scan_s.push_back(seconds(t2, t3));
    fast_rewrite_s.push_back(seconds(t3, t4));
  }
};

// The speed lines (bench/rewrite's interface: keep their wording).
void print_speed(const Bench& b, std::size_t message_bytes, std::size_t html_bytes,
                 std::size_t delegated, int rounds) {
  double p = median(b.parse_s), sc = median(b.scan_s), w = median(b.rewrite_s);
  double fsc = median(b.fast_scan_s), fw = median(b.fast_rewrite_s);
  std::printf("corpus: %zu messages (%.1f MB), %zu HTML parts (%.1f MB); %d rounds, median\n",
              b.messages.size(), message_bytes / 1e6, b.html.size(), html_bytes / 1e6, rounds);
  std::printf("gumbo parse only : %8.2f MB/s of HTML  %8.1f parts/s     %.3f s\n",
              html_bytes / 1e6 / p, b.html.size() / p, p);
  std::printf("link scan (gumbo + guard + walk): %8.2f MB/s of HTML  %.3f s\n",
              html_bytes / 1e6 / sc, sc);
  std::printf("link scan (fast; %zu of %zu parts delegated to gumbo): %8.2f MB/s of HTML  %.3f s\n",
              delegated, b.html.size(), html_bytes / 1e6 / fsc, fsc);
  std::printf("whole rewrite, gumbo scanner: %8.2f MB/s of mail  %8.1f messages/s  %.3f s\n",
              message_bytes / 1e6 / w, b.messages.size() / w, w);
  std::printf("whole rewrite, fast scanner : %8.2f MB/s of mail  %8.1f messages/s  %.3f s\n",
              message_bytes / 1e6 / fw, b.messages.size() / fw, fw);
  std::printf(
      "ratio rewrite / gumbo parse-only time: gumbo scanner %.2fx, fast scanner %.2fx "
      "(goal: <= 1.2x)\n",
      w / p, fw / p);
  // The engine row of issue 12: MB/s of the HTML it rewrites, and its time
  // over the fast scanner's alone on the same HTML (1.0x: nothing but the scan).
  std::printf("engine (fast scanner): %8.2f MB/s of HTML  engine / fast scan alone: %.2fx\n",
              html_bytes / 1e6 / fw, fw / fsc);
  const double fsc_cpu = median(b.fast_scan_cpu), fw_cpu = median(b.fast_rewrite_cpu);
  std::printf(
      "engine (fast scanner), thread CPU time: %8.2f MB/s of HTML per core  (fast scan alone "
      "%8.2f MB/s)  engine / fast scan alone: %.2fx\n",
      html_bytes / 1e6 / fw_cpu, html_bytes / 1e6 / fsc_cpu, fw_cpu / fsc_cpu);
}

// Link coverage over the corpus (rewrite/coverage.h), and with
// BENCH_LIST_UNTRACKED every untracked link.
void print_coverage(Bench& b) {
  long tracked = 0, candidates = 0, opted_out = 0;
  std::map<std::string, std::pair<int, std::string>> classes;  // count, an example
  for (const auto& m : b.messages) {
    auto res = tr::rewrite::rewrite_message(m, b.env, b.config, b.fast, 1795000000);
    if (!res) continue;
    tracked += res->links_tracked;
    candidates += res->links_candidates;
    opted_out += res->links_opted_out;
    for (const auto& l : res->untracked_links) {
      if (l.opted_out) continue;
      auto& c = classes[reason_class(l.reason)];
      if (c.first++ == 0) c.second = l.url.substr(0, 100);
    }
  }
  std::printf(
      "links: tracked %ld of %ld candidates (%.1f %%)\n", tracked, candidates,
      candidates ? 100.0 * static_cast<double>(tracked) / static_cast<double>(candidates) : 100.0);
  std::printf("  not candidates: %ld opted-out links\n", opted_out);
  for (const auto& [reason, c] : classes) {
    std::printf("  untracked %5d  %s (e.g. %s)\n", c.first, reason.c_str(), c.second.c_str());
  }
  if (!std::getenv("BENCH_LIST_UNTRACKED")) return;  // every one, for looking at classes
  for (const auto& m : b.messages) {
    auto res = tr::rewrite::rewrite_message(m, b.env, b.config, b.fast, 1795000000);
    if (!res) continue;
    for (const auto& l : res->untracked_links) {
      std::printf("%s\t%s\t%s\t%s\n", res->message_id.c_str(), l.part.c_str(), l.reason.c_str(),
                  l.url.c_str());
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
  fs::path corpus = argc > 2 ? fs::path(argv[2]) : fs::path(TRACKRELAY_CORPUS_DIR);
  auto loaded = tr::conf::load_string(tr::conf::builtin_example_yaml(), "<built-in example>");
  if (!loaded.ok()) return 1;
  // The engine at work on every corpus message: track any sender (the
  // built-in `declared` would forward most of the corpus unchanged).
  tr::conf::Config config = *loaded.config;
  config.senders = "any";
  const std::vector<std::string> messages = load_messages(corpus);
  if (messages.empty()) {
    std::fprintf(stderr, "no corpus at %s\n", corpus.c_str());
    return 1;
  }
  const std::vector<std::string> html = html_parts(messages, config);
  auto gumbo = tr::rewrite::make_gumbo_scanner(config.rewrite);
  auto fast = tr::rewrite::make_fast_scanner(config.rewrite);
  Bench b(config, messages, html, *gumbo, *fast);
  if (const char* n = std::getenv("BENCH_PROFILE_ENGINE")) {
    // For `perf record`: only the whole engine with the fast scanner, N rounds.
    for (int r = std::max(1, std::atoi(n)); r > 0; --r) b.rewrite_all(*fast);
    return b.sink == 0 ? 1 : 0;
  }
  std::size_t delegated = 0;
  for (const auto& h : html) delegated += !tr::rewrite::fast_scan(h, config.rewrite).result;
  for (int r = 0; r < rounds; ++r) b.round();
  print_speed(b, total_bytes(messages), total_bytes(html), delegated, rounds);
  print_coverage(b);
  return b.sink == 0 ? 1 : 0;
}
