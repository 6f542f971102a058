// job.cancel (daemon/api/handlers/job_cancel.cc), on a real engine
// (tests/support/engine_fixture.h): another user's job is -32003 and stays as
// it was (queued or running, its transfer untouched, no event); the owner and
// an administrator cancel; a finished job is -32004.
#include <gtest/gtest.h>

#include <string>

#include "daemon/jobs/job_runner.h"
#include "tests/support/engine_fixture.h"

namespace llmq::daemon {
namespace {

using llmq::testing::ScriptedProvider;
using store::JobState;

class JobCancelTest : public llmq::testing::EngineTest {};

TEST_F(JobCancelTest, AUserCannotCancelAnotherUsersQueuedJob) {
  start();
  const uint64_t root = admin();
  const uint64_t alice = connect(4001, "alice");
  const uint64_t bob = connect(4002, "bob");
  call(root, "queue.pause");
  const std::string bobs = submit(bob, "test/a");
  // Bob watches his job: a cancel by alice would show as an event.
  call(bob, "events.subscribe", jobArg(bobs));
  const int64_t seq = job(bobs).event_seq;
  const std::string denied = call(alice, "job.cancel", jobArg(bobs));
  EXPECT_EQ(-32003, errorCode(denied)) << denied;
  EXPECT_EQ("\"PERMISSION_DENIED\"", field(denied, "error.data.code")) << denied;
  EXPECT_EQ(JobState::kQueued, stateOf(bobs));
  EXPECT_EQ(seq, job(bobs).event_seq);
  EXPECT_TRUE(lines(bob).empty());
  // The job runs as if nothing happened.
  call(root, "queue.resume");
  EXPECT_TRUE(reaches(bobs, JobState::kSucceeded));
}

TEST_F(JobCancelTest, AUserCannotCancelAnotherUsersRunningJob) {
  start();
  upstream_->push(ScriptedProvider::held());
  const uint64_t alice = connect(4001, "alice");
  const uint64_t bob = connect(4002, "bob");
  const std::string bobs = submit(bob, "test/a");
  ASSERT_TRUE(runUntil([&] { return upstream_->holding() == 1; }, kWaitMs));
  EXPECT_EQ(-32003, errorCode(call(alice, "job.cancel", jobArg(bobs))));
  EXPECT_EQ(JobState::kRunning, stateOf(bobs));
  EXPECT_EQ(0u, upstream_->cancelled());
  EXPECT_EQ(1u, engine_->runner->inflight());
  upstream_->release();
  EXPECT_TRUE(reaches(bobs, JobState::kSucceeded));
}

TEST_F(JobCancelTest, TheOwnerAndAnAdministratorCancel) {
  start();
  const uint64_t root = admin();
  const uint64_t bob = connect(4002, "bob");
  call(root, "queue.pause");
  const std::string first = submit(bob, "test/a");
  const std::string second = submit(bob, "test/a");
  const std::string own = call(bob, "job.cancel", jobArg(first));
  EXPECT_EQ("\"cancelled\"", field(own, "result.state")) << own;
  EXPECT_EQ("\"cancelled\"", field(call(root, "job.cancel", jobArg(second)), "result.state"));
  EXPECT_EQ(JobState::kCancelled, stateOf(first));
  EXPECT_EQ(JobState::kCancelled, stateOf(second));
  // A finished job cannot be cancelled.
  const std::string again = call(bob, "job.cancel", jobArg(first));
  EXPECT_EQ(-32004, errorCode(again)) << again;
  EXPECT_EQ(-32001, errorCode(call(bob, "job.cancel", jobArg("j000000000999"))));
  EXPECT_EQ(-32602, errorCode(call(bob, "job.cancel", "{}")));
}

}  // namespace
}  // namespace llmq::daemon
