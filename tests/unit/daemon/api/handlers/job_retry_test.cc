// job.retry (daemon/api/handlers/job_retry.cc), on a real engine
// (tests/support/engine_fixture.h): a failed job runs again with a fresh set of
// attempts (its attempt count keeps growing), as does a cancelled one; another
// user's job is -32003 and is not run; a job that has not ended is -32004.
#include <gtest/gtest.h>

#include <string>

#include "tests/support/engine_fixture.h"

namespace llmq::daemon {
namespace {

using llmq::testing::ScriptedProvider;
using store::JobState;

class JobRetryTest : public llmq::testing::EngineTest {};

TEST_F(JobRetryTest, AFailedJobRunsAgain) {
  start();
  upstream_->push(ScriptedProvider::fails("INVALID_REQUEST", 400, false));
  const uint64_t c = connect(4001, "alice");
  const std::string id = submit(c, "test/a", ",\"max_attempts\":1");
  ASSERT_TRUE(reaches(id, JobState::kFailed));
  const std::string answer = call(c, "job.retry", jobArg(id));
  EXPECT_EQ("\"queued\"", field(answer, "result.state")) << answer;
  EXPECT_EQ("null", field(answer, "result.error")) << answer;
  ASSERT_TRUE(reaches(id, JobState::kSucceeded));
  const store::JobRecord j = job(id);
  EXPECT_EQ(2, j.attempts);
  EXPECT_EQ(1, j.run_attempts);
  EXPECT_TRUE(j.error.code.empty());
  ASSERT_EQ(2u, upstream_->seen().size());
  EXPECT_EQ(id, upstream_->seen()[1].job_id);
}

TEST_F(JobRetryTest, ACancelledJobRunsAgain) {
  start();
  const uint64_t root = admin();
  const uint64_t c = connect(4001, "alice");
  call(root, "queue.pause");
  const std::string id = submit(c, "test/a");
  EXPECT_FALSE(isError(call(c, "job.cancel", jobArg(id))));
  EXPECT_FALSE(isError(call(c, "job.retry", jobArg(id))));
  call(root, "queue.resume");
  EXPECT_TRUE(reaches(id, JobState::kSucceeded));
}

TEST_F(JobRetryTest, AUserCannotRetryAnotherUsersJob) {
  start();
  upstream_->push(ScriptedProvider::fails("INVALID_REQUEST", 400, false));
  const uint64_t alice = connect(4001, "alice");
  const uint64_t bob = connect(4002, "bob");
  const std::string bobs = submit(bob, "test/a");
  ASSERT_TRUE(reaches(bobs, JobState::kFailed));
  const std::string denied = call(alice, "job.retry", jobArg(bobs));
  EXPECT_EQ(-32003, errorCode(denied)) << denied;
  EXPECT_EQ("\"PERMISSION_DENIED\"", field(denied, "error.data.code")) << denied;
  for (int i = 0; i < 20; ++i) {
    uv_run(&loop_, UV_RUN_NOWAIT);
  }
  EXPECT_EQ(JobState::kFailed, stateOf(bobs));
  EXPECT_EQ("INVALID_REQUEST", job(bobs).error.code);
  EXPECT_EQ(1u, upstream_->seen().size());
}

TEST_F(JobRetryTest, AJobThatHasNotEndedIsInvalidState) {
  start();
  upstream_->push(ScriptedProvider::held());
  const uint64_t c = connect(4001, "alice");
  const std::string running = submit(c, "test/a");
  ASSERT_TRUE(runUntil([&] { return upstream_->holding() == 1; }, kWaitMs));
  EXPECT_EQ(-32004, errorCode(call(c, "job.retry", jobArg(running))));
  upstream_->release();
  ASSERT_TRUE(reaches(running, JobState::kSucceeded));
  EXPECT_EQ(-32004, errorCode(call(c, "job.retry", jobArg(running))));
  EXPECT_EQ(1u, upstream_->seen().size());
}

}  // namespace
}  // namespace llmq::daemon
