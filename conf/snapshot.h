// conf/snapshot.h — the current configuration, swapped atomically on reload.
//
// Every transaction (SMTP) or request (HTTP) takes one snapshot with
// current() at its start and uses it to the end, so a reload (SIGHUP) never
// changes the rules under work in flight. No global: the program owns one
// Snapshot and hands a reference to each server.
//
// May call: conf/config.h.
#pragma once

#include <atomic>
#include <memory>
#include <utility>

#include "conf/config.h"

namespace trackrelay::conf {

class Snapshot {
 public:
  explicit Snapshot(std::shared_ptr<const Config> initial) : current_(std::move(initial)) {}
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  std::shared_ptr<const Config> current() const { return current_.load(); }
  void replace(std::shared_ptr<const Config> next) { current_.store(std::move(next)); }

 private:
  std::atomic<std::shared_ptr<const Config>> current_;
};

}  // namespace trackrelay::conf
