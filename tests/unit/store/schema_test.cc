// Tests for store/schema: migrating an empty database, re-migrating as a no-op,
// refusing a newer schema, and migrating atomically.
#include "store/schema.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "store/database.h"
#include "store/job_store.h"
#include "tests/support/test_db.h"

namespace llmq::store {
namespace {

using llmq::testing::queryOne;
using llmq::testing::TestDb;

std::string objectsOfType(Database& db, const std::string& type) {
  return queryOne(db, "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master WHERE type = '" + type +
                          "' AND name NOT LIKE 'sqlite_%' ORDER BY name)");
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
  EXPECT_EQ(std::to_string(kSchemaVersion), queryOne(t.db(), "PRAGMA user_version"));
  EXPECT_EQ("attempts,budgets,job_secrets,job_tags,jobs,models,response_cache,settings,usage_daily,usage_daily_tag",
            objectsOfType(t.db(), "table"));
  EXPECT_EQ(
      "attempts_time,job_tags_job,jobs_client,jobs_deadline,jobs_idempotency,jobs_prunable,jobs_retry,jobs_"
      "runnable,jobs_state,response_cache_expiry",
      objectsOfType(t.db(), "index"));
  EXPECT_FALSE(t.db().inTransaction());
  // The partial index for the runnable queue is on queued jobs only.
  EXPECT_NE(std::string::npos,
            queryOne(t.db(), "SELECT sql FROM sqlite_master WHERE name = 'jobs_runnable'").find("WHERE state = 0"));
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
  const std::string newer = std::to_string(kSchemaVersion + 1);
  ASSERT_TRUE(t.db().exec(("PRAGMA user_version=" + newer).c_str()).ok());
  auto r = migrate(t.db());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorKind::kStorage, r.error().kind);
  EXPECT_NE(std::string::npos, r.error().message.find("schema version " + newer)) << r.error().message;
  EXPECT_NE(std::string::npos, r.error().message.find("newer")) << r.error().message;
  EXPECT_NE(std::string::npos, r.error().message.find(t.path())) << r.error().message;
  EXPECT_EQ(newer, queryOne(t.db(), "PRAGMA user_version"));
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

// A database written by the first release (schema v1, checked in) still migrates
// and its jobs load with every field.
TEST(SchemaTest, AVersionOneDatabaseMigratesAndLoads) {
  TestDb t(/*migrate=*/false);
  ASSERT_TRUE(t.ok());
  std::string path = t.path();
  t.close();
  {
    std::ifstream in(std::string(LLMQ_TEST_DATA_DIR) + "/jobs_schema_v1.sqlite", std::ios::binary);
    ASSERT_TRUE(in.good());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << in.rdbuf();
  }
  auto db = Database::open(path, OpenOptions{});
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(1, schemaVersion(**db).value());
  ASSERT_TRUE(migrate(**db).ok());
  EXPECT_EQ(kSchemaVersion, schemaVersion(**db).value());
  JobStore jobs(**db);
  auto job = jobs.get(1);
  ASSERT_TRUE(job.ok() && job->has_value());
  EXPECT_EQ(JobState::kSucceeded, (**job).state);
  EXPECT_EQ("alice", (**job).client);
  EXPECT_EQ("[\"nightly\"]", (**job).tags_json);
  EXPECT_EQ("mock/demo", (**job).model);
  ASSERT_TRUE((**job).usage.has_value());
  EXPECT_EQ(24, (**job).usage->completion_tokens);
  EXPECT_TRUE((**job).error.detail_json.empty());
  auto queued = jobs.get(2);
  ASSERT_TRUE(queued.ok() && queued->has_value());
  EXPECT_EQ(JobState::kQueued, (**queued).state);
  EXPECT_EQ(5, (**queued).priority);
  EXPECT_EQ("bob", (**queued).owner);
  // Schema v9: every job from before it is a chat job.
  EXPECT_EQ(JobKind::kChat, (**job).kind);
  EXPECT_EQ(JobKind::kChat, (**queued).kind);
}

// Schema v7 gives every job an owner and makes idempotency keys unique per owner.
// Jobs written before it, keys included, survive the migration; each gets the
// user part of its client label as its owner.
TEST(SchemaTest, OlderJobsGetAnOwnerAndKeepTheirIdempotencyKeys) {
  TestDb t(/*migrate=*/false);
  ASSERT_TRUE(t.ok());
  std::string path = t.path();
  t.close();
  {
    std::ifstream in(std::string(LLMQ_TEST_DATA_DIR) + "/jobs_schema_v1.sqlite", std::ios::binary);
    ASSERT_TRUE(in.good());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << in.rdbuf();
  }
  auto db = Database::open(path, OpenOptions{});
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((**db)
                  .exec("INSERT INTO jobs (id, state, priority, client, model, request, "
                        "idempotency_key, max_attempts, created_at) VALUES "
                        "(10, 0, 0, 'alice:eval', 'mock/x', '{}', 'k1', 4, 1), "
                        "(11, 4, 0, 'payroll', 'mock/x', '{}', 'k2', 4, 2), "
                        "(12, 0, 0, 'uid:1234:x', 'mock/x', '{}', 'k3', 4, 3)")
                  .ok());
  ASSERT_TRUE(migrate(**db).ok());
  EXPECT_EQ("5", queryOne(**db, "SELECT count(*) FROM jobs"));
  JobStore jobs(**db);
  auto load = [&](int64_t id) {
    auto j = jobs.get(id);
    EXPECT_TRUE(j.ok() && j->has_value()) << "job " << id;
    return j.ok() && j->has_value() ? **j : JobRecord{};
  };
  EXPECT_EQ("alice", load(10).owner);
  EXPECT_EQ("payroll", load(11).owner);
  EXPECT_EQ("uid:1234", load(12).owner) << "a uid without a name keeps its number";
  EXPECT_EQ(10, jobs.findByIdempotencyKey("alice", "k1")->value_or(0));
  EXPECT_EQ(11, jobs.findByIdempotencyKey("payroll", "k2")->value_or(0));
  EXPECT_FALSE(jobs.findByIdempotencyKey("bob", "k1")->has_value());
  JobRecord j = load(10);
  j.owner = "bob";
  j.client = "bob";
  EXPECT_TRUE(jobs.insert(j, {}).ok()) << "bob's k1 is not alice's";
  j.owner = "alice";
  EXPECT_FALSE(jobs.insert(j, {}).ok()) << "alice's k1 is still taken";
}

}  // namespace
}  // namespace llmq::store
