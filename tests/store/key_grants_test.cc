// tests/store/key_grants_test.cc — API key grants in the store (issue 11,
// subaccounts part): the v3 → v4 migration gives existing keys every grant
// (""), a key's grants are kept and read back by authenticate() and
// api_keys(), and has_grant() matches whole names only.
#include <gtest/gtest.h>

#include "store/domain_store.h"
#include "store/event_store.h"
#include "store_test_util.h"

namespace trackrelay::store {
namespace {

using testing::sqlite;
using Dir = testing::TempDir;

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
  sqlite(db, "ALTER TABLE api_keys DROP COLUMN grants; PRAGMA user_version = 3;");
  ASSERT_EQ(sqlite(db, "PRAGMA user_version"), "3");
  auto s = DomainStore::open(db);
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(sqlite(db, "PRAGMA user_version"), std::to_string(kSchemaVersion));
  auto found = (*s)->authenticate(key);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->grants, "");
  EXPECT_TRUE((*found)->has_grant("smtp/inject")) << "\"\" is every grant";
}

TEST(KeyGrants, StoredAndReadBack) {
  Dir dir;
  auto s = DomainStore::open(dir.file("g.db"));
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

}  // namespace
}  // namespace trackrelay::store
