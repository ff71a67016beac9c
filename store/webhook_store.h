// store/webhook_store.h — the webhooks, their queued batches and the
// dispatcher lease, in the store file (schema version 4, store/schema.cc).
//
// Owns: the rows the webhooks API manages (target, events, auth, signing
// secret, owner account), each webhook's cursor over the events table, the
// batches cut from it (payload, state, attempts, next attempt, last error),
// every delivery attempt (webhook_attempts, for batch-status)
// and the one lease row that lets a single process per store file dispatch.
// cut_batch() inserts a batch and advances the cursor in ONE transaction
// (compare-and-set on the cursor), so after a SIGKILL a batch is either
// queued whole or not cut at all: delivery is at-least-once.
// May call: base/, SQLite. Called by webhook/ (dispatcher) and api/ (routes).
//
// Thread-safe: one connection guarded by a mutex; calls are short.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "store/location.h"

namespace trackrelay::store {

struct WebhookRow {
  std::string id;                  // public id: 32 hex digits in UUID form
  std::int64_t subaccount_id = 0;  // the owner (who may see and change it)
  bool all_accounts = false;       // a primary webhook that gets every account's events
  std::string name;
  std::string target;               // http(s) URL
  std::vector<std::string> events;  // event types ("click", "open", "initial_open", "injection")
  std::string auth_type = "none";   // none | basic
  std::string auth_username;
  std::string auth_password;
  std::string signing_secret;  // 64 hex digits; shown once, at create
  bool active = true;
  std::int64_t cursor_seq = 0;  // events with seq <= this are batched (or not wanted)
  std::int64_t last_successful_ms = 0;
  std::int64_t last_failure_ms = 0;
  std::int64_t created_ms = 0;
};

struct BatchRow {
  std::int64_t id = 0;
  std::string webhook_id;
  std::string batch_id;  // X-MessageSystems-Batch-ID (32 hex digits)
  std::int64_t first_seq = 0;
  std::int64_t last_seq = 0;
  std::int64_t event_count = 0;
  std::string payload;            // the JSON body, kept until delivered
  std::string state = "pending";  // pending | delivered | failed
  std::int64_t attempts = 0;
  std::int64_t created_ms = 0;
  std::int64_t next_attempt_ms = 0;
  std::int64_t last_attempt_ms = 0;
  std::int64_t response_code = 0;  // the receiver's last HTTP status; 0: none (timeout, refused)
  std::string last_error;
};

// The outcome of one delivery attempt, as record_attempt() stores it.
struct Attempt {
  std::string state;  // "delivered", "pending" (retry at next_attempt_ms), "failed"
  std::int64_t at_ms = 0;
  std::int64_t next_attempt_ms = 0;
  std::int64_t response_code = 0;
  std::string error;
};

// One delivery attempt of a batch, as batch-status lists it.
struct AttemptRow {
  std::string batch_id;
  std::int64_t attempt = 0;  // 1 for the first
  std::int64_t ts_ms = 0;
  std::int64_t response_code = 0;
  std::string state;  // the batch's state after it
  std::string error;
};

// Queue numbers (for metrics and the dashboard).
struct QueueStats {
  std::int64_t pending_batches = 0;
  std::int64_t pending_events = 0;
  std::int64_t failed_batches = 0;
  std::int64_t oldest_pending_ms = 0;  // created_ms of the oldest pending batch; 0: none
};

class WebhookStore {
 public:
  // `connect`: what an unreachable PostgreSQL server means (store/location.h).
  static Result<std::unique_ptr<WebhookStore>> open(const std::string& path, bool create = true,
                                                    Connect connect = Connect::kNow);
  ~WebhookStore();
  WebhookStore(const WebhookStore&) = delete;
  WebhookStore& operator=(const WebhookStore&) = delete;

  // Inserts `row` (id, secret and created_ms set by the caller); its cursor
  // starts at the newest event: a webhook gets the events after its creation.
  Result<WebhookRow> add(WebhookRow row);
  Result<std::vector<WebhookRow>> list();
  Result<std::optional<WebhookRow>> get(const std::string& id);
  // name, target, events, auth, active; false when there is no such webhook.
  Result<bool> update(const WebhookRow& row);
  // The webhook and its batches; false when there is no such webhook.
  Result<bool> remove(const std::string& id);

  // The highest event seq (0: none) such that every event with a seq up to
  // it has committed or never will: a cursor may move up to it without
  // skipping an event still being written (on PostgreSQL several writers
  // commit out of seq order; see the .cc).
  Result<std::int64_t> max_event_seq();
  // Moves the cursor from `from` to `to` (nothing to batch in between);
  // false when another writer moved it first.
  Result<bool> advance_cursor(const std::string& webhook_id, std::int64_t from, std::int64_t to);
  // Inserts `batch` and moves the cursor from `from` to `to` in one
  // transaction; false (nothing written) when the cursor is no longer `from`.
  Result<bool> cut_batch(const BatchRow& batch, std::int64_t from, std::int64_t to);
  // Pending batches of `webhook_id` due at `now_ms`, oldest first.
  Result<std::vector<BatchRow>> due(const std::string& webhook_id, std::int64_t now_ms,
                                    std::size_t limit);
  // The earliest next_attempt_ms of its pending batches; nullopt: none.
  Result<std::optional<std::int64_t>> next_due(const std::string& webhook_id);
  // Stores an attempt's outcome (a delivered batch's payload is dropped).
  Result<bool> record_attempt(std::int64_t batch_row_id, const Attempt& a);
  // The newest batches of `webhook_id` (payloads left out).
  Result<std::vector<BatchRow>> batches(const std::string& webhook_id, std::size_t limit);
  // The newest delivery attempts of `webhook_id`, newest first.
  Result<std::vector<AttemptRow>> attempts(const std::string& webhook_id, std::size_t limit);
  // Deletes delivered and failed batches created before `before_ms`, and
  // attempts older than that.
  Result<bool> prune(std::int64_t before_ms);
  Result<QueueStats> stats();

  // Takes or renews the lease `name` for `owner` until `now_ms + ttl_ms`;
  // false while another owner holds it unexpired. `stale_owner(owner)` may
  // say that the holder is gone (a dead process on this host): taken at once.
  Result<bool> lease(const std::string& name, const std::string& owner, std::int64_t now_ms,
                     std::int64_t ttl_ms, bool (*stale_owner)(const std::string&) = nullptr);
  Result<bool> release(const std::string& name, const std::string& owner);

  struct Impl;
  explicit WebhookStore(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace trackrelay::store
