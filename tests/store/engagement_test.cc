// tests/store/engagement_test.cc — issue 11 in the store: injection events,
// clicks and opens joined with their message's injection at write, the
// events filters (each selects exactly its events) and total counts, the
// SparkPost JSON of every kind, and deliverability metrics that agree with
// counting the events by hand.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <set>

#include "pg_fixture.h"
#include "store/event_json.h"
#include "store/event_metrics.h"
#include "store/event_store.h"
#include "store_test_util.h"

namespace trackrelay::store {
namespace {

using TempDir = testing::TempDir;
using testing::sqlite;

constexpr std::int64_t kT0 = 1795000000000;

Event injection(std::string tx, std::string rcpt, std::string campaign, std::int64_t sub = 0) {
  Event e;
  e.type = "injection";
  e.timestamp_ms = kT0;
  e.transmission_id = std::move(tx);
  e.message_id = "msg-" + e.transmission_id + "@example.com";
  e.rcpt_to = rcpt;
  e.raw_rcpt_to = rcpt;
  e.campaign_id = std::move(campaign);
  e.subaccount_id = sub;
  e.rcpt_meta = R"({"user":"42","plan":"gold"})";
  e.rcpt_tags = R"(["welcome","b"])";
  e.friendly_from = "news@example.com";
  e.msg_from = "bounce@example.com";
  e.sending_domain = "example.com";
  e.tracking_domain = "click.example.com";
  e.msg_size = 1234;
  return e;
}

// A click or open as the tracker writes it: only what the token carries.
Event engagement(std::string type, const Event& inj, std::string rcpt, std::int64_t dt = 1000) {
  Event e;
  e.type = std::move(type);
  e.timestamp_ms = kT0 + dt;
  e.transmission_id = inj.transmission_id;
  e.message_id = inj.message_id;
  e.rcpt_to = rcpt;
  e.raw_rcpt_to = rcpt;
  e.campaign_id = inj.campaign_id;
  e.subaccount_id = inj.subaccount_id;
  e.sending_domain = inj.sending_domain;
  e.tracking_domain = inj.tracking_domain;
  if (e.type == "click") e.target_link_url = "https://example.com/x";
  e.user_agent = "UA";
  e.ip_address = "192.0.2.1";
  e.method = "GET";
  return e;
}

std::unique_ptr<EventStore> open_at(const std::string& path) {
  Options o;
  o.path = path;
  auto s = EventStore::open(std::move(o));
  EXPECT_TRUE(s.ok()) << (s ? "" : s.error());
  return s ? std::move(s).value() : nullptr;
}

std::vector<Event> all(const EventStore& s, Query q = {}) {
  q.limit = kMaxLimit;
  auto p = s.query(q);
  EXPECT_TRUE(p.ok()) << (p ? "" : p.error());
  return p ? p->events : std::vector<Event>{};
}

TEST(Engagement, MigratesVersion3EventsWithEmptyMessageFields) {
  TempDir dir;
  const std::string db = dir.file("v3.db");
  ASSERT_TRUE(open_at(db));
  // Wind the fresh file back to version 3 and write an event as it did.
  sqlite(db, testing::wind_back_sql(3));
  sqlite(db,
         "INSERT INTO events (event_id, type, ts_ms, tracking_domain, target_link_url, "
         "target_link_name, message_id, rcpt_to, campaign_id, sending_domain, user_agent, "
         "ip_address, method, subaccount_id) VALUES ('e1', 'click', 5, 'click.example.com', "
         "'https://x.example/', '', 'm', 'r@x.org', 'c', 's', 'ua', '192.0.2.1', 'GET', 2);");
  ASSERT_EQ(sqlite(db, "PRAGMA user_version"), "3");
  auto s = open_at(db);
  ASSERT_TRUE(s);
  EXPECT_EQ(sqlite(db, "PRAGMA user_version"), std::to_string(kSchemaVersion));
  auto got = all(*s);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].event_id, "e1");
  EXPECT_EQ(got[0].subaccount_id, 2);
  EXPECT_EQ(got[0].transmission_id, "");
  auto j = to_json(got[0]);
  EXPECT_TRUE(j.at("rcpt_meta").as_object().empty());
  EXPECT_TRUE(j.at("rcpt_tags").as_array().empty());
}

// The tests below run on SQLite and on PostgreSQL.
class EngagementBackends : public testing::BackendTest {};
INSTANTIATE_TEST_SUITE_P(Backends, EngagementBackends, testing::kBackends, testing::backend_name);
using testing::read_sql;

TEST_P(EngagementBackends, InjectionsAreWrittenTogetherInOneCommit) {
  auto s = open_at(store());
  ASSERT_TRUE(s);
  const auto before = s->stats().commits;
  ASSERT_TRUE(
      s->append_all_and_wait({injection("1", "a@x.org", "c"), injection("1", "b@x.org", "c"),
                              injection("1", "c@x.org", "c")})
          .ok());
  EXPECT_EQ(s->stats().commits, before + 1) << "one durable write per message";
  EXPECT_EQ(read_sql(store(), "SELECT count(*) FROM events WHERE type='injection'"), "3");
  EXPECT_TRUE(s->append_all_and_wait({}).ok());
}

TEST_P(EngagementBackends, ClicksAndOpensGetTheirMessageJoinedAtWrite) {
  auto s = open_at(store());
  ASSERT_TRUE(s);
  Event a = injection("111", "alice@x.org", "spring");
  Event b = injection("111", "bob@x.org", "spring");
  b.raw_rcpt_to = "Bob@X.org";
  b.rcpt_meta = R"({"user":"43"})";
  ASSERT_TRUE(s->append_all_and_wait({a, b}).ok());
  ASSERT_TRUE(s->append_and_wait(engagement("click", a, "bob@x.org")).ok());
  Event multi = engagement("open", a, "");  // a link for several recipients names none
  ASSERT_TRUE(s->append_and_wait(multi).ok());
  Event stranger = engagement("click", a, "alice@x.org");
  stranger.transmission_id = "999";  // no such message: nothing to join
  ASSERT_TRUE(s->append_and_wait(stranger).ok());

  Query q;
  q.filters = {{"type", {"click", "open"}}};
  q.newest_first = false;
  auto got = all(*s, q);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].raw_rcpt_to, "bob@x.org") << "the token's own recipient wins";
  EXPECT_EQ(got[0].rcpt_meta, R"({"user":"43"})") << "bob's metadata, not alice's";
  EXPECT_EQ(got[0].rcpt_tags, R"(["welcome","b"])");
  EXPECT_EQ(got[0].friendly_from, "news@example.com");
  EXPECT_EQ(got[0].msg_from, "bounce@example.com");
  EXPECT_EQ(got[1].rcpt_to, "");
  EXPECT_EQ(got[1].rcpt_meta, a.rcpt_meta) << "the message's metadata without a recipient";
  EXPECT_EQ(got[2].rcpt_meta, "");
  EXPECT_EQ(got[2].friendly_from, "");

  // The SparkPost JSON of each kind.
  auto click = to_json(got[0]);
  EXPECT_EQ(click.at("transmission_id").as_string(), "111");
  EXPECT_EQ(click.at("rcpt_meta").as_object().at("user").as_string(), "43");
  EXPECT_EQ(click.at("rcpt_tags").as_array().size(), 2u);
  EXPECT_EQ(click.at("subaccount_id").as_int64(), 0);
  for (const char* k : {"type", "event_id", "timestamp", "message_id", "campaign_id", "rcpt_to",
                        "raw_rcpt_to", "friendly_from", "sending_domain", "tracking_domain",
                        "target_link_url", "target_link_name", "user_agent", "ip_address"}) {
    EXPECT_TRUE(click.contains(k)) << k;
  }
  EXPECT_TRUE(to_json(got[2]).at("rcpt_meta").as_object().empty());
  Query bobs;
  bobs.filters = {{"rcpt_to", {"bob@x.org"}}, {"type", {"injection"}}};
  auto inj = to_json(all(*s, bobs).at(0));
  EXPECT_EQ(inj.at("msg_size").as_string(), "1234");
  EXPECT_EQ(inj.at("raw_rcpt_to").as_string(), "Bob@X.org");
  EXPECT_FALSE(inj.contains("target_link_url"));
}

TEST_P(EngagementBackends, EachFilterSelectsExactlyItsEventsAndCountsAllPages) {
  auto s = open_at(store());
  ASSERT_TRUE(s);
  Event m1 = injection("100", "alice@x.org", "spring");
  Event m2 = injection("200", "bob@x.org", "autumn", 3);
  m2.sending_domain = "other.example";
  m2.tracking_domain = "t.other.example";
  ASSERT_TRUE(s->append_all_and_wait({m1, m2}).ok());
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(s->append_and_wait(engagement("click", m1, "alice@x.org", i)).ok());
  ASSERT_TRUE(s->append_and_wait(engagement("initial_open", m2, "bob@x.org")).ok());
  ASSERT_TRUE(s->append_and_wait(engagement("open", m2, "bob@x.org")).ok());
  // column → (value, how many events have it)
  const std::vector<std::tuple<std::string, std::string, std::size_t>> cases = {
      {"type", "click", 5},
      {"type", "injection", 2},
      {"campaign_id", "autumn", 3},
      {"rcpt_to", "alice@x.org", 6},
      {"message_id", m2.message_id, 3},
      {"transmission_id", "100", 6},
      {"sending_domain", "other.example", 3},
      {"tracking_domain", "click.example.com", 6},
      {"subaccount_id", "3", 3},
      {"subaccount_id", "0", 6}};
  for (const auto& [column, value, n] : cases) {
    Query q;
    q.filters = {{column, {value}}};
    q.limit = 2;
    auto events = all(*s, q);
    EXPECT_EQ(events.size(), n) << column << "=" << value;
    for (const Event& e : events) {
      const std::string got = column == "type"              ? e.type
                              : column == "campaign_id"     ? e.campaign_id
                              : column == "rcpt_to"         ? e.rcpt_to
                              : column == "message_id"      ? e.message_id
                              : column == "transmission_id" ? e.transmission_id
                              : column == "sending_domain"  ? e.sending_domain
                              : column == "tracking_domain" ? e.tracking_domain
                                                            : std::to_string(e.subaccount_id);
      EXPECT_EQ(got, value) << column;
    }
    auto page = s->query(q);
    ASSERT_TRUE(page.ok());
    EXPECT_EQ(page->events.size(), std::min<std::size_t>(2, n));
    auto total = s->count(q);
    ASSERT_TRUE(total.ok()) << total.error();
    EXPECT_EQ(*total, static_cast<std::int64_t>(n)) << "total_count is every page's";
  }
  // ANDed across filters, ORed within one.
  Query both;
  both.filters = {{"campaign_id", {"spring", "autumn"}}, {"type", {"open", "initial_open"}}};
  EXPECT_EQ(*s->count(both), 2);
  Query none;
  none.filters = {{"campaign_id", {}}};
  EXPECT_EQ(*s->count(none), 0);
  EXPECT_TRUE(all(*s, none).empty());
  Query scoped;
  scoped.subaccount_id = 3;
  scoped.filters = {{"subaccount_id", {"0"}}};
  EXPECT_EQ(*s->count(scoped), 0) << "a filter never widens the caller's scope";
  Query unknown;
  unknown.filters = {{"user_agent; DROP TABLE events", {"x"}}};
  EXPECT_FALSE(s->query(unknown).ok());
  EXPECT_FALSE(s->count(unknown).ok());
  Query not_int;
  not_int.filters = {{"subaccount_id", {"x"}}};
  EXPECT_FALSE(s->count(not_int).ok());
}

TEST_P(EngagementBackends, DeliverabilityAgreesWithCountingByHand) {
  const std::string path = store();
  auto s = open_at(path);
  ASSERT_TRUE(s);
  std::vector<Event> written;
  auto add = [&](std::vector<Event> es) {
    for (const Event& e : es) written.push_back(e);
    ASSERT_TRUE(s->append_all_and_wait(std::move(es)).ok());
  };
  Event a = injection("1", "a@x.org", "spring"), b = injection("1", "b@x.org", "spring");
  Event c = injection("2", "c@x.org", "autumn", 4);
  add({a, b});
  add({c});
  add({engagement("click", a, "a@x.org"), engagement("click", a, "a@x.org"),
       engagement("click", b, "b@x.org"), engagement("initial_open", a, "a@x.org"),
       engagement("open", a, "a@x.org"), engagement("open", c, "c@x.org"),
       engagement("open", c, "c@x.org", 9999999)});  // outside the range below
  Selection sel;
  sel.from_ms = kT0;
  sel.to_ms = kT0 + 100000;
  auto by_hand = [&](const std::string& campaign) {
    Deliverability d;
    std::set<std::string> clicked, rendered;
    for (const Event& e : written) {
      if (e.timestamp_ms < *sel.from_ms || e.timestamp_ms >= *sel.to_ms) continue;
      if (!campaign.empty() && e.campaign_id != campaign) continue;
      const std::string who = e.message_id + "\n" + e.rcpt_to;
      if (e.type == "injection") ++d.count_injected;
      if (e.type == "click") ++d.count_clicked, clicked.insert(who);
      if (e.type == "open" || e.type == "initial_open") ++d.count_rendered, rendered.insert(who);
      if (e.type == "initial_open") ++d.count_initial_rendered;
    }
    d.count_unique_clicked = static_cast<std::int64_t>(clicked.size());
    d.count_unique_rendered = static_cast<std::int64_t>(rendered.size());
    return d;
  };
  auto expect_same = [](const Deliverability& got, const Deliverability& want,
                        const std::string& what) {
    EXPECT_EQ(got.count_injected, want.count_injected) << what;
    EXPECT_EQ(got.count_clicked, want.count_clicked) << what;
    EXPECT_EQ(got.count_unique_clicked, want.count_unique_clicked) << what;
    EXPECT_EQ(got.count_rendered, want.count_rendered) << what;
    EXPECT_EQ(got.count_unique_rendered, want.count_unique_rendered) << what;
    EXPECT_EQ(got.count_initial_rendered, want.count_initial_rendered) << what;
  };
  auto overall = deliverability(path, sel, "");
  ASSERT_TRUE(overall.ok()) << overall.error();
  ASSERT_EQ(overall->size(), 1u);
  expect_same(overall->front(), by_hand(""), "overall");
  EXPECT_EQ(overall->front().count_injected, 3);
  EXPECT_EQ(overall->front().count_unique_clicked, 2);
  auto grouped = deliverability(path, sel, "campaign_id");
  ASSERT_TRUE(grouped.ok()) << grouped.error();
  ASSERT_EQ(grouped->size(), 2u);
  for (const Deliverability& d : *grouped) expect_same(d, by_hand(d.key), d.key);
  auto subs = deliverability(path, sel, "subaccount_id");
  ASSERT_TRUE(subs.ok());
  ASSERT_EQ(subs->size(), 2u);
  EXPECT_EQ(subs->at(1).key, "4");
  sel.subaccount_id = 4;  // a subaccount's view
  auto mine = deliverability(path, sel, "");
  ASSERT_TRUE(mine.ok());
  EXPECT_EQ(mine->front().count_injected, 1);
  EXPECT_EQ(mine->front().count_clicked, 0);
  EXPECT_FALSE(deliverability(path, sel, "user_agent").ok());
  sel.filters = {{"campaign_id", {}}};
  auto empty = deliverability(path, sel, "");
  ASSERT_TRUE(empty.ok());
  ASSERT_EQ(empty->size(), 1u);
  EXPECT_EQ(empty->front().count_injected, 0);
}

}  // namespace
}  // namespace trackrelay::store
