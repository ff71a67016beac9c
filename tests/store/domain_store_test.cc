// tests/store/domain_store_test.cc — DomainStore: the v1 → v2 migration
// keeps existing events, the change counter, uniqueness, one default per
// account, "no delete while in use", hashed keys with revocation, and two
// handles on one store seeing each other's writes; all but the SQLite
// migration tests run on both backends.
#include "store/domain_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <thread>
#include <vector>

#include "pg_fixture.h"
#include "store/event_store.h"
#include "store_test_util.h"

namespace trackrelay::store {
namespace {

namespace fs = std::filesystem;
using testing::sqlite;
using Dir = testing::TempDir;
using testing::read_sql;
using DomainStoreOn = testing::BackendTest;

std::unique_ptr<DomainStore> open_store(const std::string& path) {
  auto s = DomainStore::open(path);
  EXPECT_TRUE(s.ok()) << (s ? "" : s.error());
  return s ? std::move(s).value() : nullptr;
}

TrackingDomainRow domain(std::string name, std::int64_t sub = 0) {
  TrackingDomainRow r;
  r.domain = std::move(name);
  r.subaccount_id = sub;
  return r;
}

TEST(DomainStore, MigratesAVersion1StoreKeepingItsEvents) {
  Dir dir;
  const std::string db = dir.file("old.db");
  // A version-1 file, as the tracking endpoint's first release wrote it.
  sqlite(db,
         "PRAGMA journal_mode=WAL; CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
         "event_id TEXT NOT NULL, type TEXT NOT NULL, ts_ms INTEGER NOT NULL, tracking_domain "
         "TEXT NOT NULL, target_link_url TEXT NOT NULL, target_link_name TEXT NOT NULL, "
         "message_id TEXT NOT NULL, rcpt_to TEXT NOT NULL, campaign_id TEXT NOT NULL, "
         "sending_domain TEXT NOT NULL, user_agent TEXT NOT NULL, ip_address TEXT NOT NULL, "
         "method TEXT NOT NULL); CREATE INDEX events_ts ON events(ts_ms); INSERT INTO events "
         "VALUES (1,'e1','click',5,'click.example.com','https://x.example/','','m','r','c','s',"
         "'ua','192.0.2.1','GET'); PRAGMA user_version=1;");
  ASSERT_EQ(sqlite(db, "PRAGMA user_version"), "1");
  auto s = open_store(db);
  ASSERT_TRUE(s);
  EXPECT_EQ(sqlite(db, "PRAGMA user_version"), std::to_string(kSchemaVersion));
  EXPECT_EQ(sqlite(db, "SELECT count(*) FROM events"), "1");
  Options o;
  o.path = db;
  auto events = EventStore::open(o);
  ASSERT_TRUE(events.ok()) << events.error();
  EXPECT_EQ(*(*events)->count(), 1);
}

TEST(DomainStore, EventStoreAndDomainStoreShareOneNewFile) {
  Dir dir;
  const std::string db = dir.file("new.db");
  Options o;
  o.path = db;
  auto events = EventStore::open(o);
  ASSERT_TRUE(events.ok());
  auto s = open_store(db);
  ASSERT_TRUE(s);
  EXPECT_EQ(*s->version(), 0);
}

TEST_P(DomainStoreOn, ChangeCounterAndUniqueness) {
  auto s = open_store(store("d.db"));
  ASSERT_TRUE(s);
  EXPECT_EQ(*s->add_tracking_domain(domain("click.example.com")), Change::kDone);
  EXPECT_EQ(*s->version(), 1);
  EXPECT_EQ(*s->add_tracking_domain(domain("click.example.com", 2)), Change::kExists)
      << "names are unique across accounts";
  EXPECT_EQ(*s->version(), 1) << "a refused write does not count";
  auto row = s->tracking_domain("click.example.com");
  ASSERT_TRUE(row.ok() && row->has_value());
  EXPECT_EQ((*row)->cname_status, "unverified");
  EXPECT_FALSE((*row)->verified);
}

TEST_P(DomainStoreOn, OneDefaultPerAccount) {
  auto s = open_store(store("d.db"));
  ASSERT_TRUE(s);
  for (auto [name, sub] :
       {std::pair{"a.example.com", 0}, {"b.example.com", 0}, {"c.example.com", 3}}) {
    TrackingDomainRow r = domain(name, sub);
    r.is_default = true;
    r.verified = true;
    ASSERT_EQ(*s->add_tracking_domain(r), Change::kDone);
  }
  auto rows = s->tracking_domains();
  ASSERT_TRUE(rows.ok());
  std::map<std::string, bool> def;
  for (const auto& r : *rows) def[r.domain] = r.is_default;
  EXPECT_FALSE(def["a.example.com"]) << "setting b unset a";
  EXPECT_TRUE(def["b.example.com"]);
  EXPECT_TRUE(def["c.example.com"]) << "another account keeps its own default";
}

TEST_P(DomainStoreOn, ProcessesAddingDefaultsTogetherLeaveOneDefault) {
  constexpr int kWriters = 6;
  std::vector<std::unique_ptr<DomainStore>> stores;
  for (int i = 0; i < kWriters; ++i) stores.push_back(open_store(store("d.db")));
  for (const auto& s : stores) ASSERT_TRUE(s);
  std::vector<std::thread> threads;
  std::atomic<int> failed{0};
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      TrackingDomainRow r = domain("d" + std::to_string(i) + ".example.com", 7);
      r.is_default = true;
      auto done = stores[i]->add_tracking_domain(r);
      if (!done || *done != Change::kDone) ++failed;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  auto rows = stores[0]->tracking_domains();
  ASSERT_TRUE(rows.ok()) << rows.error();
  int defaults = 0;
  for (const auto& r : *rows) defaults += r.is_default ? 1 : 0;
  EXPECT_EQ(defaults, 1);
  EXPECT_EQ(*stores[0]->version(), kWriters) << "every write counted once";
}

TEST_P(DomainStoreOn, TrackingDomainInUseCannotBeDeleted) {
  auto s = open_store(store("d.db"));
  ASSERT_TRUE(s);
  ASSERT_EQ(*s->add_tracking_domain(domain("click.example.com")), Change::kDone);
  ASSERT_EQ(*s->add_sending_domain({"example.com", 0, "click.example.com", 0}), Change::kDone);
  ASSERT_EQ(*s->add_sending_domain({"example.org", 0, "click.example.com", 0}), Change::kDone);
  std::vector<std::string> used_by;
  EXPECT_EQ(*s->delete_tracking_domain("click.example.com", used_by), Change::kInUse);
  EXPECT_EQ(used_by, (std::vector<std::string>{"example.com", "example.org"}));
  ASSERT_EQ(*s->update_sending_domain({"example.com", 0, "", 0}), Change::kDone);
  ASSERT_EQ(*s->delete_sending_domain("example.org"), Change::kDone);
  EXPECT_EQ(*s->delete_tracking_domain("click.example.com", used_by), Change::kDone);
  EXPECT_EQ(*s->delete_tracking_domain("click.example.com", used_by), Change::kNotFound);
}

TEST_P(DomainStoreOn, KeysAreHashedAndRevocable) {
  const std::string db = store("k.db");
  auto s = open_store(db);
  ASSERT_TRUE(s);
  auto k = s->create_api_key("ops", 0);
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->key.size(), 40u);
  EXPECT_EQ(read_sql(db, "SELECT count(*) FROM api_keys WHERE hash = '" + k->key + "'"), "0");
  EXPECT_EQ(
      read_sql(db, postgres() ? "SELECT position('" + k->key + "'::bytea in hash) FROM api_keys"
                              : "SELECT instr(CAST(hash AS TEXT), '" + k->key + "') FROM api_keys"),
      "0")
      << "the key itself is never stored";
  EXPECT_EQ(read_sql(db, postgres() ? "SELECT octet_length(hash) FROM api_keys"
                                    : "SELECT length(CAST(hash AS BLOB)) FROM api_keys"),
            "32")
      << "a SHA-256 digest";
  auto found = s->authenticate(k->key);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->label, "ops");
  std::string wrong = k->key;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  EXPECT_FALSE(s->authenticate(wrong)->has_value()) << "same prefix, different key";
  EXPECT_FALSE(s->authenticate("")->has_value());
  EXPECT_EQ(*s->revoke_api_key(k->row.id), Change::kDone);
  EXPECT_FALSE(s->authenticate(k->key)->has_value());
  EXPECT_EQ(*s->revoke_api_key(k->row.id), Change::kNotFound);
}

TEST_P(DomainStoreOn, TwoHandlesSeeEachOthersWrites) {
  const std::string db = store("shared.db");
  auto a = open_store(db);
  auto b = open_store(db);
  ASSERT_TRUE(a && b);
  const std::int64_t before = *b->version();
  ASSERT_EQ(*a->add_sending_domain({"example.com", 0, "", 0}), Change::kDone);
  EXPECT_GT(*b->version(), before);
  auto snap = b->load();
  ASSERT_TRUE(snap.ok());
  ASSERT_EQ(snap->sending.size(), 1u);
  EXPECT_EQ(snap->sending[0].domain, "example.com");
}

TEST_P(DomainStoreOn, Subaccounts) {
  auto s = open_store(store("s.db"));
  ASSERT_TRUE(s);
  auto one = s->add_subaccount("Customer One", "active");
  auto two = s->add_subaccount("Customer Two", "suspended");
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_EQ(one->id, 1);
  EXPECT_EQ(two->id, 2);
  EXPECT_EQ((*s->subaccount(2))->status, "suspended");
  EXPECT_FALSE(s->subaccount(3)->has_value());
}

INSTANTIATE_TEST_SUITE_P(Backends, DomainStoreOn, testing::kBackends, testing::backend_name);

}  // namespace
}  // namespace trackrelay::store
