// Tests for store::SettingsStore: absent names, put, overwrite, persistence.
#include "store/settings_store.h"

#include <gtest/gtest.h>

#include <string>

#include "store/database.h"
#include "tests/support/test_db.h"

namespace llmq::store {
namespace {

using llmq::testing::TestDb;

TEST(SettingsStoreTest, GetOfAnUnknownNameIsEmpty) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  SettingsStore s(t.db());
  auto v = s.get("queue");
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_FALSE(v->has_value());
}

TEST(SettingsStoreTest, PutThenGetAndOverwrite) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  SettingsStore s(t.db());
  ASSERT_TRUE(s.put("queue", R"({"paused":true})").ok());
  ASSERT_TRUE(s.put("other", "1").ok());
  EXPECT_EQ(R"({"paused":true})", s.get("queue")->value_or(""));
  ASSERT_TRUE(s.put("queue", R"({"paused":false,"paused_clients":["a"]})").ok());
  EXPECT_EQ(R"({"paused":false,"paused_clients":["a"]})", s.get("queue")->value_or(""));
  EXPECT_EQ("1", s.get("other")->value_or(""));
  EXPECT_EQ("2", llmq::testing::queryOne(t.db(), "SELECT count(*) FROM settings"));
}

TEST(SettingsStoreTest, NamesAreExactAndValuesSurviveReopening) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  {
    SettingsStore s(t.db());
    // Views into a temporary buffer: the store must not keep them past the call.
    std::string name = "queue";
    std::string value = "[1,2,3]";
    ASSERT_TRUE(s.put(name, value).ok());
    name.assign("xxxxx");
    value.assign("garbage");
    EXPECT_FALSE(s.get("Queue")->has_value());
    EXPECT_FALSE(s.get("queue ")->has_value());
  }
  std::string path = t.path();
  t.close();
  auto db = Database::open(path, OpenOptions{});
  ASSERT_TRUE(db.ok());
  SettingsStore s(**db);
  EXPECT_EQ("[1,2,3]", s.get("queue")->value_or(""));
}

}  // namespace
}  // namespace llmq::store
