// tests/store/classification_test.cc — who clicked in the store (schema 4):
// an event's classification and reasons survive the round trip and appear in
// its JSON; the v3 → v4 migration leaves existing events unclassified (no
// `classification` in their JSON); the classifications filter of queries and
// summaries; per-classification counts in the summary.
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>
#include <map>

#include "pg_fixture.h"
#include "store/event_json.h"
#include "store/event_store.h"
#include "store/event_summary.h"
#include "store_test_util.h"

namespace trackrelay::store {
namespace {

using testing::sqlite;
using Dir = testing::TempDir;

std::unique_ptr<EventStore> open_events(const std::string& path) {
  Options o;
  o.path = path;
  auto s = EventStore::open(std::move(o));
  EXPECT_TRUE(s.ok()) << (s ? "" : s.error());
  return s ? std::move(s).value() : nullptr;
}

Event event(const std::string& type, const std::string& kind, std::vector<std::string> reasons,
            std::int64_t ts) {
  Event e;
  e.type = type;
  e.timestamp_ms = ts;
  e.tracking_domain = "click.example.com";
  e.target_link_url = type == "click" ? "https://www.example.org/" : "";
  e.method = "GET";
  e.classification = kind;
  e.classification_reasons = std::move(reasons);
  return e;
}

// The tests below run on SQLite and on PostgreSQL.
class ClassificationBackends : public testing::BackendTest {};
INSTANTIATE_TEST_SUITE_P(Backends, ClassificationBackends, testing::kBackends,
                         testing::backend_name);

TEST_P(ClassificationBackends, RoundTripsAndIsInTheJson) {
  auto s = open_events(store());
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->append_and_wait(event("click", "scanner", {"barracuda", "head_request"}, 10)));
  ASSERT_TRUE(s->append_and_wait(event("open", "human", {}, 20)));
  Query q;
  q.newest_first = false;
  auto page = s->query(q);
  ASSERT_TRUE(page.ok()) << page.error();
  ASSERT_EQ(page->events.size(), 2u);
  EXPECT_EQ(page->events[0].classification, "scanner");
  EXPECT_EQ(page->events[0].classification_reasons,
            (std::vector<std::string>{"barracuda", "head_request"}));
  EXPECT_TRUE(page->events[1].classification_reasons.empty());
  const auto j = to_json(page->events[0]);
  EXPECT_EQ(boost::json::serialize(j.at("classification")),
            R"({"kind":"scanner","reasons":["barracuda","head_request"]})");
  EXPECT_EQ(boost::json::serialize(to_json(page->events[1]).at("classification")),
            R"({"kind":"human","reasons":[]})");
}

TEST_P(ClassificationBackends, FiltersQueriesAndSummaries) {
  const std::string db = store();
  auto s = open_events(db);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->append_and_wait(event("click", "scanner", {"head_request"}, 10)));
  ASSERT_TRUE(s->append_and_wait(event("click", "human", {}, 20)));
  ASSERT_TRUE(s->append_and_wait(event("open", "image_proxy", {"gmail_image_proxy"}, 30)));
  ASSERT_TRUE(s->append_and_wait(event("click", "human", {}, 40)));
  Query q;
  q.filters = {{"classification", {"human"}}};
  auto page = s->query(q);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->events.size(), 2u);
  q.filters = {{"classification", {"scanner", "image_proxy"}}};
  page = s->query(q);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->events.size(), 2u);

  SummaryQuery sq;
  sq.from_ms = 0;
  sq.to_ms = 100;
  sq.bucket_ms = 100;
  auto sum = summarize(db, sq);
  ASSERT_TRUE(sum.ok()) << sum.error();
  std::map<std::string, TypeCounts> by;
  for (const KeyCount& k : sum->classifications) by[k.key] = k.counts;
  EXPECT_EQ(by["human"][0], 2);
  EXPECT_EQ(by["scanner"][0], 1);
  EXPECT_EQ(by["image_proxy"][1], 1);
  sq.classifications = {"human"};
  sum = summarize(db, sq);
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(sum->totals[0], 2);
  EXPECT_EQ(sum->totals[1], 0);
}

TEST(Classification, MigratingVersion5LeavesEventsUnclassified) {
  Dir dir;
  const std::string db = dir.file("v5.db");
  { ASSERT_TRUE(open_events(db)); }
  sqlite(db, testing::wind_back_sql(5));
  sqlite(db,
         "INSERT INTO events (event_id, type, ts_ms, tracking_domain, "
         "target_link_url, target_link_name, message_id, rcpt_to, campaign_id, sending_domain, "
         "user_agent, ip_address, method) VALUES ('e1', 'click', 5, 'click.example.com', "
         "'https://x.example/', '', 'm', 'r', 'c', 's', 'ua', '192.0.2.1', 'GET');");
  ASSERT_EQ(sqlite(db, "PRAGMA user_version"), "5");
  auto s = open_events(db);
  ASSERT_TRUE(s);
  EXPECT_EQ(sqlite(db, "PRAGMA user_version"), std::to_string(kSchemaVersion));
  auto page = s->query(Query{});
  ASSERT_TRUE(page.ok()) << page.error();
  ASSERT_EQ(page->events.size(), 1u);
  EXPECT_EQ(page->events[0].classification, "");
  EXPECT_FALSE(to_json(page->events[0]).contains("classification"));
  Query human;
  human.filters = {{"classification", {"human"}}};
  EXPECT_TRUE(s->query(human)->events.empty());
}

}  // namespace
}  // namespace trackrelay::store
