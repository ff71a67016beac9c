// store/event_metrics.h — SparkPost's deliverability metrics over the events
// table: injections, clicks and renders (opens), overall or per campaign,
// sending domain, tracking domain or subaccount, for one Selection
// (event_filter.h). Counted by the database over the whole range, never from a page.
//
// Definitions (docs/api.md): count_injected = injection events;
// count_clicked = click events; count_rendered = open + initial_open events;
// count_initial_rendered = initial_open events; the unique counts are the
// distinct (message_id, rcpt_to) pairs with at least one click
// (count_unique_clicked) or render (count_unique_rendered). A link for a
// message with several recipients and no per-recipient copy names no
// recipient: its clicks count once per message.
// May call: store/event_filter.h, store/event_sql.h, base/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "store/event_filter.h"

namespace trackrelay::store {

struct Deliverability {
  std::string key;  // the group's value ("" overall; subaccount ids in decimal)
  std::int64_t count_injected = 0;
  std::int64_t count_clicked = 0;
  std::int64_t count_unique_clicked = 0;
  std::int64_t count_rendered = 0;
  std::int64_t count_unique_rendered = 0;
  std::int64_t count_initial_rendered = 0;
};

// `group`: "" (one row, also when nothing matches), or "campaign_id",
// "sending_domain", "tracking_domain", "subaccount_id" (one row per value
// seen, ordered by value). Reads through its own connection to `path`.
Result<std::vector<Deliverability>> deliverability(const std::string& path, const Selection& s,
                                                   const std::string& group);

}  // namespace trackrelay::store
