// Integration: restarts. SIGKILL while jobs run loses nothing that was
// acknowledged; interrupted jobs run again (or fail with INTERRUPTED when they
// asked for on_restart = "fail"); SIGTERM lets running jobs finish within the
// grace period and requeues the rest; pause state survives a restart.
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/database.h"
#include "tests/support/daemon_process.h"
#include "tests/support/rpc.h"
#include "tests/support/temp_dir.h"

namespace llmq::testing {
namespace {

constexpr char kSlowConfig[] =
    "[daemon]\nmax_inflight = 8\nshutdown_grace_s = 0.2\n"
    "[retry]\nbase_ms = 10\ncap_ms = 20\n"
    "[mock]\nchunk_delay_ms = 20\nfirst_chunk_delay_ms = 5\n";

TEST(RestartTest, KillNineWhileRunningLosesNoAcknowledgedJob) {
  TempDir dir;
  DaemonProcess daemon(dir.path(), {.config_toml = kSlowConfig});
  ASSERT_TRUE(daemon.start());
  std::vector<std::string> requeue_ids;
  std::vector<std::string> fail_ids;
  {
    auto client = daemon.connect();
    for (int i = 0; i < 60; ++i) {
      bool fail = i % 10 == 0;
      std::string id =
          submit(*client, "mock/restart", fail ? R"("on_restart":"fail")" : "", R"("stream":true,"max_tokens":20)");
      ASSERT_FALSE(id.empty());
      (fail ? fail_ids : requeue_ids).push_back(id);
    }
    // Let the first jobs get going, mid-stream.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    json::Document status = callOk(*client, "daemon.status", "{}");
    ASSERT_GT(status["in_flight"].GetInt(), 0);
  }
  daemon.kill9();

  ASSERT_TRUE(daemon.start());
  auto client = daemon.connect();
  EXPECT_NE(std::string::npos, daemon.log().find("recovered jobs interrupted"));
  std::set<std::string> states;
  for (const std::string& id : requeue_ids) {
    EXPECT_EQ("succeeded", waitTerminal(*client, id, 60000)) << id;
  }
  int interrupted = 0;
  for (const std::string& id : fail_ids) {
    std::string state = waitTerminal(*client, id, 60000);
    json::Document job = callOk(*client, "job.get", "{\"job_id\":\"" + id + "\"}");
    if (state == "failed") {
      EXPECT_STREQ("INTERRUPTED", job["error"]["code"].GetString());
      ++interrupted;
    } else {
      EXPECT_EQ("succeeded", state);  // It had not started when the daemon died.
    }
  }
  EXPECT_GE(interrupted, 1) << "job 0 (on_restart=fail) was running at the kill";
  json::Document list = callOk(*client, "job.list", R"({"limit":1000})");
  EXPECT_EQ(60u, list["jobs"].Size());
  ASSERT_TRUE(daemon.stop());

  // The interrupted attempts stay in the ledger.
  auto db = store::Database::open(daemon.dbPath(), {});
  ASSERT_TRUE(db);
  auto st = (*db)->statement("SELECT count(*) FROM attempts WHERE outcome = 'interrupted'");
  ASSERT_TRUE(st.step().value());
  EXPECT_GE(st.int64(0), 1);
}

TEST(RestartTest, SigtermFinishesWithinGraceAndRequeuesTheRest) {
  TempDir dir;
  DaemonProcess daemon(dir.path(), {.config_toml = kSlowConfig});
  ASSERT_TRUE(daemon.start());
  std::string quick, slow;
  {
    auto client = daemon.connect();
    quick = submit(*client, "mock/quick", "", R"("stream":true,"max_tokens":3)");
    slow = submit(*client, "mock/slow", "", R"("stream":true,"mock":{"tokens":1000})");
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
  ASSERT_TRUE(daemon.stop());
  EXPECT_NE(std::string::npos, daemon.log().find("grace period over"));

  auto db = store::Database::open(daemon.dbPath(), {});
  ASSERT_TRUE(db);
  auto st = (*db)->statement("SELECT state, run_attempts FROM jobs ORDER BY id");
  ASSERT_TRUE(st.step().value());
  EXPECT_EQ(4, st.int32(0)) << "the quick job finished during the grace period";
  ASSERT_TRUE(st.step().value());
  EXPECT_EQ(0, st.int32(0)) << "the slow job went back to the queue";
  EXPECT_EQ(0, st.int32(1)) << "the interrupted attempt does not count against max_attempts";
}

TEST(RestartTest, PauseSurvivesARestart) {
  TempDir dir;
  DaemonProcess daemon(dir.path(), {.config_toml = kSlowConfig});
  ASSERT_TRUE(daemon.start());
  std::string id;
  {
    auto client = daemon.connect();
    callOk(*client, "queue.pause", "{}");
    id = submit(*client);
  }
  ASSERT_TRUE(daemon.stop());
  ASSERT_TRUE(daemon.start());
  auto client = daemon.connect();
  json::Document status = callOk(*client, "daemon.status", "{}");
  EXPECT_TRUE(status["queue_state"]["paused"].GetBool());
  EXPECT_EQ(1, status["queue"]["queued"].GetInt());
  callOk(*client, "queue.resume", "{}");
  EXPECT_EQ("succeeded", waitTerminal(*client, id));
  client.reset();
  ASSERT_TRUE(daemon.stop());
}

TEST(RestartTest, SecondDaemonOnTheSameSocketRefusesToStart) {
  TempDir dir;
  DaemonProcess first(dir.path(), {});
  ASSERT_TRUE(first.start());
  // Its own database, the first one's socket.
  DaemonProcess second(dir.path(), {.extra_args = {"--db", dir.file("other.db")}});
  auto started = second.start(5000);
  EXPECT_FALSE(started);
  EXPECT_NE(std::string::npos, first.log().find("another llmqd is already listening"));
  // The same database too: the database's lock refuses it first (store/db_lock.h).
  DaemonProcess third(dir.path(), {});
  EXPECT_FALSE(third.start(5000));
  EXPECT_NE(std::string::npos, first.log().find("is in use by llmqd pid"));
  ASSERT_TRUE(first.stop());
  // After a SIGKILL the stale socket file is replaced.
  ASSERT_TRUE(first.start());
  first.kill9();
  ASSERT_TRUE(first.start());
  ASSERT_TRUE(first.stop());
}

}  // namespace
}  // namespace llmq::testing
