// webhook/dispatcher.h — delivering the store's events to every active
// webhook, durably and at least once.
//
// Owns: the lease that makes one process per store file the sender
// (webhook_lease; renewed every 2 s, expires after 10 s, taken over at once
// from a holder on this host whose process is gone; on PostgreSQL a session
// advisory lock instead, store/cluster.h), one worker thread per
// active webhook (a slow or dead receiver delays nobody else), cutting
// batches from the webhook's cursor over the events table (at most 1,000
// events, or what 1 s of events gave), signing and POSTing them, and the
// retry schedule: webhooks.retry_base_ms doubling (at most 1 h) until
// webhooks.retry_for seconds after the batch was cut, then "failed".
// May call: store/ (events, webhooks), webhook/ (payload, signature,
// http_post), dns/ (resolver), conf/, base/.
//
// Why a cursor and not a queue written with each event: the events table is
// already the durable, ordered log (seq), written by the tracker's group
// commit; a cursor per webhook plus batch rows keeps that hot path
// untouched, and cutting a batch (insert + cursor move) is one transaction,
// so a SIGKILL leaves either the batch queued or the events still after the
// cursor. A batch is marked delivered only after a 2xx: a crash in between
// sends it again (receivers deduplicate by X-MessageSystems-Batch-ID).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "base/result.h"
#include "conf/config.h"
#include "store/webhook_store.h"
#include "webhook/http_post.h"

namespace trackrelay::webhook {

struct DispatcherOptions {
  std::string store_path;  // the store file (must exist: serve has created it)
  // The current configuration (webhooks.*, dns.*), read on every pass.
  std::function<std::shared_ptr<const conf::Config>()> config;
};

class Dispatcher {
 public:
  // Opens the store and starts the lease thread (workers start once the
  // lease is held).
  static Result<std::unique_ptr<Dispatcher>> start(DispatcherOptions options);
  // Stops every worker (a POST in flight is abandoned after its timeout at
  // most) and releases the lease.
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Whether this process holds the lease (sends).
  bool sending() const;
  // The queue in the store (every process's view is the same).
  Result<store::QueueStats> stats() const;

  struct Impl;
  explicit Dispatcher(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

// The headers of one signed POST of `body` for `hook` at `unix_seconds`:
// X-Trackrelay-Signature, X-MessageSystems-Batch-ID, Authorization (basic).
std::vector<std::pair<std::string, std::string>> request_headers(const store::WebhookRow& hook,
                                                                 const std::string& batch_id,
                                                                 const std::string& body,
                                                                 std::int64_t unix_seconds);

// The state after an attempt that got `result` (2xx: delivered), with the
// next attempt time: retry_base_ms * 2^(attempts-1), at most 1 h, and never
// past created + retry_for (then the batch fails).
store::Attempt next_state(const store::BatchRow& batch, const PostResult& result,
                          std::int64_t now_ms, const conf::WebhooksConfig& cfg);

}  // namespace trackrelay::webhook
