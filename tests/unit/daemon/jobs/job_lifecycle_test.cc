// JobLifecycle, on a real engine (tests/support/engine_fixture.h) with a
// scripted upstream: the per-state counts (daemon.status's queue) follow every
// state change and agree with the store (submit, running, succeeded, cancel,
// failure, retry, retry_wait, expiry); `wait: true` answers only when the job
// ends, with the job object (succeeded, cancelled or failed); [ipc] max_waits_per_connection bounds the waits of
// one connection
// (-32005, nothing stored); cancel_on_disconnect cancels a job, queued or
// running, when its connection closes, and only the jobs that asked for it.
#include "daemon/jobs/job_lifecycle.h"

#include <gtest/gtest.h>

#include <string>

#include "daemon/jobs/job_runner.h"
#include "store/store.h"
#include "tests/support/engine_fixture.h"

namespace llmq::daemon {
namespace {

using llmq::testing::ScriptedProvider;
using store::JobState;

constexpr char kChat[] = "{\"model\":\"test/a\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

class JobLifecycleTest : public llmq::testing::EngineTest {
 protected:
  int64_t count(JobState s) { return engine_->lifecycle->counts()[static_cast<size_t>(s)]; }
  // The counters agree with a count of the store's rows.
  ::testing::AssertionResult countsMatchStore() {
    auto stored = engine_->store->countByState();
    if (!stored) {
      return ::testing::AssertionFailure() << stored.error().message;
    }
    for (size_t i = 0; i < store::kJobStateCount; ++i) {
      if ((*stored)[i] != engine_->lifecycle->counts()[i]) {
        return ::testing::AssertionFailure() << ipc::jobStateName(static_cast<int>(i)) << ": counted "
                                             << engine_->lifecycle->counts()[i] << ", stored " << (*stored)[i];
      }
    }
    return ::testing::AssertionSuccess();
  }
  // Sends job.submit with `wait: true` (and `extra` params) under JSON-RPC id
  // `rpc_id`, without waiting for the answer.
  void submitWaiting(uint64_t conn, int rpc_id, const std::string& extra = "") {
    send(conn, "{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(rpc_id) +
                   ",\"method\":\"job.submit\",\"params\":{\"request\":" + kChat + ",\"wait\":true" + extra + "}}");
  }
  // The answer to JSON-RPC id `rpc_id` among what `conn` received, or "".
  std::string answerTo(uint64_t conn, int rpc_id) {
    const std::string tag = "\"id\":" + std::to_string(rpc_id) + ",";
    for (const std::string& l : lines(conn)) {
      if (l.find(tag) != std::string::npos) {
        return l;
      }
    }
    return "";
  }
  // The job id of the `n`th attempt the upstream saw (1-based).
  std::string nthStarted(size_t n) {
    EXPECT_TRUE(runUntil([&] { return upstream_->seen().size() >= n; }, kWaitMs));
    return upstream_->seen().size() >= n ? upstream_->seen()[n - 1].job_id : "";
  }
};

TEST_F(JobLifecycleTest, CountsFollowSubmitRunningSucceeded) {
  start();
  upstream_->push(ScriptedProvider::held());
  const uint64_t c = admin();
  call(c, "queue.pause");
  const std::string id = submit(c, "test/a");
  EXPECT_EQ(1, count(JobState::kQueued));
  EXPECT_TRUE(countsMatchStore());
  call(c, "queue.resume");
  ASSERT_TRUE(runUntil([&] { return upstream_->holding() == 1; }, kWaitMs));
  EXPECT_EQ(0, count(JobState::kQueued));
  EXPECT_EQ(1, count(JobState::kRunning));
  EXPECT_TRUE(countsMatchStore());
  upstream_->release();
  ASSERT_TRUE(reaches(id, JobState::kSucceeded));
  ASSERT_TRUE(runUntil([&] { return count(JobState::kSucceeded) == 1; }, kWaitMs));
  EXPECT_EQ(0, count(JobState::kRunning));
  EXPECT_TRUE(countsMatchStore());
  // daemon.status shows the same counts.
  const std::string status = call(c, "daemon.status");
  EXPECT_EQ(1, number(status, "result.queue.succeeded")) << status;
  EXPECT_EQ(0, number(status, "result.queue.running")) << status;
}

TEST_F(JobLifecycleTest, CountsFollowCancelOfAQueuedAndOfARunningJob) {
  start();
  upstream_->push(ScriptedProvider::held());
  const uint64_t c = admin();
  const std::string running = submit(c, "test/a");
  ASSERT_TRUE(runUntil([&] { return upstream_->holding() == 1; }, kWaitMs));
  call(c, "queue.pause");
  const std::string queued = submit(c, "test/a");
  EXPECT_EQ(1, count(JobState::kQueued));
  EXPECT_EQ(1, count(JobState::kRunning));
  EXPECT_FALSE(isError(call(c, "job.cancel", "{\"job_id\":\"" + queued + "\"}")));
  EXPECT_EQ(0, count(JobState::kQueued));
  EXPECT_EQ(1, count(JobState::kCancelled));
  EXPECT_TRUE(countsMatchStore());
  EXPECT_FALSE(isError(call(c, "job.cancel", "{\"job_id\":\"" + running + "\"}")));
  EXPECT_EQ(0, count(JobState::kRunning));
  EXPECT_EQ(2, count(JobState::kCancelled));
  EXPECT_TRUE(countsMatchStore());
  // Cancelling a finished job changes nothing (-32004).
  EXPECT_EQ(-32004, errorCode(call(c, "job.cancel", "{\"job_id\":\"" + running + "\"}")));
  EXPECT_EQ(2, count(JobState::kCancelled));
  EXPECT_TRUE(countsMatchStore());
}

TEST_F(JobLifecycleTest, CountsFollowAFailureAndItsRetry) {
  start();
  upstream_->push(ScriptedProvider::fails("INVALID_REQUEST", 400, false));
  const uint64_t c = admin();
  const std::string id = submit(c, "test/a");
  ASSERT_TRUE(reaches(id, JobState::kFailed));
  ASSERT_TRUE(runUntil([&] { return count(JobState::kFailed) == 1; }, kWaitMs));
  EXPECT_EQ(0, count(JobState::kRunning));
  EXPECT_EQ(0, count(JobState::kQueued));
  EXPECT_TRUE(countsMatchStore());
  EXPECT_FALSE(isError(call(c, "job.retry", "{\"job_id\":\"" + id + "\"}")));
  ASSERT_TRUE(reaches(id, JobState::kSucceeded));
  ASSERT_TRUE(runUntil([&] { return count(JobState::kSucceeded) == 1; }, kWaitMs));
  EXPECT_EQ(0, count(JobState::kFailed));
  EXPECT_TRUE(countsMatchStore());
}

TEST_F(JobLifecycleTest, CountsFollowRetryWaitAndItsCancel) {
  // A backoff long enough that the job is still waiting when it is cancelled.
  config_.retry_base_ms = 600000;
  config_.retry_cap_ms = 600000;
  start();
  upstream_->push(ScriptedProvider::fails("UPSTREAM_ERROR", 503, true));
  const uint64_t c = admin();
  const std::string id = submit(c, "test/a");
  ASSERT_TRUE(reaches(id, JobState::kRetryWait));
  ASSERT_TRUE(runUntil([&] { return count(JobState::kRetryWait) == 1; }, kWaitMs));
  EXPECT_EQ(0, count(JobState::kRunning));
  EXPECT_TRUE(countsMatchStore());
  EXPECT_FALSE(isError(call(c, "job.cancel", jobArg(id))));
  EXPECT_EQ(JobState::kCancelled, stateOf(id));
  EXPECT_EQ(0, count(JobState::kRetryWait));
  EXPECT_EQ(1, count(JobState::kCancelled));
  EXPECT_TRUE(countsMatchStore());
}

TEST_F(JobLifecycleTest, CountsFollowADeadlineThatPasses) {
  start();
  const uint64_t c = admin();
  call(c, "queue.pause");
  const std::string id = submit(c, "test/a", ",\"deadline_s\":0.05");
  ASSERT_TRUE(reaches(id, JobState::kExpired));
  ASSERT_TRUE(runUntil([&] { return count(JobState::kExpired) == 1; }, kWaitMs));
  EXPECT_EQ(0, count(JobState::kQueued));
  EXPECT_TRUE(countsMatchStore());
  EXPECT_TRUE(upstream_->seen().empty());
}

TEST_F(JobLifecycleTest, WaitAnswersOnlyWhenTheJobEndsWithTheJobObject) {
  start();
  upstream_->push(ScriptedProvider::held());
  const uint64_t c = admin();
  submitWaiting(c, 9001);
  const std::string id = nthStarted(1);
  ASSERT_TRUE(reaches(id, JobState::kRunning));
  ASSERT_TRUE(runUntil([&] { return upstream_->holding() == 1; }, kWaitMs));
  // Stored, committed and running: still no answer.
  for (int i = 0; i < 50; ++i) {
    uv_run(&loop_, UV_RUN_NOWAIT);
  }
  EXPECT_EQ("", answerTo(c, 9001));
  upstream_->release();
  ASSERT_TRUE(runUntil([&] { return !answerTo(c, 9001).empty(); }, kWaitMs));
  const std::string answer = answerTo(c, 9001);
  EXPECT_FALSE(isError(answer)) << answer;
  EXPECT_EQ("\"" + id + "\"", field(answer, "result.job_id")) << answer;
  EXPECT_EQ("\"succeeded\"", field(answer, "result.state")) << answer;
  EXPECT_NE(std::string::npos, field(answer, "result.result").find("Hello there")) << answer;
  EXPECT_EQ(JobState::kSucceeded, stateOf(id));
}

TEST_F(JobLifecycleTest, WaitAnswersAJobCancelledElsewhere) {
  start();
  upstream_->push(ScriptedProvider::held());
  const uint64_t waiting = connect(4001, "alice");
  const uint64_t root = admin();
  submitWaiting(waiting, 9002);
  const std::string id = nthStarted(1);
  EXPECT_FALSE(isError(call(root, "job.cancel", "{\"job_id\":\"" + id + "\"}")));
  ASSERT_TRUE(runUntil([&] { return !answerTo(waiting, 9002).empty(); }, kWaitMs));
  const std::string answer = answerTo(waiting, 9002);
  EXPECT_EQ("\"cancelled\"", field(answer, "result.state")) << answer;
  EXPECT_EQ("\"" + id + "\"", field(answer, "result.job_id")) << answer;
}

TEST_F(JobLifecycleTest, WaitAnswersAFailedJobWithItsError) {
  start();
  upstream_->push(ScriptedProvider::fails("INVALID_REQUEST", 400, false));
  const uint64_t c = connect(4001, "alice");
  submitWaiting(c, 9003);
  ASSERT_TRUE(runUntil([&] { return !answerTo(c, 9003).empty(); }, kWaitMs));
  const std::string answer = answerTo(c, 9003);
  EXPECT_FALSE(isError(answer)) << answer;
  EXPECT_EQ("\"failed\"", field(answer, "result.state")) << answer;
  EXPECT_EQ("\"INVALID_REQUEST\"", field(answer, "result.error.code")) << answer;
}

TEST_F(JobLifecycleTest, MaxWaitsPerConnectionIsEnforced) {
  config_.max_waits_per_connection = 2;
  start();
  upstream_->push(ScriptedProvider::held());
  upstream_->push(ScriptedProvider::held());
  const uint64_t c = connect(4001, "alice");
  submitWaiting(c, 1001);
  submitWaiting(c, 1002);
  ASSERT_TRUE(runUntil([&] { return upstream_->holding() == 2; }, kWaitMs));
  // A third wait on the same connection is refused, and stores no job.
  const std::string refused = call(c, "job.submit", std::string("{\"request\":") + kChat + ",\"wait\":true}");
  EXPECT_EQ(-32005, errorCode(refused)) << refused;
  EXPECT_NE(std::string::npos, refused.find("max_waits_per_connection")) << refused;
  EXPECT_TRUE(countsMatchStore());
  EXPECT_EQ(2, count(JobState::kRunning));
  EXPECT_EQ(0, count(JobState::kQueued));
  // Without wait the same connection still submits; another connection may wait.
  EXPECT_FALSE(isError(call(c, "job.submit", std::string("{\"request\":") + kChat + "}")));
  const uint64_t other = connect(4001, "alice");
  submitWaiting(other, 1003);
  // The ended jobs free their waits: the connection may wait again.
  upstream_->release();
  ASSERT_TRUE(runUntil([&] { return !answerTo(c, 1001).empty() && !answerTo(c, 1002).empty(); }, kWaitMs));
  ASSERT_TRUE(runUntil([&] { return !answerTo(other, 1003).empty(); }, kWaitMs));
  submitWaiting(c, 1004);
  ASSERT_TRUE(runUntil([&] { return !answerTo(c, 1004).empty(); }, kWaitMs));
  EXPECT_EQ("\"succeeded\"", field(answerTo(c, 1004), "result.state")) << answerTo(c, 1004);
}

TEST_F(JobLifecycleTest, CancelOnDisconnectCancelsTheJobsOfAClosedConnection) {
  start();
  upstream_->push(ScriptedProvider::held());
  const uint64_t root = admin();
  const uint64_t c = connect(4001, "alice");
  const std::string running = submit(c, "test/a", ",\"cancel_on_disconnect\":true");
  ASSERT_TRUE(runUntil([&] { return upstream_->holding() == 1; }, kWaitMs));
  call(root, "queue.pause");
  const std::string queued = submit(c, "test/a", ",\"cancel_on_disconnect\":true");
  const std::string detached = submit(c, "test/a");
  ASSERT_EQ(JobState::kRunning, stateOf(running));
  disconnect(c);
  ASSERT_TRUE(reaches(running, JobState::kCancelled));
  ASSERT_TRUE(reaches(queued, JobState::kCancelled));
  EXPECT_EQ("the client disconnected", job(running).error.message);
  EXPECT_EQ(1u, upstream_->cancelled());
  EXPECT_EQ(0u, engine_->runner->inflight());
  // A job that did not ask for it goes on.
  EXPECT_EQ(JobState::kQueued, stateOf(detached));
  EXPECT_TRUE(countsMatchStore());
  call(root, "queue.resume");
  EXPECT_TRUE(reaches(detached, JobState::kSucceeded));
}

TEST_F(JobLifecycleTest, CancelOnDisconnectLeavesAFinishedJobAlone) {
  start();
  const uint64_t c = connect(4001, "alice");
  const std::string id = submit(c, "test/a", ",\"cancel_on_disconnect\":true");
  ASSERT_TRUE(reaches(id, JobState::kSucceeded));
  disconnect(c);
  for (int i = 0; i < 20; ++i) {
    uv_run(&loop_, UV_RUN_NOWAIT);
  }
  EXPECT_EQ(JobState::kSucceeded, stateOf(id));
  EXPECT_TRUE(countsMatchStore());
}

}  // namespace
}  // namespace llmq::daemon
