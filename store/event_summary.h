// store/event_summary.h — aggregates of the recorded events, counted by
// the database (SQLite or PostgreSQL): clicks and opens per time bucket, top links by clicks,
// counts per tracking domain and per campaign. What the dashboard's Engagement page and GET
// /api/v1/events/summary show, without paging through every event. May call: base/,
// store/event_sql.h (its own read connection per call). Called by api/.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace trackrelay::store {

struct SummaryQuery {
  std::int64_t from_ms = 0;        // timestamp >= from
  std::int64_t to_ms = 0;          // timestamp <  to
  std::int64_t bucket_ms = 0;      // > 0; (to - from) / bucket_ms buckets at most kMaxBuckets
  std::vector<std::string> types;  // empty: every type
  std::vector<std::string> campaign_ids;  // empty: every campaign
  std::vector<std::string> tracking_domains;
  bool only_listed_domains = false;           // as Query: an empty list then matches nothing
  std::optional<std::int64_t> subaccount_id;  // as Query: one account's events; nullopt: all
  std::size_t top = 10;                       // top links, campaigns and domains: at most this many
  std::vector<std::string> classifications;   // who clicked (track/classify.h); empty: all
};
inline constexpr std::int64_t kMaxBuckets = 2000;

// Counts by type, in the order click, open, initial_open.
using TypeCounts = std::array<std::int64_t, 3>;

struct LinkCount {
  std::string url;
  std::string name;  // data-msys-linkname, "" when the link had none
  std::int64_t clicks = 0;
};

struct KeyCount {
  std::string key;  // a tracking domain or a campaign id ("" = none)
  TypeCounts counts{};
};

struct Summary {
  TypeCounts totals{};
  std::vector<TypeCounts> buckets;   // bucket i starts at from + i * bucket_ms; zeros included
  std::vector<LinkCount> top_links;  // most clicks first
  std::vector<KeyCount> domains;     // most events first
  std::vector<KeyCount> campaigns;   // most events first
  // Who clicked: human, apple_mpp, ...; "" for events recorded before schema 4.
  std::vector<KeyCount> classifications;
};

// Index of `type` in TypeCounts, or -1.
int type_index(std::string_view type);

// Counts the events of the store file at `path` (never created) that match `q`.
Result<Summary> summarize(const std::string& path, const SummaryQuery& q);

}  // namespace trackrelay::store
