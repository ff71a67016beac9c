// bench/events/events.cc — where a message's metadata and tags should live
// (issue 11; docs/design.md "Engagement events"), measured:
//
// 1. Token length. For every http(s) URL in the corpus's HTML bodies, the
//    click token as trackrelay issues it (target, names, message id,
//    recipient, campaign, sending domain, subaccount, transmission id) and
//    the same token with typical X-MSYS-API metadata and tags inlined.
//    Prints median / p95 / max characters of each and the ratio.
// 2. The store. Baseline: one click appended and committed (what every click
//    costs already). Then one message's injections (1 and 5 recipients, one
//    append_all_and_wait) and a click whose message is joined at write. 8
//    writers at once, as the relay's sessions and the tracker write, in 7
//    interleaved rounds; prints the median µs per write and the ratio to the
//    baseline.
//
// usage: bench_events [CORPUS_DIR] [WRITES]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "store/event_store.h"
#include "token/token.h"

namespace fs = std::filesystem;
namespace tr = trackrelay;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kMetadata =
    R"({"customer_id":"c-1234567","list":"weekly-digest","locale":"en-GB"})";
constexpr const char* kTags = R"(["newsletter","weekly","segment-a"])";

std::vector<std::string> corpus_urls(const fs::path& dir) {
  std::vector<std::string> out;
  const std::regex url(R"(https?://[^\s"'<>]+)");
  for (const auto& f : fs::directory_iterator(dir / "html")) {
    std::ifstream in(f.path(), std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    const std::string text = s.str();
    for (std::sregex_iterator it(text.begin(), text.end(), url), end; it != end; ++it) {
      out.push_back(it->str());
    }
  }
  return out;
}

struct Stats {
  std::size_t median, p95, max;
};
Stats stats(std::vector<std::size_t> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v[v.size() * 95 / 100], v.back()};
}

void token_lengths(const fs::path& corpus) {
  const auto urls = corpus_urls(corpus);
  if (urls.empty()) {
    std::printf("no URLs under %s/html\n", corpus.c_str());
    std::exit(1);
  }
  const tr::token::Key key{"k1", std::string(40, 's')};
  std::vector<std::size_t> joined, inlined;
  for (const std::string& u : urls) {
    tr::token::Claims c;
    c.target = u;
    c.link_name = "Read more";
    c.tracking_domain = "click.example.com";
    c.message_id = "1795000000.3f2a9c1e0b7d.trackrelay@news.example.com";
    c.rcpt_to = "alice.smith@example.net";
    c.campaign_id = "spring-sale-2026";
    c.sending_domain = "news.example.com";
    c.issued_at = 1795000000;
    c.transmission_id = "482910375610293847";
    joined.push_back(tr::token::encode(c, key).size());
    // The metadata and tags as one more length-prefixed field (what putting
    // them in the token would add; the campaign field carries the bytes).
    c.campaign_id += std::string("\x01") + kMetadata + kTags;
    inlined.push_back(tr::token::encode(c, key).size());
  }
  const Stats a = stats(joined), b = stats(inlined);
  std::printf(
      "token length over %zu corpus URLs (characters; metadata %zu bytes, tags %zu bytes)\n",
      urls.size(), std::strlen(kMetadata), std::strlen(kTags));
  std::printf("  joined at write (as built):  median %zu  p95 %zu  max %zu\n", a.median, a.p95,
              a.max);
  std::printf("  metadata+tags in the token:  median %zu  p95 %zu  max %zu\n", b.median, b.p95,
              b.max);
  std::printf("  ratio inlined/joined: median %.2f  p95 %.2f\n",
              double(b.median) / double(a.median), double(b.p95) / double(a.p95));
}

tr::store::Event event(const std::string& type, const std::string& tx, const std::string& rcpt) {
  tr::store::Event e;
  e.type = type;
  e.timestamp_ms = 1795000000000;
  e.transmission_id = tx;
  e.message_id = "m" + tx + "@example.com";
  e.rcpt_to = rcpt;
  e.campaign_id = "spring";
  e.tracking_domain = "click.example.com";
  e.sending_domain = "example.com";
  if (type == "injection") {
    e.rcpt_meta = kMetadata;
    e.rcpt_tags = kTags;
    e.friendly_from = "news@example.com";
  } else {
    e.target_link_url = "https://www.example.org/offer";
  }
  return e;
}

// µs per call of `write(thread, i)`, `n` calls over 8 threads.
double per_write(std::size_t n, const std::function<void(int, std::size_t)>& write) {
  constexpr int kThreads = 8;
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t i = static_cast<std::size_t>(t); i < n; i += kThreads) write(t, i);
    });
  }
  for (auto& th : threads) th.join();
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / double(n);
}

void store_writes(std::size_t n) {
  const fs::path dir = fs::temp_directory_path() / ("bench-events-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  tr::store::Options o;
  o.path = (dir / "e.db").string();
  auto opened = tr::store::EventStore::open(o);
  if (!opened) {
    std::printf("store: %s\n", opened.error().c_str());
    std::exit(1);
  }
  auto& s = **opened;
  auto must = [](const tr::Result<bool>& r) {
    if (!r) {
      std::printf("write failed: %s\n", r.error().c_str());
      std::exit(1);
    }
  };
  // Ids never repeat across rounds: each round writes messages of its own.
  std::size_t base = 0;
  auto clicks = [&](int, std::size_t i) {
    must(s.append_and_wait(event("click", "", "r" + std::to_string(i) + "@x.org")));
  };
  auto inj1 = [&](int, std::size_t i) {
    must(s.append_all_and_wait({event("injection", std::to_string(base + i + 1), "r@x.org")}));
  };
  auto inj5 = [&](int, std::size_t i) {
    std::vector<tr::store::Event> es;
    for (int r = 0; r < 5; ++r) {
      es.push_back(event("injection", "5" + std::to_string(base + i + 1),
                         "r" + std::to_string(r) + "@x.org"));
    }
    must(s.append_all_and_wait(std::move(es)));
  };
  auto joined = [&](int, std::size_t i) {
    must(s.append_and_wait(event("click", std::to_string(base + i + 1), "r@x.org")));
  };
  per_write(n / 4, clicks);  // warm-up: file growth, page cache
  // Interleaved rounds, the median of each (these machines are noisy).
  constexpr int kRounds = 7;
  const std::size_t per_round = std::max<std::size_t>(n / kRounds, 8);
  std::vector<double> t_click, t_inj1, t_inj5, t_joined;
  for (int round = 0; round < kRounds; ++round) {
    t_click.push_back(per_write(per_round, clicks));
    t_inj1.push_back(per_write(per_round, inj1));
    t_inj5.push_back(per_write(per_round, inj5));
    t_joined.push_back(per_write(per_round, joined));
    base += per_round;
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double click = median(t_click), one = median(t_inj1), five = median(t_inj5),
               join = median(t_joined);
  std::printf(
      "store writes (%d interleaved rounds of %zu, 8 writers, group commit, "
      "synchronous=FULL; median µs per write)\n",
      kRounds, per_round);
  std::printf("  click, nothing to join (baseline):    %8.1f\n", click);
  std::printf("  injections of a 1-recipient message:  %8.1f  ratio %.2f\n", one, one / click);
  std::printf("  injections of a 5-recipient message:  %8.1f  ratio %.2f\n", five, five / click);
  std::printf("  click joined with its injection:      %8.1f  ratio %.2f\n", join, join / click);
  opened->reset();
  fs::remove_all(dir);
}

}  // namespace

int main(int argc, char** argv) {
  const fs::path corpus = argc > 1 ? argv[1] : TRACKRELAY_CORPUS_DIR;
  const std::size_t n = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 2000;
  token_lengths(corpus);
  store_writes(std::max<std::size_t>(n, 8));
  return 0;
}
