// Tests for daemon::CommitCycle: callbacks run at once without a transaction, in
// order after a successful COMMIT, with false when the commit fails (a deferred
// constraint at COMMIT, or SQLITE_FULL that makes SQLite roll back on its own),
// and the writes of a failed turn are gone while the next turn works. Units (a
// running job's outcome) outlive a lost turn: kept, written again once there is
// room, their callbacks held until then and run once, with true.
#include "daemon/turn/commit_cycle.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/database.h"
#include "store/sqlite_store.h"
#include "tests/support/test_db.h"

namespace llmq::daemon {
namespace {

using llmq::testing::queryOne;
using llmq::testing::TestDb;

class CommitCycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(t_.ok());
    ASSERT_TRUE(db().exec("CREATE TABLE t (v BLOB)").ok());
    // A deferred foreign key is checked at COMMIT, so COMMIT itself fails.
    ASSERT_TRUE(db().exec("CREATE TABLE parent (id INTEGER PRIMARY KEY);"
                          "CREATE TABLE child (pid INTEGER REFERENCES parent(id) "
                          "DEFERRABLE INITIALLY DEFERRED)")
                    .ok());
  }
  store::Database& db() { return t_.db(); }
  std::string count(const char* table) { return queryOne(db(), std::string("SELECT count(*) FROM ") + table); }

  TestDb t_{/*migrate=*/false};
  store::SqliteStore store_{t_.db()};
  CommitCycle cycle_{store_};
  std::vector<std::string> log_;
};

TEST_F(CommitCycleTest, AfterCommitRunsAtOnceWithoutATransaction) {
  EXPECT_FALSE(cycle_.open());
  int calls = 0;
  cycle_.afterCommit([&](bool committed) {
    ++calls;
    EXPECT_TRUE(committed);
  });
  EXPECT_EQ(1, calls);           // Synchronously, before afterCommit returned.
  EXPECT_TRUE(cycle_.commit());  // Nothing to commit: true, and no callback again.
  EXPECT_EQ(1, calls);
  EXPECT_EQ(0u, cycle_.commits());
  EXPECT_EQ(0u, cycle_.failedCommits());
}

TEST_F(CommitCycleTest, WriteOpensOneTransactionPerTurn) {
  ASSERT_TRUE(cycle_.write().ok());
  EXPECT_TRUE(cycle_.open());
  EXPECT_TRUE(db().inTransaction());
  ASSERT_TRUE(cycle_.write().ok());  // Already open: no nested BEGIN.
  ASSERT_TRUE(db().exec("INSERT INTO t VALUES (1)").ok());
  EXPECT_TRUE(cycle_.commit());
  EXPECT_FALSE(cycle_.open());
  EXPECT_FALSE(db().inTransaction());
  EXPECT_EQ(1u, cycle_.commits());
  EXPECT_EQ("1", count("t"));
}

TEST_F(CommitCycleTest, DeferredCallbacksRunInOrderAfterTheCommitIsDurable) {
  // A second connection sees only committed data.
  auto reader = store::Database::open(t_.path(), store::OpenOptions{});
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE(cycle_.write().ok());
  ASSERT_TRUE(db().exec("INSERT INTO t VALUES (1)").ok());
  for (int i = 0; i < 3; ++i) {
    cycle_.afterCommit([&, i](bool committed) {
      log_.push_back(std::to_string(i) + (committed ? ":ok" : ":failed"));
      // By the time the callback runs, the write is visible to everyone.
      EXPECT_EQ("1", queryOne(**reader, "SELECT count(*) FROM t"));
    });
  }
  EXPECT_TRUE(log_.empty());
  EXPECT_EQ("0", queryOne(**reader, "SELECT count(*) FROM t"));
  EXPECT_TRUE(cycle_.commit());
  EXPECT_EQ((std::vector<std::string>{"0:ok", "1:ok", "2:ok"}), log_);
  EXPECT_EQ(1u, cycle_.commits());
  // Each callback ran once: a second commit runs nothing.
  EXPECT_TRUE(cycle_.commit());
  EXPECT_EQ(3u, log_.size());
}

TEST_F(CommitCycleTest, CallbacksThatWriteAgainWaitForTheNextCommit) {
  ASSERT_TRUE(cycle_.write().ok());
  cycle_.afterCommit([&](bool committed) {
    log_.push_back(committed ? "first:ok" : "first:failed");
    ASSERT_TRUE(cycle_.write().ok());  // Opens the next turn's transaction.
    ASSERT_TRUE(db().exec("INSERT INTO t VALUES (2)").ok());
    cycle_.afterCommit([&](bool c) { log_.push_back(c ? "second:ok" : "second:failed"); });
  });
  EXPECT_TRUE(cycle_.commit());
  EXPECT_EQ((std::vector<std::string>{"first:ok"}), log_);
  EXPECT_TRUE(cycle_.open());
  EXPECT_TRUE(cycle_.commit());
  EXPECT_EQ((std::vector<std::string>{"first:ok", "second:ok"}), log_);
  EXPECT_EQ(2u, cycle_.commits());
  EXPECT_EQ("1", count("t"));
}

TEST_F(CommitCycleTest, AFailingCommitRollsBackAndCallsBackWithFalse) {
  ASSERT_TRUE(cycle_.write().ok());
  ASSERT_TRUE(db().exec("INSERT INTO t VALUES (1)").ok());
  ASSERT_TRUE(db().exec("INSERT INTO child VALUES (42)").ok());  // No parent 42.
  cycle_.afterCommit([&](bool committed) { log_.push_back(committed ? "a:ok" : "a:failed"); });
  cycle_.afterCommit([&](bool committed) { log_.push_back(committed ? "b:ok" : "b:failed"); });
  EXPECT_FALSE(cycle_.commit());
  EXPECT_EQ((std::vector<std::string>{"a:failed", "b:failed"}), log_);
  EXPECT_FALSE(cycle_.open());
  EXPECT_FALSE(db().inTransaction());  // Rolled back, not left open.
  EXPECT_EQ(0u, cycle_.commits());
  EXPECT_EQ(1u, cycle_.failedCommits());
  EXPECT_EQ("0", count("t"));  // The whole turn is gone.
  EXPECT_EQ("0", count("child"));

  // The next turn starts clean and commits.
  ASSERT_TRUE(cycle_.write().ok());
  ASSERT_TRUE(db().exec("INSERT INTO t VALUES (2)").ok());
  EXPECT_TRUE(cycle_.commit());
  EXPECT_EQ("1", count("t"));
  EXPECT_EQ(1u, cycle_.commits());
}

TEST_F(CommitCycleTest, ADiskFullTurnCallsBackWithFalse) {
  // Cap the file at its current size so a large insert gets SQLITE_FULL.
  std::string pages = queryOne(db(), "PRAGMA page_count");
  ASSERT_FALSE(pages.empty());
  std::string cap = "PRAGMA max_page_count=" + pages;
  ASSERT_TRUE(db().exec(cap.c_str()).ok());

  ASSERT_TRUE(cycle_.write().ok());
  ASSERT_TRUE(db().exec("INSERT INTO t VALUES (1)").ok());
  auto full = db().exec("INSERT INTO t VALUES (zeroblob(1048576))");
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(ErrorKind::kStorageFull, full.error().kind) << full.error().message;
  int calls = 0;
  cycle_.afterCommit([&](bool committed) {
    ++calls;
    EXPECT_FALSE(committed);
  });
  // SQLite rolled the whole transaction back on its own: the cycle still thinks
  // it is open, and must not report the turn as committed.
  EXPECT_FALSE(db().inTransaction());
  EXPECT_TRUE(cycle_.open());
  EXPECT_FALSE(cycle_.commit());
  EXPECT_EQ(1, calls);
  EXPECT_EQ(1u, cycle_.failedCommits());
  EXPECT_FALSE(db().inTransaction());
  EXPECT_EQ("0", count("t"));

  // Room again: the next turn works.
  ASSERT_TRUE(db().exec("PRAGMA max_page_count=1000000").ok());
  ASSERT_TRUE(cycle_.write().ok());
  ASSERT_TRUE(db().exec("INSERT INTO t VALUES (zeroblob(1048576))").ok());
  EXPECT_TRUE(cycle_.commit());
  EXPECT_EQ("1", count("t"));
}

TEST_F(CommitCycleTest, AWriteAfterSQLiteRolledBackTheTurnIsNotSilentlyAutocommitted) {
  std::string cap = "PRAGMA max_page_count=" + queryOne(db(), "PRAGMA page_count");
  ASSERT_TRUE(db().exec(cap.c_str()).ok());
  ASSERT_TRUE(cycle_.write().ok());
  ASSERT_FALSE(db().exec("INSERT INTO t VALUES (zeroblob(1048576))").ok());  // SQLITE_FULL.
  ASSERT_FALSE(db().inTransaction());

  // A later handler in the same turn writes a small row, which still fits.
  auto w = cycle_.write();
  if (!w.ok()) {
    return;  // Refusing to write into a rolled-back turn is a correct answer.
  }
  EXPECT_TRUE(db().inTransaction()) << "write() succeeded but opened no transaction";
  ASSERT_TRUE(db().exec("INSERT INTO t VALUES (1)").ok());
  int calls = 0;
  bool committed = false;
  cycle_.afterCommit([&](bool c) {
    ++calls;
    committed = c;
  });
  (void)cycle_.commit();
  EXPECT_EQ(1, calls);
  // Whatever the outcome, the callback must tell the truth about the row.
  EXPECT_EQ(committed, count("t") == "1") << "committed=" << committed << " rows=" << count("t");
}

// A unit that writes one big row (which a capped database cannot take) and one
// small one, and queues a callback; its redo writes the same rows.
class CommitCycleUnitTest : public CommitCycleTest {
 protected:
  void cap() {
    std::string sql = "PRAGMA max_page_count=" + queryOne(db(), "PRAGMA page_count");
    ASSERT_TRUE(db().exec(sql.c_str()).ok());
  }
  void uncap() { ASSERT_TRUE(db().setMaxPageCount(0).ok()); }
  static Result<void> writeOutcome(store::Database& db) {
    if (auto r = db.exec("INSERT INTO t VALUES ('small')"); !r) {
      return r;
    }
    return db.exec("INSERT INTO t VALUES (zeroblob(200000))");
  }
  void unit(const std::string& name) {
    ASSERT_TRUE(cycle_.write().ok());
    cycle_.beginUnit();
    (void)writeOutcome(db());
    cycle_.afterCommit(
        [this, name](bool committed) { log_.push_back(name + (committed ? ":stored" : ":refused")); });
    store::Database* d = &db();
    cycle_.endUnit("unit " + name, [this, d, name] {
      ++redos_;
      return writeOutcome(*d);
    });
  }
  int redos_ = 0;
};

TEST_F(CommitCycleUnitTest, AUnitIsStoredWithItsTurnWhenThereIsRoom) {
  unit("a");
  EXPECT_TRUE(cycle_.commit());
  EXPECT_EQ((std::vector<std::string>{"a:stored"}), log_);
  EXPECT_EQ(0u, cycle_.kept());
  EXPECT_EQ(0, redos_);
  EXPECT_EQ("2", count("t"));
}

TEST_F(CommitCycleUnitTest, ALostTurnKeepsItsUnitsUntilThereIsRoomAgain) {
  cap();
  int lost = 0;
  cycle_.setOnLost([&] { ++lost; });
  // A submit-like change in the same turn: refused, its callback says so.
  ASSERT_TRUE(cycle_.write().ok());
  cycle_.afterCommit([&](bool committed) { log_.push_back(committed ? "submit:ok" : "submit:refused"); });
  unit("a");
  EXPECT_FALSE(cycle_.commit());
  EXPECT_EQ(1, lost);
  EXPECT_EQ((std::vector<std::string>{"submit:refused"}), log_) << "the unit's callback waits";
  EXPECT_EQ(1u, cycle_.kept());
  EXPECT_EQ("0", count("t"));
  EXPECT_FALSE(db().inTransaction());

  // Another turn loses a second unit; retrying while still full stores nothing.
  unit("b");
  EXPECT_FALSE(cycle_.commit());
  EXPECT_EQ(2u, cycle_.kept());
  EXPECT_FALSE(cycle_.retryKept());
  EXPECT_EQ(1, redos_) << "the first failing redo ends the try";
  EXPECT_EQ(2u, cycle_.kept());
  EXPECT_EQ(1u, log_.size());

  // Other turns work meanwhile when what they write fits.
  ASSERT_TRUE(cycle_.write().ok());
  ASSERT_TRUE(db().exec("INSERT INTO t VALUES (1)").ok());
  EXPECT_TRUE(cycle_.commit());
  EXPECT_EQ("1", count("t"));

  // Room again: both units are written, in order, and their callbacks run once.
  uncap();
  redos_ = 0;
  EXPECT_TRUE(cycle_.retryKept());
  EXPECT_EQ(2, redos_);
  EXPECT_EQ(0u, cycle_.kept());
  EXPECT_EQ((std::vector<std::string>{"submit:refused", "a:stored", "b:stored"}), log_);
  EXPECT_EQ("5", count("t"));
  EXPECT_TRUE(cycle_.retryKept());  // Nothing left.
  EXPECT_EQ(3u, log_.size());
}

TEST_F(CommitCycleUnitTest, RetryWaitsForAnOpenTurn) {
  cap();
  unit("a");
  EXPECT_FALSE(cycle_.commit());
  uncap();
  ASSERT_TRUE(cycle_.write().ok());
  EXPECT_FALSE(cycle_.retryKept()) << "never inside another turn's transaction";
  EXPECT_EQ(1u, cycle_.kept());
  EXPECT_TRUE(cycle_.commit());
  EXPECT_TRUE(cycle_.retryKept());
  EXPECT_EQ((std::vector<std::string>{"a:stored"}), log_);
}

TEST_F(CommitCycleUnitTest, CloseGivesUpOnUnitsThatStillDoNotFit) {
  cap();
  unit("a");
  EXPECT_FALSE(cycle_.commit());
  cycle_.close();
  EXPECT_EQ(0u, cycle_.kept());
  EXPECT_EQ((std::vector<std::string>{"a:refused"}), log_) << "every callback runs exactly once";
  EXPECT_EQ("0", count("t"));
}

TEST_F(CommitCycleUnitTest, ADiskFullMidUnitLosesTheWholeUnitNotHalf) {
  cap();
  ASSERT_TRUE(cycle_.write().ok());
  cycle_.beginUnit();
  ASSERT_TRUE(db().exec("INSERT INTO t VALUES ('small')").ok());
  ASSERT_FALSE(db().exec("INSERT INTO t VALUES (zeroblob(200000))").ok());
  // The unit goes on writing (its code logs store errors and carries on): that
  // write must not be committed on its own.
  EXPECT_FALSE(db().exec("INSERT INTO t VALUES ('after')").ok());
  store::Database* d = &db();
  cycle_.endUnit("unit", [d] { return writeOutcome(*d); });
  EXPECT_FALSE(cycle_.commit());
  EXPECT_EQ("0", count("t"));
  EXPECT_EQ(1u, cycle_.kept());
  uncap();
  EXPECT_TRUE(cycle_.retryKept());
  EXPECT_EQ("2", count("t"));
}

}  // namespace
}  // namespace llmq::daemon
