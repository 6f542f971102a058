// Tests for store::Database: opening (parent directories, pragmas, failures),
// exec errors, the prepared-statement cache, transaction primitives, the mapping
// of SQLite codes to ErrorKind, a full disk (never half a transaction, never a
// write committed alone after SQLite rolled its transaction back), the page cap
// and incremental vacuum.
#include "store/database.h"
#include "store/statement.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

#include "tests/support/temp_dir.h"
#include "tests/support/test_db.h"

namespace llmq::store {
namespace {

using llmq::testing::queryOne;
using llmq::testing::TempDir;

TEST(DatabaseTest, OpensWithTheDocumentedPragmas) {
  TempDir dir;
  auto db = Database::open(dir.file("a.db"), OpenOptions{});
  ASSERT_TRUE(db.ok()) << db.error().message;
  Database& d = **db;
  EXPECT_EQ(dir.file("a.db"), d.path());
  EXPECT_EQ("wal", queryOne(d, "PRAGMA journal_mode"));
  EXPECT_EQ("1", queryOne(d, "PRAGMA foreign_keys"));
  EXPECT_EQ("1", queryOne(d, "PRAGMA synchronous"));  // NORMAL
  EXPECT_EQ("5000", queryOne(d, "PRAGMA busy_timeout"));
  EXPECT_EQ("2", queryOne(d, "PRAGMA temp_store"));  // MEMORY
  EXPECT_FALSE(d.inTransaction());
  struct stat st {};
  EXPECT_EQ(0, ::stat(dir.file("a.db").c_str(), &st));
}

TEST(DatabaseTest, HonoursSynchronousAndBusyTimeoutOptions) {
  TempDir dir;
  OpenOptions full;
  full.synchronous = Synchronous::kFull;
  full.busy_timeout_ms = 1234;
  auto db = Database::open(dir.file("full.db"), full);
  ASSERT_TRUE(db.ok()) << db.error().message;
  EXPECT_EQ("2", queryOne(**db, "PRAGMA synchronous"));
  EXPECT_EQ("1234", queryOne(**db, "PRAGMA busy_timeout"));

  OpenOptions off;
  off.synchronous = Synchronous::kOff;
  auto db2 = Database::open(dir.file("off.db"), off);
  ASSERT_TRUE(db2.ok()) << db2.error().message;
  EXPECT_EQ("0", queryOne(**db2, "PRAGMA synchronous"));
}

TEST(DatabaseTest, CreatesMissingParentDirectoriesPrivately) {
  TempDir dir;
  std::string path = dir.file("state/llmq/sub/llmq.db");
  auto db = Database::open(path, OpenOptions{});
  ASSERT_TRUE(db.ok()) << db.error().message;
  struct stat st {};
  ASSERT_EQ(0, ::stat(dir.file("state/llmq/sub").c_str(), &st));
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(0700u, st.st_mode & 0777);
  ASSERT_EQ(0, ::stat(dir.file("state").c_str(), &st));
  EXPECT_EQ(0700u, st.st_mode & 0777);
}

TEST(DatabaseTest, FailsWithContextWhenTheParentIsMissingAndNotCreated) {
  TempDir dir;
  OpenOptions opts;
  opts.create_parent = false;
  std::string path = dir.file("missing/llmq.db");
  auto db = Database::open(path, opts);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(ErrorKind::kStorage, db.error().kind);
  EXPECT_NE(std::string::npos, db.error().message.find("opening database " + path)) << db.error().message;
}

TEST(DatabaseTest, FailsWhenThePathIsADirectory) {
  TempDir dir;
  auto db = Database::open(dir.path(), OpenOptions{});
  ASSERT_FALSE(db.ok());
  EXPECT_NE(std::string::npos, db.error().message.find(dir.path())) << db.error().message;
}

TEST(DatabaseTest, ExecReportsTheSqlAndTheKind) {
  TempDir dir;
  auto db = Database::open(dir.file("a.db"), OpenOptions{});
  ASSERT_TRUE(db.ok());
  Database& d = **db;
  ASSERT_TRUE(d.exec("CREATE TABLE t (k TEXT PRIMARY KEY)").ok());
  ASSERT_TRUE(d.exec("INSERT INTO t VALUES ('x')").ok());
  auto dup = d.exec("INSERT INTO t VALUES ('x')");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(ErrorKind::kInvalidState, dup.error().kind);  // A constraint.
  EXPECT_NE(std::string::npos, dup.error().message.find("INSERT INTO t VALUES ('x')"));
  EXPECT_NE(std::string::npos, dup.error().message.find("UNIQUE")) << dup.error().message;

  auto bad = d.exec("SELEKT 1");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(ErrorKind::kStorage, bad.error().kind);
  EXPECT_NE(std::string::npos, bad.error().message.find("SELEKT 1"));
}

constexpr char kSelectAll[] = "SELECT v FROM t ORDER BY v";
constexpr char kBroken[] = "SELECT nope FROM nowhere";

TEST(DatabaseTest, CachesStatementsByAddressAndResetsThemAfterUse) {
  TempDir dir;
  auto db = Database::open(dir.file("a.db"), OpenOptions{});
  ASSERT_TRUE(db.ok());
  Database& d = **db;
  ASSERT_TRUE(d.exec("CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1),(2),(3)").ok());
  sqlite3_stmt* first = nullptr;
  {
    auto st = d.statement(kSelectAll);
    ASSERT_TRUE(st.valid());
    first = st.handle();
    auto row = st.step();
    ASSERT_TRUE(row.ok() && row.value());
    EXPECT_EQ(1, st.int32(0));
    // Leaves the statement mid-iteration.
  }
  {
    auto st = d.statement(kSelectAll);
    EXPECT_EQ(first, st.handle());  // The cached statement, not a new one.
    auto row = st.step();
    ASSERT_TRUE(row.ok() && row.value());
    EXPECT_EQ(1, st.int32(0));  // Reset on scope exit: starts over.
  }
  // A different string with the same text is a different cache entry.
  std::string copy = kSelectAll;
  auto other = d.statement(copy.c_str());
  EXPECT_NE(first, other.handle());
}

TEST(DatabaseTest, AStatementThatDoesNotPrepareFailsOnStep) {
  TempDir dir;
  auto db = Database::open(dir.file("a.db"), OpenOptions{});
  ASSERT_TRUE(db.ok());
  auto st = (*db)->statement(kBroken);
  EXPECT_FALSE(st.valid());
  auto row = st.step();
  ASSERT_FALSE(row.ok());
  EXPECT_EQ(ErrorKind::kInternal, row.error().kind);

  auto prepared = (*db)->prepare(kBroken);
  ASSERT_FALSE(prepared.ok());
  EXPECT_NE(std::string::npos, prepared.error().message.find("no such table")) << prepared.error().message;
}

TEST(DatabaseTest, BeginCommitAndRollback) {
  TempDir dir;
  auto db = Database::open(dir.file("a.db"), OpenOptions{});
  ASSERT_TRUE(db.ok());
  Database& d = **db;
  ASSERT_TRUE(d.exec("CREATE TABLE t (v INTEGER)").ok());

  ASSERT_TRUE(d.begin().ok());
  EXPECT_TRUE(d.inTransaction());
  EXPECT_FALSE(d.begin().ok());  // No nesting.
  ASSERT_TRUE(d.exec("INSERT INTO t VALUES (1)").ok());
  d.rollback();
  EXPECT_FALSE(d.inTransaction());
  EXPECT_EQ("0", queryOne(d, "SELECT count(*) FROM t"));
  d.rollback();  // Harmless outside a transaction.

  ASSERT_TRUE(d.begin().ok());
  ASSERT_TRUE(d.exec("INSERT INTO t VALUES (2)").ok());
  EXPECT_EQ(1, d.changes());
  EXPECT_EQ(1, d.lastInsertRowid());
  ASSERT_TRUE(d.commit().ok());
  EXPECT_FALSE(d.inTransaction());
  EXPECT_EQ("1", queryOne(d, "SELECT count(*) FROM t"));
  EXPECT_FALSE(d.commit().ok());  // Nothing to commit.
}

TEST(DatabaseTest, BeginIsImmediateSoASecondWriterIsBusy) {
  TempDir dir;
  OpenOptions quick;
  quick.busy_timeout_ms = 0;
  auto a = Database::open(dir.file("a.db"), quick);
  auto b = Database::open(dir.file("a.db"), quick);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE((*a)->exec("CREATE TABLE t (v INTEGER)").ok());
  ASSERT_TRUE((*a)->begin().ok());
  // BEGIN IMMEDIATE takes the write lock at once, before any write happened.
  auto r = (*b)->begin();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorKind::kStorage, r.error().kind);
  EXPECT_NE(std::string::npos, r.error().message.find("locked")) << r.error().message;
  (*a)->rollback();
  EXPECT_TRUE((*b)->begin().ok());
  (*b)->rollback();
}

TEST(DatabaseTest, ErrorKindForMapsPrimaryAndExtendedCodes) {
  EXPECT_EQ(ErrorKind::kStorageFull, errorKindFor(SQLITE_FULL));
  EXPECT_EQ(ErrorKind::kInvalidState, errorKindFor(SQLITE_CONSTRAINT));
  EXPECT_EQ(ErrorKind::kInvalidState, errorKindFor(SQLITE_CONSTRAINT_UNIQUE));
  EXPECT_EQ(ErrorKind::kStorage, errorKindFor(SQLITE_IOERR_WRITE));
  EXPECT_EQ(ErrorKind::kStorage, errorKindFor(SQLITE_BUSY));
  EXPECT_EQ(ErrorKind::kStorage, errorKindFor(SQLITE_CORRUPT));
}

TEST(DatabaseTest, LastErrorCarriesContextAndMessage) {
  TempDir dir;
  auto db = Database::open(dir.file("a.db"), OpenOptions{});
  ASSERT_TRUE(db.ok());
  (void)(*db)->exec("SELECT * FROM missing_table");
  Error e = (*db)->lastError("reading jobs");
  EXPECT_EQ(0u, e.message.rfind("reading jobs: ", 0)) << e.message;
  EXPECT_NE(std::string::npos, e.message.find("missing_table")) << e.message;
}

// A database with table t, capped at its current size: anything that needs a new
// page gets SQLITE_FULL.
std::unique_ptr<Database> fullDatabase(const TempDir& dir) {
  auto db = Database::open(dir.file("full.db"), OpenOptions{});
  EXPECT_TRUE(db.ok());
  if (!db.ok()) {
    return nullptr;
  }
  EXPECT_TRUE((*db)->exec("CREATE TABLE t (v BLOB)").ok());
  auto cap = (*db)->setMaxPageCount(1);
  EXPECT_TRUE(cap.ok());
  EXPECT_EQ(queryOne(**db, "PRAGMA page_count"), std::to_string(cap.ok() ? *cap : -1))
      << "a cap below the size holds the file at its size";
  return std::move(*db);
}

TEST(DatabaseTest, AFullDiskRollsTheWholeTransactionBackEvenWhenSQLiteWouldKeepIt) {
  TempDir dir;
  auto db = fullDatabase(dir);
  ASSERT_NE(nullptr, db);
  ASSERT_TRUE(db->begin().ok());
  ASSERT_TRUE(db->exec("INSERT INTO t VALUES (1)").ok());
  // A multi-row INSERT ... SELECT uses a statement journal: on its own, SQLite
  // would undo only this statement and keep the transaction (and the row above).
  auto st = db->prepare("INSERT INTO t SELECT zeroblob(100000) FROM (VALUES (1), (2), (3))");
  ASSERT_TRUE(st.ok());
  Statement full(db->handle(), st->get());
  auto r = full.run();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorKind::kStorageFull, r.error().kind) << r.error().message;
  EXPECT_FALSE(db->inTransaction()) << "the whole transaction must be gone";
  db->rollback();
  EXPECT_EQ("0", queryOne(*db, "SELECT count(*) FROM t"));
}

TEST(DatabaseTest, AWriteAfterSQLiteRolledBackTheTransactionIsRefusedNotCommittedAlone) {
  TempDir dir;
  auto db = fullDatabase(dir);
  ASSERT_NE(nullptr, db);
  ASSERT_TRUE(db->begin().ok());
  ASSERT_TRUE(db->exec("INSERT INTO t VALUES (1)").ok());
  ASSERT_FALSE(db->exec("INSERT INTO t VALUES (zeroblob(1048576))").ok());
  ASSERT_FALSE(db->inTransaction());
  // The next write of the same unit of work would run in autocommit mode.
  auto refused = db->exec("INSERT INTO t VALUES (2)");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(ErrorKind::kStorage, refused.error().kind) << refused.error().message;
  auto stmt = db->statement("INSERT INTO t VALUES (3)");
  auto via_statement = stmt.run();
  ASSERT_FALSE(via_statement.ok());
  EXPECT_NE(std::string::npos, via_statement.error().message.find("rolled this write's transaction back"))
      << via_statement.error().message;
  EXPECT_EQ("0", queryOne(*db, "SELECT count(*) FROM t")) << "reads still work";
  // Once the transaction is ended, writes go through again.
  db->rollback();
  EXPECT_TRUE(db->exec("INSERT INTO t VALUES (4)").ok());
  EXPECT_EQ("1", queryOne(*db, "SELECT count(*) FROM t"));
}

TEST(DatabaseTest, MaxPageCountCapsTheFileAndZeroLiftsTheCap) {
  TempDir dir;
  auto db = fullDatabase(dir);
  ASSERT_NE(nullptr, db);
  auto full = db->exec("INSERT INTO t VALUES (zeroblob(1048576))");
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(ErrorKind::kStorageFull, full.error().kind);
  auto lifted = db->setMaxPageCount(0);
  ASSERT_TRUE(lifted.ok());
  EXPECT_GT(*lifted, 1'000'000);
  EXPECT_TRUE(db->exec("INSERT INTO t VALUES (zeroblob(1048576))").ok());
  auto capped = db->setMaxPageCount(100'000);
  ASSERT_TRUE(capped.ok());
  EXPECT_EQ(100'000, *capped);
}

TEST(DatabaseTest, NewDatabasesGiveFreedPagesBackWithIncrementalVacuum) {
  TempDir dir;
  auto opened = Database::open(dir.file("v.db"), OpenOptions{});
  ASSERT_TRUE(opened.ok());
  Database& db = **opened;
  EXPECT_EQ("2", queryOne(db, "PRAGMA auto_vacuum"));  // INCREMENTAL
  ASSERT_TRUE(db.exec("CREATE TABLE t (v BLOB)").ok());
  ASSERT_TRUE(db.exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) "
                      "INSERT INTO t SELECT zeroblob(4000) FROM n")
                  .ok());
  const int64_t grown = db.queryInt("PRAGMA page_count").value();
  ASSERT_TRUE(db.exec("DELETE FROM t").ok());
  const int64_t free_pages = db.queryInt("PRAGMA freelist_count").value();
  EXPECT_GT(free_pages, 400);
  auto n = db.incrementalVacuum(100);
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(100, *n);
  while (db.queryInt("PRAGMA freelist_count").value() > 0) {
    ASSERT_GT(db.incrementalVacuum(100).value(), 0);
  }
  EXPECT_LT(db.queryInt("PRAGMA page_count").value(), grown - 400);
}

}  // namespace
}  // namespace llmq::store
