// Hostile: the clock. The wall clock of a machine without a battery-backed clock
// boots in the past and is then stepped forward by NTP; retention must not take
// that jump for age and prune results that were finished moments ago, whether
// the jump comes while llmqd runs or while it is stopped (same boot).
//
// The jump is made with libfaketime (Debian's faketime package): llmqd runs with
// it preloaded, reading its offset from a file the test rewrites; the monotonic
// and boot clocks stay real (FAKETIME_DONT_FAKE_MONOTONIC).
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "store/database.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/fake_clock.h"
#include "tests/support/rpc.h"
#include "tests/support/test_db.h"
#include "tests/support/wait.h"

namespace llmq::testing {
namespace {

constexpr int64_t kDayMs = 86'400'000;
// One day of retention, looked at ten times a second.
constexpr char kConfig[] = "[retention]\nfinished_jobs_days = 1\ncheck_s = 0.1\n";

class ClockTest : public DaemonFixture {
 protected:
  void SetUp() override {
    if (const std::string why = clock_.unavailable(); !why.empty()) {
      GTEST_SKIP() << why;
    }
    clock_.setOffset("+0");
  }

  void start() { launchDaemon({.config_toml = kConfig, .extra_env = clock_.env()}); }

  std::unique_ptr<store::Database> openDb() { return openDatabase(dir_.file("llmq.db")); }

  // Makes the jobs of client "old" really old: finished 400 days ago. They are
  // the test's proof that retention passes run (they must be pruned).
  void ageOldJobs() {
    auto db = openDb();
    ASSERT_NE(nullptr, db);
    const std::string sql =
        "UPDATE jobs SET finished_at = finished_at - " + std::to_string(400 * kDayMs) + " WHERE client = 'old'";
    ASSERT_TRUE(db->exec(sql.c_str()).ok());
  }

  bool pruned(const std::string& id) { return job(id).HasMember("pruned"); }

  // True once the database holds a retention pass's record of the clock; with
  // `step`, one of a clock step.
  bool clockRecorded(bool step) {
    auto db = openDb();
    if (db == nullptr) {
      return false;
    }
    auto n = db->queryInt(step ? "SELECT count(*) FROM settings WHERE name = 'retention_clock' AND value NOT LIKE "
                                 "'%\"steps\":[]%'"
                               : "SELECT count(*) FROM settings WHERE name = 'retention_clock'");
    return n.ok() && *n > 0;
  }

  // Submits a job of client "old" and three fresh ones, and waits for all of them to end.
  void runJobs(std::string* old, std::vector<std::string>* fresh) {
    *old = submit(*client_, "mock/old", R"("client":"old")");
    for (int i = 0; i < 3; ++i) {
      fresh->push_back(submit(*client_, "mock/fresh"));
    }
    ASSERT_EQ("succeeded", waitTerminal(*client_, *old));
    for (const std::string& id : *fresh) {
      ASSERT_EQ("succeeded", waitTerminal(*client_, id));
    }
  }

  FakeClock clock_{dir_.file("faketime")};
};

TEST_F(ClockTest, JobsJustFinishedSurviveAForwardJumpOfAYearWhileRunning) {
  ASSERT_NO_FATAL_FAILURE(start());
  std::string old;
  std::vector<std::string> fresh;
  ASSERT_NO_FATAL_FAILURE(runJobs(&old, &fresh));
  ageOldJobs();
  ASSERT_TRUE(waitUntil([&] { return pruned(old); }, 20000)) << "retention never ran";
  ASSERT_FALSE(pruned(fresh[0]));

  clock_.setOffset("+365d");
  // Either the step is recorded (a whole pass ran after the jump) or, as before
  // the fix, the fresh jobs go.
  ASSERT_TRUE(waitUntil([&] { return clockRecorded(/*step=*/true) || pruned(fresh[0]); }, 20000)) << daemon_->log();
  for (const std::string& id : fresh) {
    json::Document j = job(id);
    EXPECT_FALSE(j.HasMember("pruned")) << "a job finished moments ago was pruned after a clock jump";
    EXPECT_TRUE(j["result"].IsObject());
  }
  EXPECT_NE(std::string::npos, daemon_->log().find("the wall clock jumped")) << daemon_->log();
  // Jobs finished after the jump run and are kept as ever.
  const std::string after = submit(*client_, "mock/after");
  EXPECT_EQ("succeeded", waitTerminal(*client_, after));
  EXPECT_FALSE(pruned(after));
}

TEST_F(ClockTest, JobsSurviveAForwardJumpMadeWhileTheDaemonWasStopped) {
  ASSERT_NO_FATAL_FAILURE(start());
  std::string old;
  std::vector<std::string> fresh;
  ASSERT_NO_FATAL_FAILURE(runJobs(&old, &fresh));
  // Wait for one pass to have recorded the clock (it does after every pass).
  waitUntil([&] { return clockRecorded(/*step=*/false); }, 20000);
  client_.reset();
  ASSERT_TRUE(daemon_->stop());
  ageOldJobs();
  clock_.setOffset("+365d");
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_TRUE(waitUntil([&] { return pruned(old); }, 20000)) << "retention never ran after the restart";
  for (const std::string& id : fresh) {
    EXPECT_FALSE(pruned(id)) << "a job finished moments before the restart was pruned";
  }
}

}  // namespace
}  // namespace llmq::testing
