// metrics/registry.cc — the metric types, families with bounded labels, the
// registry. Rendering details (escaping, numbers): exposition.cc.
// May call: the C++ standard library only.
#include "metrics/registry.h"

#include <algorithm>
#include <cstdlib>
#include <iterator>

namespace trackrelay::metrics {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
}

void Histogram::observe(double v) noexcept {
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  buckets_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t Histogram::cumulative(std::size_t i) const noexcept {
  std::uint64_t n = 0;
  for (std::size_t b = 0; b <= i && b <= bounds_.size(); ++b) {
    n += buckets_[b].load(std::memory_order_relaxed);
  }
  return n;
}

FamilyBase::FamilyBase(std::string name, std::string help, Type type, std::vector<Label> labels)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      labels_(std::move(labels)),
      seen_(labels_.size(), 0),
      seen_values_(labels_.size()) {}

std::vector<std::string> FamilyBase::bound(std::span<const std::string_view> given) {
  std::vector<std::string> out;
  out.reserve(labels_.size());
  for (std::size_t i = 0; i < labels_.size(); ++i) {
    const std::string_view v = i < given.size() ? given[i] : kOther;
    const Label& l = labels_[i];
    if (!l.values.empty()) {
      const bool known = std::find(l.values.begin(), l.values.end(), v) != l.values.end();
      out.emplace_back(known ? v : kOther);
      continue;
    }
    auto& seen = seen_values_[i];
    if (seen.find(v) != seen.end()) {
      out.emplace_back(v);
    } else if (seen_[i] < l.cap) {
      ++seen_[i];
      seen.emplace(std::string(v), true);
      out.emplace_back(v);
    } else {
      out.emplace_back(kOther);
    }
  }
  return out;
}

void FamilyBase::render(std::string& out) const {
  static constexpr const char* kTypeNames[] = {"counter", "gauge", "histogram"};
  out += "# HELP " + name_ + " " + escape_help(help_) + "\n";
  out += "# TYPE " + name_ + " " + kTypeNames[static_cast<int>(type_)] + "\n";
  std::lock_guard lock(mu_);
  for (const auto& [values, child] : order_) {
    std::string labels;
    for (std::size_t i = 0; i < labels_.size(); ++i) {
      labels +=
          (i == 0 ? "" : ",") + labels_[i].name + "=\"" + escape_label_value(values[i]) + "\"";
    }
    render_child(out, labels, child);
  }
}

namespace {

std::string braces(const std::string& labels) {
  return labels.empty() ? std::string() : "{" + labels + "}";
}

}  // namespace

template <>
void Family<Counter>::render_child(std::string& out, const std::string& labels,
                                   const void* child) const {
  const auto& c = *static_cast<const Counter*>(child);
  out += name_ + braces(labels) + " " + std::to_string(c.value()) + "\n";
}

template <>
void Family<Gauge>::render_child(std::string& out, const std::string& labels,
                                 const void* child) const {
  const auto& g = *static_cast<const Gauge*>(child);
  out += name_ + braces(labels) + " " + format_value(g.value()) + "\n";
}

template <>
void Family<Histogram>::render_child(std::string& out, const std::string& labels,
                                     const void* child) const {
  const auto& h = *static_cast<const Histogram*>(child);
  const std::string sep = labels.empty() ? "" : ",";
  // Read count first: buckets and sum may run ahead of it under concurrent
  // observations, never behind (+Inf is taken from the buckets themselves).
  const std::size_t n = h.bounds().size();
  for (std::size_t i = 0; i <= n; ++i) {
    const std::string le = i < n ? format_value(h.bounds()[i]) : "+Inf";
    out += name_ + "_bucket{" + labels + sep + "le=\"" + le + "\"} " +
           std::to_string(h.cumulative(i)) + "\n";
  }
  out += name_ + "_sum" + braces(labels) + " " + format_value(h.sum()) + "\n";
  out += name_ + "_count" + braces(labels) + " " + std::to_string(h.cumulative(n)) + "\n";
}

FamilyBase* Registry::find(const std::string& name, Type type) {
  for (auto& f : families_) {
    if (f->name() != name) continue;
    if (f->type() != type) std::abort();  // one name, one type: a programming error
    return f.get();
  }
  return nullptr;
}

namespace {

// Every combination of the closed label sets, when all labels have one.
std::vector<std::vector<std::string_view>> combinations(const std::vector<Label>& labels) {
  std::vector<std::vector<std::string_view>> out(1);
  for (const Label& l : labels) {
    if (l.values.empty()) return {};
    std::vector<std::vector<std::string_view>> next;
    for (const auto& prefix : out) {
      for (const std::string& v : l.values) {
        next.push_back(prefix);
        next.back().push_back(v);
      }
    }
    out = std::move(next);
  }
  return out;
}

}  // namespace

template <class M>
Family<M>& Registry::add(std::string name, std::string help, Type type, std::vector<Label> labels,
                         typename Family<M>::Make make) {
  if (!is_valid_name(name)) std::abort();
  std::lock_guard lock(mu_);
  if (FamilyBase* f = find(name, type)) return *static_cast<Family<M>*>(f);
  const auto combos = combinations(labels);
  auto family =
      std::make_unique<Family<M>>(name, std::move(help), type, std::move(labels), std::move(make));
  Family<M>& ref = *family;
  families_.push_back(std::move(family));
  for (const auto& c : combos) ref.with(std::span<const std::string_view>(c));
  return ref;
}

Family<Counter>& Registry::counter(std::string name, std::string help, std::vector<Label> labels) {
  return add<Counter>(std::move(name), std::move(help), Type::kCounter, std::move(labels),
                      [] { return std::make_unique<Counter>(); });
}

Family<Gauge>& Registry::gauge(std::string name, std::string help, std::vector<Label> labels) {
  return add<Gauge>(std::move(name), std::move(help), Type::kGauge, std::move(labels),
                    [] { return std::make_unique<Gauge>(); });
}

Family<Histogram>& Registry::histogram(std::string name, std::string help,
                                       std::vector<double> bounds, std::vector<Label> labels) {
  return add<Histogram>(std::move(name), std::move(help), Type::kHistogram, std::move(labels),
                        [bounds] { return std::make_unique<Histogram>(bounds); });
}

void Registry::on_collect(std::function<void()> collect) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(collect));
}

std::string Registry::render() const {
  std::vector<std::function<void()>> collectors;
  {
    std::lock_guard lock(mu_);
    collectors = collectors_;
  }
  for (const auto& c : collectors) c();
  std::string out;
  std::lock_guard lock(mu_);
  for (const auto& f : families_) f->render(out);
  return out;
}

std::vector<double> seconds_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

}  // namespace trackrelay::metrics
