// Scheduler, on a real engine (tests/support/engine_fixture.h): what runs
// first, how many run at once, and pausing.
#include "daemon/jobs/scheduler.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "daemon/jobs/job_runner.h"
#include "tests/support/engine_fixture.h"

namespace llmq::daemon {
namespace {

using llmq::testing::ScriptedProvider;
using store::JobState;

class SchedulerTest : public llmq::testing::EngineTest {
 protected:
  // The job ids in the order the upstream saw their first attempts.
  std::vector<std::string> startOrder() {
    std::vector<std::string> out;
    for (const auto& s : upstream_->seen()) {
      if (s.attempt == 1) {
        out.push_back(s.job_id);
      }
    }
    return out;
  }
};

TEST_F(SchedulerTest, HigherPriorityRunsFirstThenFifo) {
  config_.max_inflight = 1;
  start();
  const uint64_t c = admin();
  call(c, "queue.pause");
  const std::string low = submit(c, "test/a", ",\"priority\":-5");
  const std::string first = submit(c, "test/a");
  const std::string second = submit(c, "test/a");
  const std::string high = submit(c, "test/a", ",\"priority\":7");
  call(c, "queue.resume");
  ASSERT_TRUE(reaches(low, JobState::kSucceeded));
  EXPECT_EQ((std::vector<std::string>{high, first, second, low}), startOrder());
}

TEST_F(SchedulerTest, NeverRunsMoreThanMaxInflight) {
  config_.max_inflight = 2;
  start();
  for (int i = 0; i < 5; ++i) {
    upstream_->push(ScriptedProvider::held());
  }
  const uint64_t c = admin();
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(submit(c, "test/a"));
  }
  ASSERT_TRUE(runUntil([&] { return upstream_->holding() == 2; }, kWaitMs));
  EXPECT_EQ(2u, engine_->runner->inflight());
  EXPECT_EQ(JobState::kQueued, stateOf(ids[4]));
  // Each slot that frees goes to the next job, until all have run.
  while (upstream_->seen().size() < 5) {
    upstream_->release();
    ASSERT_TRUE(runUntil([&] { return upstream_->holding() > 0 || upstream_->seen().size() == 5; }, kWaitMs));
    EXPECT_LE(engine_->runner->inflight(), 2u);
  }
  upstream_->release();
  for (const std::string& id : ids) {
    EXPECT_TRUE(reaches(id, JobState::kSucceeded)) << id;
  }
}

TEST_F(SchedulerTest, RoundRobinAcrossUsersBeforeFifo) {
  config_.max_inflight = 1;
  start();
  const uint64_t root = admin();
  const uint64_t alice = connect(4001, "alice");
  const uint64_t bob = connect(4002, "bob");
  call(root, "queue.pause");
  const std::string a1 = submit(alice, "test/a");
  const std::string a2 = submit(alice, "test/a");
  const std::string a3 = submit(alice, "test/a");
  const std::string b1 = submit(bob, "test/a");
  call(root, "queue.resume");
  ASSERT_TRUE(reaches(a3, JobState::kSucceeded));
  ASSERT_TRUE(reaches(b1, JobState::kSucceeded));
  const std::vector<std::string> order = startOrder();
  ASSERT_EQ(4u, order.size());
  // Bob's one job does not wait behind all of Alice's.
  EXPECT_LT(std::find(order.begin(), order.end(), b1) - order.begin(), 2);
  EXPECT_EQ(a1, order[order[0] == b1 ? 1 : 0]);
}

TEST_F(SchedulerTest, PauseHoldsNewWorkAndPersists) {
  start();
  const uint64_t c = admin();
  call(c, "queue.pause");
  const std::string id = submit(c, "test/a");
  // Turns go by; nothing starts while the queue is paused.
  for (int i = 0; i < 50; ++i) {
    uv_run(&loop_, UV_RUN_NOWAIT);
  }
  EXPECT_EQ(JobState::kQueued, stateOf(id));
  EXPECT_TRUE(upstream_->seen().empty());
  EXPECT_TRUE(engine_->scheduler->pausedAll());
  // The next llmqd finds the queue paused too.
  restart();
  EXPECT_TRUE(engine_->scheduler->pausedAll());
  EXPECT_EQ(JobState::kQueued, stateOf(id));
  call(admin(), "queue.resume");
  EXPECT_TRUE(reaches(id, JobState::kSucceeded));
}

TEST_F(SchedulerTest, AnOrdinaryUserPausesOnlyItsOwnClients) {
  start();
  const uint64_t root = admin();
  const uint64_t alice = connect(4001, "alice");
  const uint64_t bob = connect(4002, "bob");
  call(alice, "queue.pause", "{\"client\":\"alice:batch\"}");
  const std::string held = submit(alice, "test/a", ",\"client\":\"alice:batch\"");
  const std::string free = submit(bob, "test/a");
  EXPECT_TRUE(reaches(free, JobState::kSucceeded));
  EXPECT_EQ(JobState::kQueued, stateOf(held));
  // Alice may not pause the whole queue; only an administrator may.
  EXPECT_TRUE(isError(call(alice, "queue.pause")));
  EXPECT_FALSE(isError(call(root, "queue.resume", "{\"client\":\"alice:batch\"}")));
  EXPECT_TRUE(reaches(held, JobState::kSucceeded));
}

}  // namespace
}  // namespace llmq::daemon
