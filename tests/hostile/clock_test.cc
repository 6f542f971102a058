// Hostile: the clock. The wall clock of a machine without a battery-backed clock
// boots in the past and is then stepped forward by NTP; retention must not take
// that jump for age and prune results that were finished moments ago, whether
// the jump comes while llmqd runs or while it is stopped (same boot).
//
// The jump is made with libfaketime (Debian's faketime package): llmqd runs with
// it preloaded, reading its offset from a file the test rewrites; the monotonic
// and boot clocks stay real (FAKETIME_DONT_FAKE_MONOTONIC).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "store/database.h"
#include "tests/support/daemon_process.h"
#include "tests/support/rpc.h"
#include "tests/support/temp_dir.h"

namespace llmq::testing {
namespace {

constexpr char kFaketime[] = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
constexpr int64_t kDayMs = 86'400'000;
// One day of retention, looked at ten times a second.
constexpr char kConfig[] = "[retention]\nfinished_jobs_days = 1\ncheck_s = 0.1\n";

class ClockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kFaketime, R_OK) != 0) {
      GTEST_SKIP() << "needs libfaketime (" << kFaketime << ", Debian package libfaketime)";
    }
    setOffset("+0");
  }

  void setOffset(const std::string& offset) { std::ofstream(offset_file_, std::ios::trunc) << offset << "\n"; }

  DaemonOptions options() const {
    return {.config_toml = kConfig,
            .extra_env = {std::string("LD_PRELOAD=") + kFaketime, "FAKETIME_TIMESTAMP_FILE=" + offset_file_,
                          "FAKETIME_NO_CACHE=1", "FAKETIME_DONT_FAKE_MONOTONIC=1"}};
  }

  std::unique_ptr<store::Database> openDb() {
    auto db = store::Database::open(dir_.file("llmq.db"), store::OpenOptions{});
    EXPECT_TRUE(db.ok()) << (db.ok() ? "" : db.error().message);
    return db.ok() ? std::move(*db) : nullptr;
  }

  // Makes the jobs of client "old" really old: finished 400 days ago. They are
  // the test's proof that retention passes run (they must be pruned).
  void ageOldJobs() {
    auto db = openDb();
    ASSERT_NE(nullptr, db);
    const std::string sql =
        "UPDATE jobs SET finished_at = finished_at - " + std::to_string(400 * kDayMs) + " WHERE client = 'old'";
    ASSERT_TRUE(db->exec(sql.c_str()).ok());
  }

  static bool pruned(ipc::Client& client, const std::string& id) {
    return callOk(client, "job.get", "{\"job_id\":\"" + id + "\"}").HasMember("pruned");
  }

  // True once the database holds a retention pass's record of a clock step.
  bool stepRecorded() {
    auto db = openDb();
    if (db == nullptr) {
      return false;
    }
    auto n = db->queryInt(
        "SELECT count(*) FROM settings WHERE name = 'retention_clock' AND value NOT LIKE '%\"steps\":[]%'");
    return n.ok() && *n > 0;
  }

  TempDir dir_;
  std::string offset_file_ = dir_.file("faketime");
};

TEST_F(ClockTest, JobsJustFinishedSurviveAForwardJumpOfAYearWhileRunning) {
  DaemonProcess daemon(dir_.path(), options());
  ASSERT_TRUE(daemon.start());
  auto client = daemon.connect();
  const std::string old = submit(*client, "mock/old", R"("client":"old")");
  std::vector<std::string> fresh;
  for (int i = 0; i < 3; ++i) {
    fresh.push_back(submit(*client, "mock/fresh"));
  }
  ASSERT_EQ("succeeded", waitTerminal(*client, old));
  for (const std::string& id : fresh) {
    ASSERT_EQ("succeeded", waitTerminal(*client, id));
  }
  ageOldJobs();
  bool old_pruned = false;
  for (int waited = 0; waited < 20000 && !old_pruned; waited += 50) {
    old_pruned = pruned(*client, old);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(old_pruned) << "retention never ran";
  ASSERT_FALSE(pruned(*client, fresh[0]));

  setOffset("+365d");
  // Either the step is recorded (a whole pass ran after the jump) or, as before
  // the fix, the fresh jobs go.
  bool settled = false;
  for (int waited = 0; waited < 20000 && !settled; waited += 50) {
    settled = stepRecorded() || pruned(*client, fresh[0]);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(settled) << daemon.log();
  for (const std::string& id : fresh) {
    json::Document job = callOk(*client, "job.get", "{\"job_id\":\"" + id + "\"}");
    EXPECT_FALSE(job.HasMember("pruned")) << "a job finished moments ago was pruned after a clock jump";
    EXPECT_TRUE(job["result"].IsObject());
  }
  EXPECT_NE(std::string::npos, daemon.log().find("the wall clock jumped")) << daemon.log();
  // Jobs finished after the jump run and are kept as ever.
  const std::string after = submit(*client, "mock/after");
  EXPECT_EQ("succeeded", waitTerminal(*client, after));
  EXPECT_FALSE(pruned(*client, after));
}

TEST_F(ClockTest, JobsSurviveAForwardJumpMadeWhileTheDaemonWasStopped) {
  std::string old;
  std::vector<std::string> fresh;
  {
    DaemonProcess daemon(dir_.path(), options());
    ASSERT_TRUE(daemon.start());
    auto client = daemon.connect();
    old = submit(*client, "mock/old", R"("client":"old")");
    for (int i = 0; i < 3; ++i) {
      fresh.push_back(submit(*client, "mock/fresh"));
    }
    ASSERT_EQ("succeeded", waitTerminal(*client, old));
    for (const std::string& id : fresh) {
      ASSERT_EQ("succeeded", waitTerminal(*client, id));
    }
    // Wait for one pass to have recorded the clock (it does after every pass).
    bool saved = false;
    for (int waited = 0; waited < 20000 && !saved; waited += 50) {
      auto db = openDb();
      saved = db != nullptr &&
              db->queryInt("SELECT count(*) FROM settings WHERE name = 'retention_clock'").value() > 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(daemon.stop());
  }
  ageOldJobs();
  setOffset("+365d");
  DaemonProcess daemon(dir_.path(), options());
  ASSERT_TRUE(daemon.start());
  auto client = daemon.connect();
  bool old_pruned = false;
  for (int waited = 0; waited < 20000 && !old_pruned; waited += 50) {
    old_pruned = pruned(*client, old);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(old_pruned) << "retention never ran after the restart";
  for (const std::string& id : fresh) {
    EXPECT_FALSE(pruned(*client, id)) << "a job finished moments before the restart was pruned";
  }
}

}  // namespace
}  // namespace llmq::testing
