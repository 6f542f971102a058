// Tests for store::Transaction: rolls back unless committed, and a failed begin
// leaves nothing to roll back.
#include "store/transaction.h"

#include <gtest/gtest.h>

#include "store/database.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_db.h"

namespace llmq::store {
namespace {

using llmq::testing::queryOne;

class TransactionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = Database::open(dir_.file("t.db"), OpenOptions{});
    ASSERT_TRUE(db.ok()) << db.error().message;
    db_ = std::move(db).value();
    ASSERT_TRUE(db_->exec("CREATE TABLE t (v INTEGER)").ok());
  }
  llmq::testing::TempDir dir_;
  std::unique_ptr<Database> db_;
};

TEST_F(TransactionTest, RollsBackWhenNotCommitted) {
  {
    Transaction txn(*db_);
    ASSERT_TRUE(txn.begin().ok());
    ASSERT_TRUE(db_->exec("INSERT INTO t VALUES (1)").ok());
    EXPECT_TRUE(db_->inTransaction());
  }
  EXPECT_FALSE(db_->inTransaction());
  EXPECT_EQ("0", queryOne(*db_, "SELECT count(*) FROM t"));
}

TEST_F(TransactionTest, KeepsCommittedWrites) {
  {
    Transaction txn(*db_);
    ASSERT_TRUE(txn.begin().ok());
    ASSERT_TRUE(db_->exec("INSERT INTO t VALUES (1)").ok());
    ASSERT_TRUE(txn.commit().ok());
    EXPECT_FALSE(db_->inTransaction());
  }
  EXPECT_EQ("1", queryOne(*db_, "SELECT count(*) FROM t"));
}

TEST_F(TransactionTest, AFailedBeginDoesNotRollBackSomeoneElsesTransaction) {
  ASSERT_TRUE(db_->begin().ok());
  ASSERT_TRUE(db_->exec("INSERT INTO t VALUES (1)").ok());
  {
    Transaction nested(*db_);
    EXPECT_FALSE(nested.begin().ok());
  }
  // The outer transaction is still open and still holds the row.
  ASSERT_TRUE(db_->inTransaction());
  ASSERT_TRUE(db_->commit().ok());
  EXPECT_EQ("1", queryOne(*db_, "SELECT count(*) FROM t"));
}

}  // namespace
}  // namespace llmq::store
