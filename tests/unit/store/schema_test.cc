// Tests for store/schema: migrating an empty database, re-migrating as a no-op,
// refusing a newer schema, and migrating atomically.
#include "store/schema.h"

#include <gtest/gtest.h>

#include <string>

#include "store/database.h"
#include "tests/support/test_db.h"

namespace llmq::store {
namespace {

using llmq::testing::queryOne;
using llmq::testing::TestDb;

std::string objectsOfType(Database& db, const std::string& type) {
  return queryOne(db, "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master WHERE type = '" +
                          type + "' AND name NOT LIKE 'sqlite_%' ORDER BY name)");
}

TEST(SchemaTest, AnEmptyDatabaseIsVersionZero) {
  TestDb t(/*migrate=*/false);
  ASSERT_TRUE(t.ok());
  auto v = schemaVersion(t.db());
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(0, *v);
  EXPECT_EQ("", objectsOfType(t.db(), "table"));
}

TEST(SchemaTest, MigratesAnEmptyDatabaseToTheCurrentVersion) {
  TestDb t(/*migrate=*/false);
  ASSERT_TRUE(t.ok());
  auto r = migrate(t.db());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(kSchemaVersion, schemaVersion(t.db()).value());
  EXPECT_EQ("1", queryOne(t.db(), "PRAGMA user_version"));
  EXPECT_EQ("attempts,job_tags,jobs,settings", objectsOfType(t.db(), "table"));
  EXPECT_EQ("job_tags_job,jobs_client,jobs_idempotency,jobs_retry,jobs_runnable,jobs_state",
            objectsOfType(t.db(), "index"));
  EXPECT_FALSE(t.db().inTransaction());
  // The partial index for the runnable queue is on queued jobs only.
  EXPECT_NE(std::string::npos,
            queryOne(t.db(), "SELECT sql FROM sqlite_master WHERE name = 'jobs_runnable'")
                .find("WHERE state = 0"));
}

TEST(SchemaTest, MigratingTwiceIsANoOpAndKeepsData) {
  TestDb t;  // Migrated once already.
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t.db().exec("INSERT INTO settings VALUES ('k', '\"v\"')").ok());
  auto r = migrate(t.db());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(kSchemaVersion, schemaVersion(t.db()).value());
  EXPECT_EQ("\"v\"", queryOne(t.db(), "SELECT value FROM settings WHERE name = 'k'"));
}

TEST(SchemaTest, AReopenedDatabaseKeepsItsVersion) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  std::string path = t.path();
  t.close();
  auto db = Database::open(path, OpenOptions{});
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(kSchemaVersion, schemaVersion(**db).value());
  EXPECT_TRUE(migrate(**db).ok());
}

TEST(SchemaTest, RefusesANewerDatabaseAndLeavesItAlone) {
  TestDb t(/*migrate=*/false);
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t.db().exec("PRAGMA user_version=2").ok());
  auto r = migrate(t.db());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorKind::kStorage, r.error().kind);
  EXPECT_NE(std::string::npos, r.error().message.find("schema version 2")) << r.error().message;
  EXPECT_NE(std::string::npos, r.error().message.find("newer")) << r.error().message;
  EXPECT_NE(std::string::npos, r.error().message.find(t.path())) << r.error().message;
  EXPECT_EQ("2", queryOne(t.db(), "PRAGMA user_version"));
  EXPECT_EQ("", objectsOfType(t.db(), "table"));
}

TEST(SchemaTest, AFailedMigrationLeavesNothingBehind) {
  TestDb t(/*migrate=*/false);
  ASSERT_TRUE(t.ok());
  // A table in the way of the last CREATE of version 1: everything before it must roll back.
  ASSERT_TRUE(t.db().exec("CREATE TABLE settings (x)").ok());
  auto r = migrate(t.db());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string::npos, r.error().message.find("migrating database")) << r.error().message;
  EXPECT_NE(std::string::npos, r.error().message.find("to version 1")) << r.error().message;
  EXPECT_FALSE(t.db().inTransaction());
  EXPECT_EQ("0", queryOne(t.db(), "PRAGMA user_version"));
  EXPECT_EQ("settings", objectsOfType(t.db(), "table"));
}

}  // namespace
}  // namespace llmq::store
