// queue.pause / queue.resume (daemon/api/handlers/queue_pause.cc), on a real
// engine (tests/support/engine_fixture.h): a user pauses and resumes only its
// own clients (another user's, or the whole queue, is -32003 and changes
// nothing), and its answer lists only its own paused clients.
#include <gtest/gtest.h>

#include <string>

#include "daemon/jobs/scheduler.h"
#include "tests/support/engine_fixture.h"

namespace llmq::daemon {
namespace {

using store::JobState;

class QueuePauseTest : public llmq::testing::EngineTest {};

TEST_F(QueuePauseTest, AUserCannotPauseOrResumeAnotherUsersClient) {
  start();
  const uint64_t root = admin();
  const uint64_t alice = connect(4001, "alice");
  const uint64_t bob = connect(4002, "bob");
  EXPECT_EQ(-32003, errorCode(call(alice, "queue.pause", "{\"client\":\"bob\"}")));
  EXPECT_EQ(-32003, errorCode(call(alice, "queue.pause", "{\"client\":\"bob:batch\"}")));
  EXPECT_EQ(-32003, errorCode(call(alice, "queue.pause")));
  EXPECT_TRUE(engine_->scheduler->pausedClients().empty());
  EXPECT_FALSE(engine_->scheduler->pausedAll());
  // Bob pauses his own client; alice cannot resume it.
  const std::string paused = call(bob, "queue.pause", "{\"client\":\"bob:batch\"}");
  EXPECT_FALSE(isError(paused)) << paused;
  EXPECT_EQ(-32003, errorCode(call(alice, "queue.resume", "{\"client\":\"bob:batch\"}")));
  EXPECT_EQ(-32003, errorCode(call(alice, "queue.resume")));
  const std::string held = submit(bob, "test/a", ",\"client\":\"batch\"");
  // Alice's own work goes on, and her answer does not show bob's client.
  const std::string mine = call(alice, "queue.pause", "{\"client\":\"alice:x\"}");
  EXPECT_EQ(std::string::npos, mine.find("bob:batch")) << mine;
  const std::string free = submit(alice, "test/a");
  EXPECT_TRUE(reaches(free, JobState::kSucceeded));
  EXPECT_EQ(JobState::kQueued, stateOf(held));
  EXPECT_FALSE(isError(call(root, "queue.resume", "{\"client\":\"bob:batch\"}")));
  EXPECT_TRUE(reaches(held, JobState::kSucceeded));
}

}  // namespace
}  // namespace llmq::daemon
