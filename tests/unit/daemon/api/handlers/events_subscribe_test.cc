// events.subscribe (daemon/api/handlers/events_subscribe.cc), on a real engine
// (tests/support/engine_fixture.h): a user follows its own job and client;
// another user's job or client is -32003 and no event of it arrives; watching
// by tag or all is for administrators; a job that has ended has no
// subscription (null, with its state); bad params are -32602 with the reason.
#include <gtest/gtest.h>

#include <string>

#include "tests/support/engine_fixture.h"

namespace llmq::daemon {
namespace {

using store::JobState;

class EventsSubscribeTest : public llmq::testing::EngineTest {
 protected:
  // Whether a connection received an event line naming the job.
  bool sawEventOf(uint64_t conn, const std::string& job_id) {
    for (const std::string& l : lines(conn)) {
      if (l.find("\"method\":\"event\"") != std::string::npos && l.find(job_id) != std::string::npos) {
        return true;
      }
    }
    return false;
  }
  bool sawFinal(uint64_t conn) {
    for (const std::string& l : lines(conn)) {
      if (l.find("\"final_response\"") != std::string::npos) {
        return true;
      }
    }
    return false;
  }
};

TEST_F(EventsSubscribeTest, AUserCannotFollowAnotherUsersJobOrClient) {
  start();
  const uint64_t root = admin();
  const uint64_t alice = connect(4001, "alice");
  const uint64_t bob = connect(4002, "bob");
  call(root, "queue.pause");
  const std::string bobs = submit(bob, "test/a");
  const std::string by_job = call(alice, "events.subscribe", jobArg(bobs));
  EXPECT_EQ(-32003, errorCode(by_job)) << by_job;
  EXPECT_EQ("\"PERMISSION_DENIED\"", field(by_job, "error.data.code")) << by_job;
  EXPECT_EQ(-32003, errorCode(call(alice, "events.subscribe", "{\"client\":\"bob\"}")));
  EXPECT_EQ(-32003, errorCode(call(alice, "events.subscribe", "{\"client\":\"bob:batch\"}")));
  EXPECT_EQ(-32003, errorCode(call(alice, "events.subscribe", "{\"all\":true}")));
  EXPECT_EQ(-32003, errorCode(call(alice, "events.subscribe", "{\"tag\":\"t\"}")));
  // Bob follows his own job; alice sees nothing of it.
  EXPECT_FALSE(isError(call(bob, "events.subscribe", jobArg(bobs))));
  call(root, "queue.resume");
  ASSERT_TRUE(reaches(bobs, JobState::kSucceeded));
  ASSERT_TRUE(runUntil([&] { return sawFinal(bob); }, kWaitMs));
  EXPECT_FALSE(sawEventOf(alice, bobs));
  EXPECT_TRUE(lines(alice).empty());
}

TEST_F(EventsSubscribeTest, AUserFollowsItsOwnClients) {
  start();
  const uint64_t alice = connect(4001, "alice");
  const uint64_t bob = connect(4002, "bob");
  EXPECT_FALSE(isError(call(alice, "events.subscribe", "{\"client\":\"alice:batch\"}")));
  const std::string bobs = submit(bob, "test/a", ",\"client\":\"batch\"");  // Labelled bob:batch.
  const std::string alices = submit(alice, "test/a", ",\"client\":\"batch\"");
  ASSERT_TRUE(reaches(alices, JobState::kSucceeded));
  ASSERT_TRUE(reaches(bobs, JobState::kSucceeded));
  ASSERT_TRUE(runUntil([&] { return sawFinal(alice); }, kWaitMs));
  EXPECT_TRUE(sawEventOf(alice, alices));
  EXPECT_FALSE(sawEventOf(alice, bobs));
}

TEST_F(EventsSubscribeTest, AJobThatHasEndedHasNoSubscription) {
  start();
  const uint64_t c = connect(4001, "alice");
  const std::string id = submit(c, "test/a");
  ASSERT_TRUE(reaches(id, JobState::kSucceeded));
  const std::string a = call(c, "events.subscribe", jobArg(id));
  EXPECT_EQ("null", field(a, "result.subscription")) << a;
  EXPECT_EQ("\"succeeded\"", field(a, "result.state")) << a;
}

TEST_F(EventsSubscribeTest, BadParamsAreInvalidParamsWithTheReason) {
  start();
  const uint64_t c = connect(4001, "alice");
  const std::string none = call(c, "events.subscribe", "{}");
  EXPECT_EQ(-32602, errorCode(none)) << none;
  EXPECT_NE(std::string::npos, none.find("exactly one")) << none;
  const std::string two = call(c, "events.subscribe", "{\"client\":\"alice\",\"all\":true}");
  EXPECT_EQ(-32602, errorCode(two)) << two;
  const std::string event = call(c, "events.subscribe", "{\"client\":\"alice\",\"events\":[\"nope\"]}");
  EXPECT_EQ(-32602, errorCode(event)) << event;
  EXPECT_NE(std::string::npos, event.find("nope")) << event;
  EXPECT_EQ(-32001, errorCode(call(c, "events.subscribe", jobArg("j000000000999"))));
  EXPECT_EQ(-32001, errorCode(call(c, "events.unsubscribe", "{\"subscription\":\"s999\"}")));
}

}  // namespace
}  // namespace llmq::daemon
