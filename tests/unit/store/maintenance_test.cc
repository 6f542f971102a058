// Tests for store/maintenance: quick_check verdicts, and turning on incremental
// auto-vacuum in a database made without it (a VACUUM at startup when the file is
// small enough, nothing when it is too large or already converted).
#include "store/maintenance.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>

#include "store/database.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_db.h"

namespace llmq::store {
namespace {

using llmq::testing::queryOne;
using llmq::testing::TempDir;

// A database as an older llmqd (or the sqlite3 shell) made it: auto_vacuum NONE,
// a table with some rows, WAL.
std::string makeLegacyDatabase(const TempDir& dir) {
  const std::string path = dir.file("legacy.db");
  sqlite3* raw = nullptr;
  EXPECT_EQ(SQLITE_OK, sqlite3_open(path.c_str(), &raw));
  EXPECT_EQ(SQLITE_OK, sqlite3_exec(raw,
                                    "PRAGMA journal_mode=WAL; CREATE TABLE t (v BLOB);"
                                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                                    "WHERE i < 200) INSERT INTO t SELECT zeroblob(3000) FROM n;",
                                    nullptr, nullptr, nullptr));
  sqlite3_close(raw);
  return path;
}

TEST(StoreMaintenanceTest, QuickCheckAcceptsASoundDatabase) {
  testing::TestDb t;
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(quickCheck(t.db()).ok());
}

TEST(StoreMaintenanceTest, ASmallLegacyDatabaseIsConvertedToIncrementalVacuum) {
  TempDir dir;
  const std::string path = makeLegacyDatabase(dir);
  auto db = Database::open(path, OpenOptions{});
  ASSERT_TRUE(db.ok()) << db.error().message;
  EXPECT_EQ("0", queryOne(**db, "PRAGMA auto_vacuum")) << "opening alone cannot change it";
  auto r = ensureIncrementalVacuum(**db, 64 << 20);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(AutoVacuum::kConverted, *r);
  EXPECT_EQ("2", queryOne(**db, "PRAGMA auto_vacuum"));
  EXPECT_EQ("wal", queryOne(**db, "PRAGMA journal_mode"));
  EXPECT_EQ("200", queryOne(**db, "SELECT count(*) FROM t")) << "the data survives the VACUUM";
  // Freed pages can now be given back.
  ASSERT_TRUE((*db)->exec("DELETE FROM t").ok());
  auto freed = (*db)->incrementalVacuum(1000);
  ASSERT_TRUE(freed.ok());
  EXPECT_GT(*freed, 100);
  // Nothing more to do the next time.
  auto again = ensureIncrementalVacuum(**db, 64 << 20);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(AutoVacuum::kIncremental, *again);
}

TEST(StoreMaintenanceTest, ALargeLegacyDatabaseIsLeftAlone) {
  TempDir dir;
  const std::string path = makeLegacyDatabase(dir);
  auto db = Database::open(path, OpenOptions{});
  ASSERT_TRUE(db.ok());
  for (int64_t limit : {int64_t{0}, int64_t{4096}}) {  // 0: never; 4 KiB: smaller than the file.
    auto r = ensureIncrementalVacuum(**db, limit);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(AutoVacuum::kTooLarge, *r);
    EXPECT_EQ("0", queryOne(**db, "PRAGMA auto_vacuum"));
  }
}

TEST(StoreMaintenanceTest, ANewDatabaseNeedsNoConversion) {
  testing::TestDb t;
  ASSERT_TRUE(t.ok());
  auto r = ensureIncrementalVacuum(t.db(), 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(AutoVacuum::kIncremental, *r);
}

// db.backup says how many pages it copied: known only once a step has run, and
// still known when that step was the last (a small database copies in one).
TEST(StoreMaintenanceTest, ABackupKnowsItsPageCountWhenItCompletesInOneStep) {
  testing::TestDb t;
  ASSERT_TRUE(t.ok());
  TempDir dir;
  auto backup = OnlineBackup::start(t.db(), dir.file("copy.db"));
  ASSERT_TRUE(backup.ok()) << backup.error().message;
  auto done = (*backup)->step(1 << 20);
  ASSERT_TRUE(done.ok()) << done.error().message;
  ASSERT_TRUE(*done);
  EXPECT_GT((*backup)->total(), 0);
  EXPECT_EQ(queryOne(t.db(), "PRAGMA page_count"), std::to_string((*backup)->total()));
}

}  // namespace
}  // namespace llmq::store
