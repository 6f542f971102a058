// daemon.status (daemon/api/handlers/daemon_status.cc), on a real engine
// (tests/support/engine_fixture.h): it answers with the count of jobs per
// state, in_flight and max_inflight; a user sees only its own paused clients;
// unknown params are -32602.
#include <gtest/gtest.h>

#include <string>

#include "tests/support/engine_fixture.h"

namespace llmq::daemon {
namespace {

using llmq::testing::ScriptedProvider;
using store::JobState;

class DaemonStatusTest : public llmq::testing::EngineTest {};

TEST_F(DaemonStatusTest, AnswersWithTheCountsPerState) {
  config_.max_inflight = 3;
  start();
  upstream_->push(ScriptedProvider::held());
  upstream_->push(ScriptedProvider::fails("INVALID_REQUEST", 400, false));
  const uint64_t root = admin();
  const std::string running = submit(root, "test/a");
  ASSERT_TRUE(runUntil([&] { return upstream_->holding() == 1; }, kWaitMs));
  const std::string failed = submit(root, "test/a");
  ASSERT_TRUE(reaches(failed, JobState::kFailed));
  call(root, "queue.pause");
  submit(root, "test/a");
  submit(root, "test/a");
  const std::string s = call(root, "daemon.status");
  EXPECT_EQ(2, number(s, "result.queue.queued")) << s;
  EXPECT_EQ(1, number(s, "result.queue.running")) << s;
  EXPECT_EQ(1, number(s, "result.queue.failed")) << s;
  EXPECT_EQ(0, number(s, "result.queue.succeeded")) << s;
  EXPECT_EQ(1, number(s, "result.in_flight")) << s;
  EXPECT_EQ(3, number(s, "result.max_inflight")) << s;
  EXPECT_EQ("true", field(s, "result.queue_state.paused")) << s;
  EXPECT_EQ("false", field(s, "result.shutting_down")) << s;
  upstream_->release();
  ASSERT_TRUE(reaches(running, JobState::kSucceeded));
  EXPECT_EQ(1, number(call(root, "daemon.status"), "result.queue.succeeded"));
}

TEST_F(DaemonStatusTest, AUserSeesOnlyItsOwnPausedClients) {
  start();
  const uint64_t alice = connect(4001, "alice");
  const uint64_t bob = connect(4002, "bob");
  EXPECT_FALSE(isError(call(alice, "queue.pause", "{\"client\":\"alice:batch\"}")));
  EXPECT_FALSE(isError(call(bob, "queue.pause", "{\"client\":\"bob:secret\"}")));
  const std::string s = call(alice, "daemon.status");
  EXPECT_NE(std::string::npos, field(s, "result.queue_state.paused_clients").find("alice:batch")) << s;
  EXPECT_EQ(std::string::npos, s.find("bob:secret")) << s;
  const std::string all = call(admin(), "daemon.status");
  EXPECT_NE(std::string::npos, all.find("bob:secret")) << all;
  EXPECT_EQ(-32602, errorCode(call(alice, "daemon.status", "{\"verbose\":true}")));
}

}  // namespace
}  // namespace llmq::daemon
