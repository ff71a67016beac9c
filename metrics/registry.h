// metrics/registry.h — counters, gauges and histograms with bounded label
// sets, and their Prometheus text exposition (format 0.0.4).
//
// Owns: the metric types (atomics: an increment or an observation takes no
// lock), families of them keyed by label values, the rule that a label has a
// closed set of values or a cap on distinct values (anything else is folded
// into "other", so no URL or address can become a series), and render().
// There is no global registry: `serve` creates one and passes it down like
// the configuration. May call: the C++ standard library only.
//
// Lifetimes: a family and every child it hands out live as long as the
// Registry; callers keep the references (resolve a child once where its
// labels are fixed, then increment it on the hot path).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace trackrelay::metrics {

// The value a label gets when the one given is not in its set (or over its cap).
inline constexpr std::string_view kOther = "other";

class Counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

class Gauge {
 public:
  void set(double v) noexcept { v_.store(v, std::memory_order_relaxed); }
  void add(double d) noexcept { v_.fetch_add(d, std::memory_order_relaxed); }
  double value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

// Cumulative buckets with fixed upper bounds (ascending; +Inf is implicit).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v) noexcept;
  const std::vector<double>& bounds() const { return bounds_; }
  // Observations <= bounds()[i] (cumulative); index bounds().size() is +Inf.
  std::uint64_t cumulative(std::size_t i) const noexcept;
  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // per bucket, not cumulative
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// A label of a family: either a closed set of values (`values`; anything
// else becomes "other") or, for operator-configured names such as tracking
// domains, the first `cap` distinct values seen (later ones become "other").
struct Label {
  std::string name;
  std::vector<std::string> values;  // non-empty: the closed set
  std::size_t cap = 0;              // values empty: distinct values kept
};

enum class Type { kCounter, kGauge, kHistogram };

// What render() needs from a family, whatever its metric type.
class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, Type type, std::vector<Label> labels);
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const std::string& name() const { return name_; }
  Type type() const { return type_; }
  // Appends the HELP and TYPE lines and every series.
  void render(std::string& out) const;

 protected:
  // The label values `given` is stored under (closed sets and caps applied);
  // called with mu_ held.
  std::vector<std::string> bound(std::span<const std::string_view> given);
  virtual void render_child(std::string& out, const std::string& labels,
                            const void* child) const = 0;

  std::string name_;
  std::string help_;
  Type type_;
  std::vector<Label> labels_;
  std::vector<std::size_t> seen_;  // distinct values per capped label
  std::vector<std::map<std::string, bool, std::less<>>> seen_values_;
  mutable std::mutex mu_;  // guards children (the metrics themselves are atomic)
  std::vector<std::pair<std::vector<std::string>, const void*>> order_;  // render order
};

template <class M>
class Family : public FamilyBase {
 public:
  using Make = std::function<std::unique_ptr<M>()>;
  Family(std::string name, std::string help, Type type, std::vector<Label> labels, Make make)
      : FamilyBase(std::move(name), std::move(help), type, std::move(labels)),
        make_(std::move(make)) {}

  // The child for these label values (one per label, in order). Cheap: one
  // map lookup under a mutex; resolve it once where the labels are fixed.
  M& with(std::initializer_list<std::string_view> values) {
    return with(std::span<const std::string_view>(values.begin(), values.size()));
  }
  M& with(std::span<const std::string_view> values) {
    std::lock_guard lock(mu_);
    std::vector<std::string> key = bound(values);
    auto it = children_.find(key);
    if (it != children_.end()) return *it->second;
    auto child = make_();
    M& ref = *child;
    order_.emplace_back(key, &ref);
    children_.emplace(std::move(key), std::move(child));
    return ref;
  }
  // The family without labels: its one series.
  M& get() { return with(std::span<const std::string_view>{}); }

 private:
  void render_child(std::string& out, const std::string& labels, const void* child) const override;

  Make make_;
  std::map<std::vector<std::string>, std::unique_ptr<M>> children_;
};

template <>
void Family<Counter>::render_child(std::string&, const std::string&, const void*) const;
template <>
void Family<Gauge>::render_child(std::string&, const std::string&, const void*) const;
template <>
void Family<Histogram>::render_child(std::string&, const std::string&, const void*) const;

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Registers a family, or returns the one already registered under `name`
  // (same type required: a different type is a programming error and
  // aborts). Names follow Prometheus rules ([a-zA-Z_:][a-zA-Z0-9_:]*);
  // counters end in _total. Families whose labels all have closed sets
  // start with every combination at 0, so rate() sees the first increment.
  Family<Counter>& counter(std::string name, std::string help, std::vector<Label> labels = {});
  Family<Gauge>& gauge(std::string name, std::string help, std::vector<Label> labels = {});
  Family<Histogram>& histogram(std::string name, std::string help, std::vector<double> bounds,
                               std::vector<Label> labels = {});

  // Runs before every render(): for values read at scrape time (queue
  // depths from the store, certificate expiry). Must be cheap and thread-safe.
  void on_collect(std::function<void()> collect);

  // The Prometheus text exposition (version 0.0.4) of every family, in
  // registration order.
  std::string render() const;

 private:
  FamilyBase* find(const std::string& name, Type type);
  template <class M>
  Family<M>& add(std::string name, std::string help, Type type, std::vector<Label> labels,
                 typename Family<M>::Make make);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<FamilyBase>> families_;
  std::vector<std::function<void()>> collectors_;
};

// Exposition helpers (exposition.cc), public for tests.
std::string escape_help(std::string_view help);          // \ and newline
std::string escape_label_value(std::string_view value);  // \, " and newline
std::string format_value(double v);                      // shortest round trip; +Inf, -Inf, NaN
bool is_valid_name(std::string_view name);

// Default buckets for durations in seconds (0.5 ms .. 10 s).
std::vector<double> seconds_buckets();

// Runs `f` and observes its duration in seconds into `h` (null: just runs
// it): the one-line way to time a call in measured code.
template <class F>
auto timed(Histogram* h, F&& f) {
  const auto started = std::chrono::steady_clock::now();
  auto result = std::forward<F>(f)();
  if (h != nullptr) {
    h->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  return result;
}

}  // namespace trackrelay::metrics
