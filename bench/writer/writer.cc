// bench/writer/writer.cc — CPU per event of the SQLite event writer (issue
// 12, docs/performance.md "The tracker"): batches of clicks as the tracker
// hands them over (one append_all_and_wait per batch: one transaction, one
// fsync), each click with what a real one carries. Baseline: SQLite's own
// WAL writes (two pwrite()s per frame); measured: the writer's combined
// writes (store/wal_vfs.h). Both in the same run, in alternating rounds on
// fresh files in the same directory; the process's CPU time (the writer
// thread, its checkpointer, and this thread building the events, the same
// in both) per event, and wall time per commit.
//
// usage: bench_writer [DIR] [BATCHES]   (DIR: a directory on the disk to
// measure, default the system's temporary directory; BATCHES: per round, 400)
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "store/event_store.h"

namespace fs = std::filesystem;
namespace store = trackrelay::store;

namespace {

double cpu_seconds() {
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
         static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

store::Event click(int i) {
  store::Event e;
  e.type = "click";
  e.timestamp_ms = 1795000000000 + i;
  e.tracking_domain = "click.example.com";
  e.target_link_url = "https://www.example.com/landing?utm_source=newsletter&utm_campaign=bench";
  e.target_link_name = "Read more";
  e.message_id = "20261206." + std::to_string(i % 5000) + "@example.com";
  e.rcpt_to = "r" + std::to_string(i % 5000) + "@example.net";
  e.raw_rcpt_to = e.rcpt_to;
  e.campaign_id = "december";
  e.sending_domain = "example.com";
  e.user_agent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0";
  e.ip_address = "198.51.100." + std::to_string(i % 250);
  e.method = "GET";
  e.classification = "human";
  e.classification_reasons = {"default"};
  return e;
}

struct Result {
  double cpu_us_per_event = 0;
  double wall_ms_per_commit = 0;
};

Result run(const fs::path& dir, bool combine, int batch, int batches) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  store::Options o;
  o.path = (dir / "events.db").string();
  o.combine_wal_writes = combine;
  auto opened = store::EventStore::open(o);
  if (!opened) {
    std::fprintf(stderr, "bench_writer: %s\n", opened.error().c_str());
    std::exit(1);
  }
  std::unique_ptr<store::EventStore> s = std::move(opened).value();
  const double c0 = cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  for (int b = 0; b < batches; ++b) {
    std::vector<store::Event> events;
    for (int i = 0; i < batch; ++i) events.push_back(click(b * batch + i));
    if (auto r = s->append_all_and_wait(std::move(events)); !r) {
      std::fprintf(stderr, "bench_writer: %s\n", r.error().c_str());
      std::exit(1);
    }
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  Result r{(cpu_seconds() - c0) * 1e6 / (batch * batches), wall * 1e3 / batches};
  s.reset();
  fs::remove_all(dir);
  return r;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const fs::path base = argc > 1 ? fs::path(argv[1]) : fs::temp_directory_path();
  const int batches = argc > 2 ? std::max(1, std::atoi(argv[2])) : 400;
  const fs::path dir = base / ("trackrelay-bench-writer-" + std::to_string(getpid()));
  constexpr int kRounds = 5;
  std::printf("event writer: %d commits per round, %d rounds, in %s\n", batches, kRounds,
              base.c_str());
  for (int batch : {1, 16, 40, 64}) {
    std::vector<double> sq_cpu, tr_cpu, sq_wall, tr_wall;
    for (int round = 0; round < kRounds; ++round) {
      const Result a = run(dir, false, batch, batches);
      const Result b = run(dir, true, batch, batches);
      sq_cpu.push_back(a.cpu_us_per_event);
      tr_cpu.push_back(b.cpu_us_per_event);
      sq_wall.push_back(a.wall_ms_per_commit);
      tr_wall.push_back(b.wall_ms_per_commit);
    }
    std::printf(
        "batch %2d: CPU per event: SQLite's writes %.1f us, combined %.1f us (%.2fx); "
        "per commit %.2f ms / %.2f ms\n",
        batch, median(sq_cpu), median(tr_cpu), median(tr_cpu) / median(sq_cpu), median(sq_wall),
        median(tr_wall));
  }
  return 0;
}
