// tests/store/key_grants_test.cc — API key grants in the store (issue 11,
// subaccounts part): the v3 → v4 migration gives existing keys every grant
// (""), a key's grants are kept and read back by authenticate() and
// api_keys(), has_grant() matches whole names only, and a subaccount with
// its first key is one transaction (both or neither). KeyGrantsOn runs on
// both backends.
#include <gtest/gtest.h>

#include "pg_fixture.h"
#include "store/domain_store.h"
#include "store/event_store.h"
#include "store_test_util.h"

namespace trackrelay::store {
namespace {

using testing::sqlite;
using Dir = testing::TempDir;
using testing::read_sql;
using KeyGrantsOn = testing::BackendTest;

TEST(KeyGrants, MigratedKeysKeepEveryGrant) {
  Dir dir;
  const std::string db = dir.file("v3.db");
  std::string key;
  {
    auto s = DomainStore::open(db);
    ASSERT_TRUE(s.ok()) << s.error();
    auto k = (*s)->create_api_key("old", 0);
    ASSERT_TRUE(k.ok());
    key = k->key;
  }
  sqlite(db, testing::wind_back_sql(3));
  ASSERT_EQ(sqlite(db, "PRAGMA user_version"), "3");
  auto s = DomainStore::open(db);
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(sqlite(db, "PRAGMA user_version"), std::to_string(kSchemaVersion));
  auto found = (*s)->authenticate(key);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->grants, "");
  EXPECT_TRUE((*found)->has_grant("smtp/inject")) << "\"\" is every grant";
}

TEST_P(KeyGrantsOn, StoredAndReadBack) {
  auto s = DomainStore::open(store("g.db"));
  ASSERT_TRUE(s.ok()) << s.error();
  auto sub = (*s)->add_subaccount("a", "active");
  ASSERT_TRUE(sub.ok());
  auto k = (*s)->create_api_key("inject only", sub->id, "smtp/inject message_events/view");
  ASSERT_TRUE(k.ok());
  auto found = (*s)->authenticate(k->key);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->grants, "smtp/inject message_events/view");
  EXPECT_TRUE((*found)->has_grant("smtp/inject"));
  EXPECT_TRUE((*found)->has_grant("message_events/view"));
  EXPECT_FALSE((*found)->has_grant("smtp/injec")) << "whole names only";
  EXPECT_FALSE((*found)->has_grant("sending_domains/manage"));
  auto keys = (*s)->api_keys();
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ(keys->front().grants, "smtp/inject message_events/view");
}

TEST_P(KeyGrantsOn, SubaccountAndItsFirstKeyInOneTransaction) {
  const std::string db = store("t.db");
  auto s = DomainStore::open(db);
  ASSERT_TRUE(s.ok()) << s.error();
  auto made = (*s)->add_subaccount_with_key("acme", "active", "", "smtp/inject");
  ASSERT_TRUE(made.ok()) << made.error();
  ASSERT_TRUE(made->key.has_value());
  EXPECT_EQ(made->key->row.subaccount_id, made->row.id);
  EXPECT_EQ(made->key->row.label, "API key for subaccount " + std::to_string(made->row.id));
  auto found = (*s)->authenticate(made->key->key);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->subaccount_id, made->row.id);
  EXPECT_EQ((*found)->grants, "smtp/inject");
  auto bare = (*s)->add_subaccount_with_key("bare", "active", std::nullopt, "");
  ASSERT_TRUE(bare.ok());
  EXPECT_FALSE(bare->key.has_value());
  // When the key cannot be stored, neither is the subaccount.
  EXPECT_EQ(read_sql(db, postgres() ? "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql "
                                      "AS 'BEGIN RAISE EXCEPTION ''refused''; END'; "
                                      "CREATE TRIGGER no_keys BEFORE INSERT ON api_keys "
                                      "FOR EACH ROW EXECUTE FUNCTION refuse();"
                                    : "CREATE TRIGGER no_keys BEFORE INSERT ON api_keys BEGIN "
                                      "SELECT RAISE(ABORT, 'refused'); END;"),
            "");
  auto failed = (*s)->add_subaccount_with_key("half", "active", "k", "");
  EXPECT_FALSE(failed.ok());
  EXPECT_EQ(read_sql(db, "SELECT count(*) FROM subaccounts WHERE name = 'half'"), "0");
  EXPECT_EQ(read_sql(db, "SELECT count(*) FROM subaccounts"), "2");
}

INSTANTIATE_TEST_SUITE_P(Backends, KeyGrantsOn, testing::kBackends, testing::backend_name);

}  // namespace
}  // namespace trackrelay::store
