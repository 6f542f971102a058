// daemon::Engine (daemon/engine.h) itself, built by the same Engine::build as
// llmqd on a scratch database (tests/support/engine_fixture.h): built, closed
// and built again on the same database it keeps every job and its counts; a
// job acknowledged before a restart runs after it, exactly once; a
// cancel_on_disconnect job is not cancelled by llmqd's own shutdown; stop()
// may be called twice.
#include "daemon/engine.h"

#include <gtest/gtest.h>

#include <string>

#include "daemon/jobs/job_lifecycle.h"
#include "daemon/jobs/job_runner.h"
#include "tests/support/engine_fixture.h"

namespace llmq::daemon {
namespace {

using llmq::testing::ScriptedProvider;
using store::JobState;

class EngineBuildTest : public llmq::testing::EngineTest {
 protected:
  // How many attempts of the job the upstream saw.
  size_t timesSeen(const std::string& job_id) {
    size_t n = 0;
    for (const auto& s : upstream_->seen()) {
      n += s.job_id == job_id ? 1 : 0;
    }
    return n;
  }
  int64_t count(JobState s) { return engine_->lifecycle->counts()[static_cast<size_t>(s)]; }
};

TEST_F(EngineBuildTest, BuiltAgainOnTheSameDatabaseItKeepsTheJobs) {
  start();
  upstream_->push(ScriptedProvider::fails("INVALID_REQUEST", 400, false));
  const uint64_t c = admin();
  const std::string failed = submit(c, "test/a");
  ASSERT_TRUE(reaches(failed, JobState::kFailed));
  const std::string succeeded = submit(c, "test/a");
  ASSERT_TRUE(reaches(succeeded, JobState::kSucceeded));
  call(c, "queue.pause");
  const std::string queued = submit(c, "test/a");
  const std::string result = job(succeeded).result_json;
  restart();
  EXPECT_EQ(JobState::kFailed, stateOf(failed));
  EXPECT_EQ(JobState::kSucceeded, stateOf(succeeded));
  EXPECT_EQ(JobState::kQueued, stateOf(queued));
  EXPECT_EQ(result, job(succeeded).result_json);
  // The new engine counted them from the store.
  EXPECT_EQ(1, count(JobState::kFailed));
  EXPECT_EQ(1, count(JobState::kSucceeded));
  EXPECT_EQ(1, count(JobState::kQueued));
  const uint64_t again = admin();
  const std::string got = call(again, "job.get", jobArg(succeeded));
  EXPECT_EQ("\"succeeded\"", field(got, "result.state")) << got;
  // New jobs get new ids, after the old ones.
  call(again, "queue.resume");
  const std::string next = submit(again, "test/a");
  EXPECT_GT(next, queued);
  EXPECT_TRUE(reaches(next, JobState::kSucceeded));
  EXPECT_TRUE(reaches(queued, JobState::kSucceeded));
}

TEST_F(EngineBuildTest, AnAcknowledgedQueuedJobRunsAfterARestartExactlyOnce) {
  config_.max_inflight = 1;
  start();
  upstream_->push(ScriptedProvider::held());
  const uint64_t c = admin();
  const std::string running = submit(c, "test/a");
  ASSERT_TRUE(runUntil([&] { return upstream_->holding() == 1; }, kWaitMs));
  // Acknowledged (the answer came after its commit), waiting behind the first.
  const std::string waiting = submit(c, "test/a");
  ASSERT_FALSE(waiting.empty());
  ASSERT_EQ(JobState::kQueued, stateOf(waiting));
  restart();
  // A fresh upstream: everything it sees happened after the restart.
  ASSERT_TRUE(reaches(waiting, JobState::kSucceeded));
  ASSERT_TRUE(reaches(running, JobState::kSucceeded));
  EXPECT_EQ(1u, timesSeen(waiting));
  EXPECT_EQ(1u, timesSeen(running));
  EXPECT_EQ(2u, upstream_->seen().size());
  EXPECT_EQ(1, job(waiting).attempts);
  EXPECT_EQ(0, count(JobState::kQueued));
  EXPECT_EQ(0, count(JobState::kRunning));
}

TEST_F(EngineBuildTest, ItsOwnShutdownDoesNotCancelCancelOnDisconnectJobs) {
  start();
  upstream_->push(ScriptedProvider::held());
  const uint64_t root = admin();
  const uint64_t alice = connect(4001, "alice");
  const std::string running = submit(alice, "test/a", ",\"cancel_on_disconnect\":true");
  ASSERT_TRUE(runUntil([&] { return upstream_->holding() == 1; }, kWaitMs));
  call(root, "queue.pause");
  const std::string queued = submit(alice, "test/a", ",\"cancel_on_disconnect\":true");
  restart();
  // Both are queued for the new engine (ipc/PROTOCOL.md, cancel_on_disconnect).
  EXPECT_EQ(JobState::kQueued, stateOf(running));
  EXPECT_EQ(JobState::kQueued, stateOf(queued));
  call(admin(), "queue.resume");
  EXPECT_TRUE(reaches(running, JobState::kSucceeded));
  EXPECT_TRUE(reaches(queued, JobState::kSucceeded));
}

TEST_F(EngineBuildTest, StopIsIdempotentAndRefusesNewWork) {
  start();
  const uint64_t c = admin();
  const std::string id = submit(c, "test/a");
  ASSERT_TRUE(reaches(id, JobState::kSucceeded));
  engine_->stop();
  engine_->stop();  // TearDown stops it once more, then closes it.
  EXPECT_TRUE(engine_->run.shutting_down);
  EXPECT_EQ(0u, engine_->runner->inflight());
}

}  // namespace
}  // namespace llmq::daemon
