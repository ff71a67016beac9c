// tests/metrics/registry_test.cc — the metrics registry: counters, gauges,
// histograms, bounded labels (closed sets, caps), the text exposition 0.0.4.
#include "metrics/registry.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "metrics/instruments.h"

namespace trackrelay::metrics {
namespace {

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST(Registry, CounterRendersHelpTypeAndValue) {
  Registry r;
  Counter& c = r.counter("t_requests_total", "requests served").get();
  c.inc();
  c.inc(41);
  const std::string out = r.render();
  EXPECT_EQ(out,
            "# HELP t_requests_total requests served\n"
            "# TYPE t_requests_total counter\n"
            "t_requests_total 42\n");
}

TEST(Registry, GaugeGoesUpAndDown) {
  Registry r;
  Gauge& g = r.gauge("t_open", "open things").get();
  g.add(3);
  g.add(-1);
  EXPECT_TRUE(has_line(r.render(), "t_open 2"));
  g.set(0.25);
  EXPECT_TRUE(has_line(r.render(), "t_open 0.25"));
}

TEST(Registry, HistogramBucketsAreCumulativeWithSumAndCount) {
  Registry r;
  Histogram& h = r.histogram("t_seconds", "durations", {0.1, 1, 0.0005}).get();
  h.observe(0.0001);  // <= 0.0005
  h.observe(0.05);    // <= 0.1
  h.observe(0.1);     // le is inclusive
  h.observe(7);       // only +Inf
  const std::string out = r.render();
  EXPECT_TRUE(has_line(out, "# TYPE t_seconds histogram"));
  EXPECT_TRUE(has_line(out, "t_seconds_bucket{le=\"0.0005\"} 1")) << out;
  EXPECT_TRUE(has_line(out, "t_seconds_bucket{le=\"0.1\"} 3")) << out;
  EXPECT_TRUE(has_line(out, "t_seconds_bucket{le=\"1\"} 3")) << out;
  EXPECT_TRUE(has_line(out, "t_seconds_bucket{le=\"+Inf\"} 4")) << out;
  EXPECT_TRUE(has_line(out, "t_seconds_sum 7.1501")) << out;
  EXPECT_TRUE(has_line(out, "t_seconds_count 4")) << out;
}

TEST(Registry, LabelledHistogramPutsLeLast) {
  Registry r;
  r.histogram("t_h", "h", {1}, {{"kind", {"a", "b"}}}).with({"b"}).observe(0.5);
  const std::string out = r.render();
  EXPECT_TRUE(has_line(out, "t_h_bucket{kind=\"b\",le=\"1\"} 1")) << out;
  EXPECT_TRUE(has_line(out, "t_h_bucket{kind=\"a\",le=\"+Inf\"} 0")) << out;
  EXPECT_TRUE(has_line(out, "t_h_count{kind=\"b\"} 1")) << out;
}

TEST(Registry, ClosedLabelSetsStartAtZeroAndFoldUnknownValues) {
  Registry r;
  Family<Counter>& f = r.counter("t_total", "t", {{"outcome", {"sent", "refused", "other"}}});
  std::string out = r.render();
  EXPECT_TRUE(has_line(out, "t_total{outcome=\"sent\"} 0")) << out;
  EXPECT_TRUE(has_line(out, "t_total{outcome=\"refused\"} 0")) << out;
  f.with({"sent"}).inc();
  f.with({"https://evil.example/?a=1"}).inc();  // never a series of its own
  f.with({"bob@example.com"}).inc();
  out = r.render();
  EXPECT_TRUE(has_line(out, "t_total{outcome=\"sent\"} 1")) << out;
  EXPECT_TRUE(has_line(out, "t_total{outcome=\"other\"} 2")) << out;
  EXPECT_EQ(out.find("evil"), std::string::npos);
  EXPECT_EQ(out.find("bob@"), std::string::npos);
}

TEST(Registry, CappedLabelsKeepTheFirstValuesOnly) {
  Registry r;
  Family<Counter>& f = r.counter("t_domain_total", "t", {{"domain", {}, 2}});
  f.with({"a.example"}).inc();
  f.with({"b.example"}).inc();
  f.with({"c.example"}).inc();
  f.with({"d.example"}).inc(2);
  f.with({"a.example"}).inc();
  const std::string out = r.render();
  EXPECT_TRUE(has_line(out, "t_domain_total{domain=\"a.example\"} 2")) << out;
  EXPECT_TRUE(has_line(out, "t_domain_total{domain=\"b.example\"} 1")) << out;
  EXPECT_TRUE(has_line(out, "t_domain_total{domain=\"other\"} 3")) << out;
  EXPECT_EQ(out.find("c.example"), std::string::npos);
}

TEST(Registry, SameNameReturnsTheSameFamily) {
  Registry r;
  Counter& a = r.counter("t_x_total", "x").get();
  Counter& b = r.counter("t_x_total", "x").get();
  EXPECT_EQ(&a, &b);
}

TEST(Registry, CollectorsRunBeforeRendering) {
  Registry r;
  Gauge& depth = r.gauge("t_queue_depth", "queued").get();
  int calls = 0;
  r.on_collect([&] { depth.set(++calls * 10); });
  EXPECT_TRUE(has_line(r.render(), "t_queue_depth 10"));
  EXPECT_TRUE(has_line(r.render(), "t_queue_depth 20"));
}

TEST(Registry, ConcurrentIncrementsAreNotLost) {
  Registry r;
  Family<Counter>& f = r.counter("t_c_total", "c", {{"k", {"a", "b"}}});
  Histogram& h = r.histogram("t_d", "d", {1}).get();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        f.with({t % 2 == 0 ? "a" : "b"}).inc();
        h.observe(0.5);
      }
    });
  }
  for (auto& t : threads) t.join();
  const std::string out = r.render();
  EXPECT_TRUE(has_line(out, "t_c_total{k=\"a\"} 20000")) << out;
  EXPECT_TRUE(has_line(out, "t_c_total{k=\"b\"} 20000")) << out;
  EXPECT_TRUE(has_line(out, "t_d_count 40000")) << out;
}

TEST(Exposition, EscapesHelpAndLabelValues) {
  EXPECT_EQ(escape_help("a\\b\nc \"q\""), "a\\\\b\\nc \"q\"");
  EXPECT_EQ(escape_label_value("a\\b\nc\"q"), "a\\\\b\\nc\\\"q");
  Registry r;
  r.counter("t_e_total", "line one\nline \\two", {{"d", {}, 5}}).with({"x\"y"}).inc();
  const std::string out = r.render();
  EXPECT_TRUE(has_line(out, "# HELP t_e_total line one\\nline \\\\two")) << out;
  EXPECT_TRUE(has_line(out, "t_e_total{d=\"x\\\"y\"} 1")) << out;
}

TEST(Exposition, NumbersAndNames) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(1800000000), "1800000000");
  EXPECT_EQ(format_value(0.0005), "0.0005");
  EXPECT_EQ(format_value(2.5), "2.5");
  EXPECT_EQ(format_value(1.0 / 0.0), "+Inf");
  EXPECT_EQ(format_value(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(format_value(0.0 / 0.0), "NaN");
  EXPECT_TRUE(is_valid_name("trackrelay_relay_messages_total"));
  EXPECT_TRUE(is_valid_name("a:b_c"));
  EXPECT_FALSE(is_valid_name("9lives"));
  EXPECT_FALSE(is_valid_name("has-dash"));
  EXPECT_FALSE(is_valid_name(""));
}

TEST(Timed, ObservesOnceAndReturnsTheResult) {
  Registry r;
  Histogram& h = r.histogram("t_t", "t", seconds_buckets()).get();
  EXPECT_EQ(timed(&h, [] { return 7; }), 7);
  EXPECT_EQ(timed(nullptr, [] { return 8; }), 8);
  EXPECT_EQ(h.count(), 1u);
}

TEST(Instruments, UntrackedReasonsAreCategories) {
  EXPECT_EQ(untracked_reason_label("opt-out (data-msys-clicktrack=\"0\")"), "opt_out");
  EXPECT_EQ(untracked_reason_label("part left alone: unknown transfer encoding x-foo"),
            "part_left_alone");
  EXPECT_EQ(untracked_reason_label("message forwarded unchanged: too large"), "message_unchanged");
  EXPECT_EQ(untracked_reason_label("template placeholder"), "template_placeholder");
  EXPECT_EQ(untracked_reason_label("line would exceed 998 octets"), "line_length");
  EXPECT_EQ(untracked_reason_label("tracked URL would be 2100 characters"), "url_too_long");
  EXPECT_EQ(untracked_reason_label("something new"), "other");
}

TEST(Instruments, ClassesAndDomains) {
  Registry r;
  Instruments m(r);
  m.upstream_reply(250);
  m.upstream_reply(451);
  m.upstream_reply(554);
  m.upstream_reply(0);
  m.track_event("click", "scanner", "click.example.com");
  for (int i = 0; i < 60; ++i) m.track_event("open", "human", "d" + std::to_string(i) + ".example");
  struct Link {
    std::string reason;
  };
  m.rewrite_outcome(3, std::vector<Link>{{"opt-out (click tracking off)"}, {"weird"}});
  const std::string out = r.render();
  EXPECT_TRUE(has_line(out, "trackrelay_relay_upstream_replies_total{class=\"2xx\"} 1")) << out;
  EXPECT_TRUE(has_line(out, "trackrelay_relay_upstream_replies_total{class=\"4xx\"} 1"));
  EXPECT_TRUE(has_line(out, "trackrelay_relay_upstream_replies_total{class=\"5xx\"} 1"));
  EXPECT_TRUE(has_line(out, "trackrelay_relay_upstream_replies_total{class=\"other\"} 1"));
  EXPECT_TRUE(has_line(out,
                       "trackrelay_track_events_total{type=\"click\",classification=\"scanner\","
                       "tracking_domain=\"click.example.com\"} 1"))
      << out;
  // 50 domains get series (click.example.com and d0..d48); the rest are "other".
  EXPECT_TRUE(has_line(out,
                       "trackrelay_track_events_total{type=\"open\",classification=\"human\","
                       "tracking_domain=\"other\"} 11"))
      << out;
  EXPECT_TRUE(has_line(out, "trackrelay_links_tracked_total 3"));
  EXPECT_TRUE(has_line(out, "trackrelay_links_untracked_total{reason=\"opt_out\"} 1"));
  EXPECT_TRUE(has_line(out, "trackrelay_links_untracked_total{reason=\"other\"} 1"));
}

}  // namespace
}  // namespace trackrelay::metrics
