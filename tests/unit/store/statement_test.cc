// Tests for store::Statement: binding every type, NULLs, optional binds, the
// deferred bind error, reset-and-clear on scope exit, and step errors.
#include "store/statement.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "store/database.h"
#include "tests/support/temp_dir.h"

namespace llmq::store {
namespace {

constexpr char kCreate[] = "CREATE TABLE t (i INTEGER, r REAL, s TEXT, n TEXT)";
constexpr char kInsert[] = "INSERT INTO t (i, r, s, n) VALUES (?1, ?2, ?3, ?4)";
constexpr char kSelect[] = "SELECT i, r, s, n FROM t ORDER BY rowid";
constexpr char kSelectParam[] = "SELECT ?1";

class StatementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = Database::open(dir_.file("s.db"), OpenOptions{});
    ASSERT_TRUE(db.ok()) << db.error().message;
    db_ = std::move(db).value();
    ASSERT_TRUE(db_->exec(kCreate).ok());
  }
  llmq::testing::TempDir dir_;
  std::unique_ptr<Database> db_;
};

TEST_F(StatementTest, BindsAndReadsEveryType) {
  {
    auto st = db_->statement(kInsert);
    std::string text("with\0nul", 8);
    st.bind(1, int64_t{1} << 40).bind(2, 2.5).bind(3, text).bindNull(4);
    ASSERT_TRUE(st.run().ok());
  }
  {
    auto st = db_->statement(kInsert);
    std::optional<int64_t> none;
    std::optional<std::string> some = "x";
    st.bind(1, none).bind(2, -1.0).bindStatic(3, "static").bind(4, some);
    ASSERT_TRUE(st.run().ok());
  }
  auto st = db_->statement(kSelect);
  auto row = st.step();
  ASSERT_TRUE(row.ok() && row.value());
  EXPECT_EQ(int64_t{1} << 40, st.int64(0));
  EXPECT_DOUBLE_EQ(2.5, st.real(1));
  EXPECT_EQ(std::string("with\0nul", 8), st.string(2));  // Length, not NUL-terminated.
  EXPECT_TRUE(st.isNull(3));
  EXPECT_EQ("", st.text(3));
  row = st.step();
  ASSERT_TRUE(row.ok() && row.value());
  EXPECT_TRUE(st.isNull(0));
  EXPECT_DOUBLE_EQ(-1.0, st.real(1));
  EXPECT_EQ("static", st.text(2));
  EXPECT_EQ("x", st.text(3));
  row = st.step();
  ASSERT_TRUE(row.ok());
  EXPECT_FALSE(row.value());
}

TEST_F(StatementTest, ClearsBindingsOnScopeExit) {
  {
    auto st = db_->statement(kSelectParam);
    st.bind(1, 42);
    ASSERT_TRUE(st.step().value());
    EXPECT_EQ(42, st.int32(0));
  }
  auto st = db_->statement(kSelectParam);
  ASSERT_TRUE(st.step().value());
  EXPECT_TRUE(st.isNull(0));  // The previous user's 42 is gone.
}

TEST_F(StatementTest, ABindErrorIsReportedByStep) {
  auto st = db_->statement(kSelectParam);
  st.bind(7, 1).bind(1, 2);  // 7 is out of range; the later good bind does not hide it.
  EXPECT_EQ(SQLITE_RANGE, st.lastCode());
  auto row = st.step();
  ASSERT_FALSE(row.ok());
  EXPECT_NE(std::string::npos, row.error().message.find("binding parameter")) << row.error().message;
  EXPECT_NE(std::string::npos, row.error().message.find(kSelectParam));
}

TEST_F(StatementTest, AStepErrorCarriesTheSqliteMessageAndKind) {
  ASSERT_TRUE(db_->exec("CREATE UNIQUE INDEX t_i ON t(i)").ok());
  constexpr static char kInsertOne[] = "INSERT INTO t (i) VALUES (1)";
  ASSERT_TRUE(db_->statement(kInsertOne).run().ok());
  auto r = db_->statement(kInsertOne).run();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorKind::kInvalidState, r.error().kind);
  EXPECT_NE(std::string::npos, r.error().message.find("UNIQUE constraint failed")) << r.error().message;
}

TEST_F(StatementTest, MovedFromStatementDoesNotResetTwice) {
  auto a = db_->statement(kSelect);
  Statement b(std::move(a));
  EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): checking the moved-from state.
  EXPECT_TRUE(b.valid());
}

}  // namespace
}  // namespace llmq::store
