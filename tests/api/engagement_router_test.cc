// tests/api/engagement_router_test.cc — issue 11 through the Router with a
// real store: /events/message takes SparkPost's filters (each selects
// exactly its events), total_count counts every page, an unknown parameter
// is a 400 in SparkPost's error shape, scope follows the key;
// /metrics/deliverability agrees with the events, grouped and filtered.
#include <chrono>
#include <set>

#include "api_test_util.h"
#include "store/event_json.h"

namespace trackrelay::api::testing {
namespace {

std::string s(const json::value& v) {
  return std::string(v.as_string());
}

class Engagement : public Api {
 protected:
  void SetUp() override {
    Api::SetUp();
    now_ = std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count();
    auto sub = call("POST", "/subaccounts", R"({"name": "S", "setup_api_key": true})");
    ASSERT_EQ(sub.status, 200) << error_text(sub);
    sub_id_ = sub.body.at("results").at("subaccount_id").as_int64();
    sub_key_ = s(sub.body.at("results").at("key"));
    // Message 1 (primary, spring, two recipients), message 2 (the subaccount's).
    add("injection", "111", "alice@x.org", "spring", 0);
    add("injection", "111", "bob@x.org", "spring", 0);
    add("injection", "222", "carol@y.org", "autumn", sub_id_, "y.org", "t.y.org");
    add("click", "111", "alice@x.org", "spring", 0);
    add("click", "111", "alice@x.org", "spring", 0);
    add("open", "111", "bob@x.org", "spring", 0);
    add("initial_open", "222", "carol@y.org", "autumn", sub_id_, "y.org", "t.y.org");
    add("click", "222", "carol@y.org", "autumn", sub_id_, "y.org", "t.y.org");
  }
  void add(const std::string& type, const std::string& tx, const std::string& rcpt,
           const std::string& campaign, std::int64_t sub, const std::string& sending = "x.org",
           const std::string& tracking = "t.x.org") {
    store::Event e;
    e.type = type;
    e.timestamp_ms = now_ - 60000 + static_cast<std::int64_t>(written_.size());
    e.transmission_id = tx;
    e.message_id = "m" + tx + "@x";
    e.rcpt_to = rcpt;
    e.raw_rcpt_to = rcpt;
    e.campaign_id = campaign;
    e.subaccount_id = sub;
    e.sending_domain = sending;
    e.tracking_domain = tracking;
    if (type == "injection") e.rcpt_meta = R"({"k":"v"})";
    ASSERT_TRUE(events_->append_and_wait(e).ok());
    written_.push_back(e);
  }
  // Every event of the query, following links.next.
  std::vector<json::value> search(const std::string& query, std::int64_t* total = nullptr) {
    std::vector<json::value> out;
    auto r = call("GET", "/events/message?per_page=2&" + query);
    EXPECT_EQ(r.status, 200) << query << ": " << error_text(r);
    if (r.status != 200) return out;
    if (total) *total = r.body.at("total_count").as_int64();
    for (;;) {
      for (const auto& e : r.body.at("results").as_array()) out.push_back(e);
      const auto& links = r.body.at("links").as_object();
      if (!links.contains("next")) break;
      r = call("GET", s(links.at("next")).substr(7));
      EXPECT_EQ(r.status, 200);
      if (r.status != 200) break;
    }
    return out;
  }
  std::int64_t now_ = 0;
  std::int64_t sub_id_ = 0;
  std::string sub_key_;
  std::vector<store::Event> written_;
};

TEST_F(Engagement, EachFilterSelectsExactlyItsEvents) {
  struct Case {
    std::string query;
    std::string field;
    std::set<std::string> values;
    std::size_t n;
  };
  const std::vector<Case> cases = {
      {"events=click,open", "type", {"click", "open"}, 4},
      {"events=injection", "type", {"injection"}, 3},
      {"campaigns=autumn", "campaign_id", {"autumn"}, 3},
      {"campaign_ids=spring", "campaign_id", {"spring"}, 5},
      {"recipients=ALICE@x.org,carol@y.org", "rcpt_to", {"alice@x.org", "carol@y.org"}, 6},
      {"message_ids=m222@x", "message_id", {"m222@x"}, 3},
      {"transmission_ids=111", "transmission_id", {"111"}, 5},
      {"sending_domains=Y.org", "sending_domain", {"y.org"}, 3},
      {"tracking_domains=t.x.org", "tracking_domain", {"t.x.org"}, 5},
  };
  for (const Case& c : cases) {
    std::int64_t total = -1;
    auto got = search(c.query, &total);
    EXPECT_EQ(got.size(), c.n) << c.query;
    EXPECT_EQ(total, static_cast<std::int64_t>(c.n))
        << c.query << ": total_count counts every page";
    for (const auto& e : got) EXPECT_TRUE(c.values.count(s(e.at(c.field)))) << c.query;
  }
  auto subs = search("subaccounts=" + std::to_string(sub_id_));
  EXPECT_EQ(subs.size(), 3u);
  for (const auto& e : subs) EXPECT_EQ(e.at("subaccount_id").as_int64(), sub_id_);
  EXPECT_EQ(search("subaccounts=0").size(), 5u);
  EXPECT_EQ(search("").size(), 8u) << "the primary key sees every account's events";
  EXPECT_EQ(search("campaigns=spring&events=click").size(), 2u) << "filters are ANDed";
  auto inj = search("events=injection&recipients=bob@x.org");
  ASSERT_EQ(inj.size(), 1u);
  EXPECT_EQ(s(inj[0].at("rcpt_meta").at("k")), "v");
}

TEST_F(Engagement, UnknownOrBadParametersAreRefused) {
  for (const char* q : {"campaign=spring", "bounce_classes=1", "templates=t", "page=2"}) {
    auto r = call("GET", std::string("/events/message?") + q);
    EXPECT_EQ(r.status, 400) << q;
    EXPECT_NE(error_text(r).find("unsupported parameter"), std::string::npos) << error_text(r);
    ASSERT_TRUE(r.body.at("errors").at(0).as_object().contains("code"));
  }
  EXPECT_EQ(call("GET", "/events/message?events=bounce").status, 422);
  EXPECT_EQ(call("GET", "/events/message?per_page=0").status, 422);
  EXPECT_EQ(call("GET", "/events/message?per_page=10001").status, 422);
  EXPECT_EQ(call("GET", "/events/message?subaccounts=x").status, 422);
  EXPECT_EQ(call("GET", "/events/message?timezone=America/New_York").status, 422);
  EXPECT_EQ(call("GET", "/events/message?cursor=abc").status, 422);
}

TEST_F(Engagement, TimezoneAppliesToTimesWithoutAZone) {
  // The events are a minute old; the window now-1h .. now+1h (UTC, no zone)
  // read as +03:00 is now-4h .. now-2h (none), read as -00:30 it holds them.
  const auto to = store::format_iso8601(now_ + 3600 * 1000).substr(0, 16);  // no zone
  const auto from = store::format_iso8601(now_ - 3600 * 1000).substr(0, 16);
  EXPECT_EQ(search("from=" + from + "&to=" + to + "&timezone=UTC").size(), 8u);
  EXPECT_EQ(search("from=" + from + "&to=" + to + "&timezone=%2B03:00").size(), 0u);
  EXPECT_EQ(search("from=" + from + "&to=" + to + "&timezone=-00:30").size(), 8u);
}

TEST_F(Engagement, ASubaccountKeySeesOnlyItsOwnEvents) {
  auto r = call("GET", "/events/message", "", sub_key_);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body.at("total_count").as_int64(), 3);
  for (const auto& e : r.body.at("results").as_array()) {
    EXPECT_EQ(e.at("subaccount_id").as_int64(), sub_id_);
  }
  r = call("GET", "/events/message?subaccounts=0", "", sub_key_);
  EXPECT_EQ(r.body.at("total_count").as_int64(), 0) << "a filter never widens the scope";
  r = call("GET", "/events/message", "", "", std::string("0"));
  EXPECT_EQ(r.body.at("total_count").as_int64(), 5) << "X-MSYS-SUBACCOUNT: 0 is the primary's";
}

TEST_F(Engagement, DeliverabilityAgreesWithTheEvents) {
  const std::string from = "from=" + store::format_iso8601(now_ - 3600 * 1000);
  auto r = call("GET", "/metrics/deliverability?" + from);
  ASSERT_EQ(r.status, 200) << error_text(r);
  const auto& all = r.body.at("results").at(0);
  EXPECT_EQ(all.at("count_injected").as_int64(), 3);
  EXPECT_EQ(all.at("count_clicked").as_int64(), 3);
  EXPECT_EQ(all.at("count_unique_clicked").as_int64(), 2);
  EXPECT_EQ(all.at("count_rendered").as_int64(), 2);
  EXPECT_EQ(all.at("count_unique_rendered").as_int64(), 2);
  EXPECT_EQ(all.at("count_initial_rendered").as_int64(), 1);
  // Counting the events the events API returns gives the same numbers.
  for (const char* group : {"campaign", "sending-domain", "subaccount", "tracking-domain"}) {
    r = call("GET", std::string("/metrics/deliverability/") + group + "?" + from +
                        "&metrics=count_injected,count_clicked");
    ASSERT_EQ(r.status, 200) << group << ": " << error_text(r);
    std::int64_t injected = 0, clicked = 0;
    for (const auto& row : r.body.at("results").as_array()) {
      EXPECT_EQ(row.as_object().size(), 3u) << "the group and the two metrics asked for";
      injected += row.at("count_injected").as_int64();
      clicked += row.at("count_clicked").as_int64();
    }
    EXPECT_EQ(injected, static_cast<std::int64_t>(search("events=injection").size())) << group;
    EXPECT_EQ(clicked, static_cast<std::int64_t>(search("events=click").size())) << group;
  }
  r = call("GET", "/metrics/deliverability/campaign?" + from + "&campaigns=autumn");
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(r.body.at("results").as_array().size(), 1u);
  EXPECT_EQ(s(r.body.at("results").at(0).at("campaign_id")), "autumn");
  EXPECT_EQ(r.body.at("results").at(0).at("count_unique_rendered").as_int64(), 1);
  r = call("GET", "/metrics/deliverability/subaccount?" + from, "", sub_key_);
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(r.body.at("results").as_array().size(), 1u);
  EXPECT_EQ(r.body.at("results").at(0).at("subaccount_id").as_int64(), sub_id_);
  EXPECT_EQ(r.body.at("results").at(0).at("count_injected").as_int64(), 1);
  r = call("GET", "/metrics/deliverability/campaign?" + from + "&order_by=count_injected&limit=1");
  ASSERT_EQ(r.body.at("results").as_array().size(), 1u);
  EXPECT_EQ(s(r.body.at("results").at(0).at("campaign_id")), "spring");
}

TEST_F(Engagement, DeliverabilityParameters) {
  EXPECT_EQ(call("GET", "/metrics/deliverability").status, 400) << "from is required";
  const std::string from = "from=2024-01-01T00:00";
  EXPECT_EQ(call("GET", "/metrics/deliverability?" + from + "&metrics=count_bounce").status, 400);
  EXPECT_EQ(call("GET", "/metrics/deliverability?" + from + "&domains=gmail.com").status, 400);
  EXPECT_EQ(call("GET", "/metrics/deliverability?" + from + "&recipients=a@b").status, 400);
  EXPECT_EQ(call("GET", "/metrics/deliverability?" + from + "&limit=0").status, 422);
  EXPECT_EQ(call("GET", "/metrics/deliverability?" + from +
                            "&order_by=count_clicked&metrics=count_injected")
                .status,
            422);
  EXPECT_EQ(call("GET", "/metrics/deliverability?from=2030-01-01T00:00&to=2029-01-01T00:00").status,
            422);
  auto r = call("GET", "/metrics/deliverability?from=2020-01-01T00:00&to=2020-01-02T00:00");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body.at("results").at(0).at("count_injected").as_int64(), 0) << "one row, zeros";
}

}  // namespace
}  // namespace trackrelay::api::testing
