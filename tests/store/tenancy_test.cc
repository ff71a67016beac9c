// tests/store/tenancy_test.cc — the store half of issue 10 (tenants bound to
// what they own): the v2 → v3 migration gives existing sending domains a
// verification token and leaves them unverified; verification state is
// stored; keys of suspended, terminated or deleted subaccounts do not
// authenticate (and do again when reactivated); a subaccount's status change
// bumps the change counter and is in the snapshot; events keep their
// subaccount_id and are filtered by it, never by tracking domain. The
// domain-store tests (TenancyOn) run on both backends.
#include <gtest/gtest.h>

#include "pg_fixture.h"
#include "store/domain_store.h"
#include "store/event_store.h"
#include "store/event_summary.h"
#include "store_test_util.h"

namespace trackrelay::store {
namespace {

using testing::sqlite;
using Dir = testing::TempDir;
using TenancyOn = testing::BackendTest;

// Undoes migration 4 (the events' message fields, issue 11).
constexpr const char* kWindBackVersion4 =
    "DROP INDEX events_transmission; DROP INDEX events_campaign; DROP INDEX events_rcpt; "
    "DROP INDEX events_type; ALTER TABLE events DROP COLUMN transmission_id; "
    "ALTER TABLE events DROP COLUMN raw_rcpt_to; ALTER TABLE events DROP COLUMN rcpt_meta; "
    "ALTER TABLE events DROP COLUMN rcpt_tags; ALTER TABLE events DROP COLUMN friendly_from; "
    "ALTER TABLE events DROP COLUMN msg_from; ALTER TABLE events DROP COLUMN msg_size; "
    "PRAGMA user_version = 3;";

std::unique_ptr<DomainStore> open_store(const std::string& path) {
  auto s = DomainStore::open(path);
  EXPECT_TRUE(s.ok()) << (s ? "" : s.error());
  return s ? std::move(s).value() : nullptr;
}

TEST(Tenancy, MigratesVersion2SendingDomainsToUnverifiedWithATokenAndEventsToPrimary) {
  Dir dir;
  const std::string db = dir.file("v2.db");
  {
    auto s = open_store(db);
    ASSERT_TRUE(s);
  }
  // Wind the fresh file back to what version 2 had: no proof columns, no owner
  // (and none of version 4's message fields).
  sqlite(db, kWindBackVersion4);
  sqlite(db,
         "DROP TABLE sending_domains; CREATE TABLE sending_domains (domain TEXT PRIMARY KEY, "
         "subaccount_id INTEGER NOT NULL DEFAULT 0, tracking_domain TEXT NOT NULL DEFAULT '', "
         "created_ms INTEGER NOT NULL); INSERT INTO sending_domains VALUES "
         "('bigbank.com', 2, '', 1), ('example.com', 0, '', 1); DROP INDEX events_subaccount; "
         "ALTER TABLE events DROP COLUMN subaccount_id; ALTER TABLE events DROP COLUMN "
         "classification; ALTER TABLE events DROP COLUMN classification_reasons; "
         "INSERT INTO events (event_id, type, "
         "ts_ms, tracking_domain, target_link_url, target_link_name, message_id, rcpt_to, "
         "campaign_id, sending_domain, user_agent, ip_address, method) VALUES ('e1', 'click', 5, "
         "'click.example.com', 'https://x.example/', '', 'm', 'r', 'c', 's', 'ua', '192.0.2.1', "
         "'GET'); ALTER TABLE api_keys DROP COLUMN grants; DROP TABLE certificates; DROP TABLE "
         "acme_accounts; "
         "DROP TABLE acme_challenges; DROP TABLE acme_lease; PRAGMA user_version = 2;");
  ASSERT_EQ(sqlite(db, "PRAGMA user_version"), "2");
  auto s = open_store(db);
  ASSERT_TRUE(s);
  EXPECT_EQ(sqlite(db, "PRAGMA user_version"), std::to_string(kSchemaVersion));
  auto rows = s->sending_domains();
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  for (const auto& r : *rows) {
    EXPECT_FALSE(r.verified) << r.domain;
    EXPECT_EQ(r.txt_status, "unverified");
    EXPECT_EQ(r.txt_token.size(), 32u) << "each migrated domain gets its own token";
  }
  EXPECT_NE((*rows)[0].txt_token, (*rows)[1].txt_token);
  EXPECT_EQ(sqlite(db, "SELECT subaccount_id FROM events"), "0");
}

TEST_P(TenancyOn, SendingDomainVerificationIsStored) {
  auto s = open_store(store("v.db"));
  ASSERT_TRUE(s);
  ASSERT_EQ(*s->add_sending_domain({"example.com", 3, "", 0}), Change::kDone);
  auto row = s->sending_domain("example.com");
  ASSERT_TRUE(row.ok() && row->has_value());
  SendingDomainRow r = **row;
  EXPECT_FALSE(r.verified);
  EXPECT_EQ(r.txt_token.size(), 32u);
  EXPECT_EQ(*s->add_sending_domain({"example.com", 4, "", 0}), Change::kExists)
      << "one owner per name";
  const std::int64_t before = *s->version();
  r.verified = true;
  r.txt_status = "valid";
  r.found = "trackrelay-verification=" + r.txt_token;
  r.message = "found";
  r.checked_ms = 42;
  ASSERT_EQ(*s->update_sending_domain(r), Change::kDone);
  EXPECT_GT(*s->version(), before);
  auto snap = s->load();
  ASSERT_TRUE(snap.ok());
  ASSERT_EQ(snap->sending.size(), 1u);
  EXPECT_TRUE(snap->sending[0].verified);
  EXPECT_EQ(snap->sending[0].txt_status, "valid");
  EXPECT_EQ(snap->sending[0].found, r.found);
  EXPECT_EQ(snap->sending[0].checked_ms, 42);
  EXPECT_EQ(snap->sending[0].txt_token, r.txt_token) << "the token never changes";
  EXPECT_EQ(snap->sending[0].subaccount_id, 3);
}

TEST_P(TenancyOn, KeysOfInactiveSubaccountsDoNotAuthenticate) {
  auto s = open_store(store("k.db"));
  ASSERT_TRUE(s);
  auto sub = s->add_subaccount("tenant", "active");
  ASSERT_TRUE(sub.ok());
  auto key = s->create_api_key("k", sub->id);
  auto primary = s->create_api_key("p", 0);
  ASSERT_TRUE(key.ok() && primary.ok());
  ASSERT_TRUE(s->authenticate(key->key)->has_value());
  for (const char* status : {"suspended", "terminated"}) {
    SubaccountRow r = *sub;
    r.status = status;
    const std::int64_t before = *s->version();
    ASSERT_EQ(*s->update_subaccount(r), Change::kDone);
    EXPECT_GT(*s->version(), before) << "other processes must notice";
    std::string why;
    bool suspended = false;
    auto a = s->authenticate(key->key, &why, &suspended);
    ASSERT_TRUE(a.ok());
    EXPECT_FALSE(a->has_value()) << status;
    EXPECT_TRUE(suspended);
    EXPECT_NE(why.find(status), std::string::npos) << why;
    EXPECT_TRUE(s->authenticate(primary->key)->has_value()) << "the primary is unaffected";
    auto snap = s->load();
    ASSERT_TRUE(snap.ok());
    ASSERT_EQ(snap->subaccounts.size(), 1u);
    EXPECT_EQ(snap->subaccounts[0].status, status);
  }
  SubaccountRow r = *sub;
  r.status = "active";
  ASSERT_EQ(*s->update_subaccount(r), Change::kDone);
  EXPECT_TRUE(s->authenticate(key->key)->has_value());
  r.id = 999;
  EXPECT_EQ(*s->update_subaccount(r), Change::kNotFound);
  // A key whose subaccount row is gone is refused too.
  auto orphan = s->create_api_key("orphan", 77);
  ASSERT_TRUE(orphan.ok());
  std::string why;
  EXPECT_FALSE(s->authenticate(orphan->key, &why)->has_value());
  EXPECT_NE(why.find("deleted"), std::string::npos) << why;
  EXPECT_FALSE(s->authenticate("0123456789", &why)->has_value());
  EXPECT_EQ(why, "unknown or revoked API key");
}

Event event(std::string domain, std::int64_t sub, std::int64_t ts) {
  Event e;
  e.type = "click";
  e.timestamp_ms = ts;
  e.tracking_domain = std::move(domain);
  e.target_link_url = "https://example.com/";
  e.message_id = "m@example.com";
  e.sending_domain = "example.com";
  e.method = "GET";
  e.subaccount_id = sub;
  return e;
}

TEST(Tenancy, EventsAreSelectedByTheirOwnerNotByDomain) {
  Dir dir;
  Options o;
  o.path = dir.file("e.db");
  auto opened = EventStore::open(o);
  ASSERT_TRUE(opened.ok()) << opened.error();
  auto& s = *opened;
  // The same tracking domain changed hands: events 1-2 are subaccount 5's,
  // event 3 (after the move) subaccount 6's.
  ASSERT_TRUE(s->append_and_wait(event("click.example.com", 5, 1000)).ok());
  ASSERT_TRUE(s->append_and_wait(event("click.example.com", 5, 1001)).ok());
  ASSERT_TRUE(s->append_and_wait(event("click.example.com", 6, 1002)).ok());
  ASSERT_TRUE(s->append_and_wait(event("track.example.net", 0, 1003)).ok());
  Query q;
  q.from_ms = 0;
  auto all = s->query(q);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->events.size(), 4u);
  EXPECT_EQ(all->events[0].subaccount_id, 0);
  EXPECT_EQ(all->events[1].subaccount_id, 6);
  for (std::int64_t sub : {0, 5, 6, 7}) {
    q.subaccount_id = sub;
    auto page = s->query(q);
    ASSERT_TRUE(page.ok());
    const std::size_t want = sub == 5 ? 2 : sub == 7 ? 0 : 1;
    EXPECT_EQ(page->events.size(), want) << sub;
    for (const Event& e : page->events) EXPECT_EQ(e.subaccount_id, sub);
  }
  SummaryQuery sq;
  sq.from_ms = 0;
  sq.to_ms = 10000;
  sq.bucket_ms = 10000;
  sq.subaccount_id = 5;
  auto sum = summarize(o.path, sq);
  ASSERT_TRUE(sum.ok()) << sum.error();
  EXPECT_EQ(sum->totals[0], 2);
  sq.subaccount_id.reset();
  EXPECT_EQ(summarize(o.path, sq)->totals[0], 4);
}

INSTANTIATE_TEST_SUITE_P(Backends, TenancyOn, testing::kBackends, testing::backend_name);

}  // namespace
}  // namespace trackrelay::store
