// Tests for common/uv_timer on a real loop: a one-shot timer fires once, stop()
// cancels, starting again moves the deadline either way, a repeating timer fires
// until stopped, and a timer destroyed before it fires (or from inside its own
// callable) never calls back and frees its handle and callable. No test measures
// time: an order of firings is compared against a second timer, and every run
// ends when the loop has nothing left to wait for. LoopTest's TearDown checks
// that no handle is left on the loop.
#include "common/uv_timer.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "tests/support/loop_test.h"

namespace llmq {
namespace {

class UvTimerTest : public llmq::testing::LoopTest {
 protected:
  // Runs the loop until no handle is active: every pending timer has fired or been
  // stopped, and every closed handle's close callback has run.
  void runDry() { uv_run(&loop_, UV_RUN_DEFAULT); }

  // A callable that appends `name` to order_.
  std::function<void()> record(std::string name) {
    return [this, name = std::move(name)] { order_ += name; };
  }

  std::string order_;
};

TEST_F(UvTimerTest, FiresOnceAfterStart) {
  int fired = 0;
  UvTimer timer(&loop_, [&fired] { ++fired; });
  ASSERT_TRUE(timer);
  EXPECT_FALSE(timer.pending());
  timer.start(1);
  EXPECT_TRUE(timer.pending());
  runDry();
  EXPECT_EQ(1, fired);
  EXPECT_FALSE(timer.pending());
  // Started again, it fires again.
  timer.start(0);
  runDry();
  EXPECT_EQ(2, fired);
}

TEST_F(UvTimerTest, StopBeforeFiringCancels) {
  int fired = 0;
  UvTimer timer(&loop_, [&fired] { ++fired; });
  timer.start(60'000);
  timer.stop();
  EXPECT_FALSE(timer.pending());
  runDry();  // Returns at once: nothing is pending, so the minute is never waited.
  EXPECT_EQ(0, fired);
}

// The second start replaces the first deadline, earlier or later; a witness timer
// between the two deadlines shows which one held.
TEST_F(UvTimerTest, StartingAgainMovesTheDeadlineEarlier) {
  UvTimer moved(&loop_, record("moved "));
  UvTimer witness(&loop_, record("witness "));
  moved.start(60'000);
  witness.start(20);
  moved.start(0);
  runDry();
  EXPECT_EQ("moved witness ", order_);
}

TEST_F(UvTimerTest, StartingAgainMovesTheDeadlineLater) {
  UvTimer moved(&loop_, record("moved "));
  UvTimer witness(&loop_, record("witness "));
  moved.start(0);
  witness.start(1);
  moved.start(20);
  runDry();
  EXPECT_EQ("witness moved ", order_);
}

TEST_F(UvTimerTest, RepeatsUntilStopped) {
  int fired = 0;
  UvTimer timer;
  timer = UvTimer(&loop_, [&] {
    if (++fired == 3) {
      timer.stop();
    }
  });
  timer.start(0, 1);
  runDry();
  EXPECT_EQ(3, fired);
}

// The callable may re-arm its own timer.
TEST_F(UvTimerTest, CallableMayStartItsTimerAgain) {
  int fired = 0;
  UvTimer timer;
  timer = UvTimer(&loop_, [&] {
    if (++fired < 3) {
      timer.start(0);
    }
  });
  timer.start(0);
  runDry();
  EXPECT_EQ(3, fired);
}

// Destroyed with a firing pending: it never calls back, and the loop frees the
// handle and the callable (the token's count drops back) in the close callback.
TEST_F(UvTimerTest, DestroyedBeforeFiringNeverCallsBack) {
  int fired = 0;
  auto token = std::make_shared<int>(0);
  {
    UvTimer timer(&loop_, [&fired, token] { ++fired; });
    timer.start(0);
    EXPECT_EQ(2, token.use_count());
  }
  EXPECT_EQ(2, token.use_count());  // Freed in the close callback, not before.
  runDry();
  EXPECT_EQ(0, fired);
  EXPECT_EQ(1, token.use_count());
}

TEST_F(UvTimerTest, CloseEmptiesTheTimer) {
  int fired = 0;
  UvTimer timer(&loop_, [&fired] { ++fired; });
  timer.start(0);
  timer.close();
  EXPECT_FALSE(timer);
  timer.start(0);  // Does nothing.
  timer.stop();
  EXPECT_FALSE(timer.pending());
  runDry();
  EXPECT_EQ(0, fired);
}

// The owner goes from inside the callable: the callable's captures stay valid
// until it returns, and nothing fires again.
TEST_F(UvTimerTest, CallableMayDestroyItsOwner) {
  int fired = 0;
  auto token = std::make_shared<int>(0);
  auto owner = std::make_unique<std::optional<UvTimer>>();
  owner->emplace(&loop_, [&owner, &fired, token] {
    (*owner)->start(0);  // Pending when the owner goes: must not fire.
    owner.reset();
    fired += *token + 1;  // Reads a capture after the owner is gone.
  });
  (*owner)->start(0);
  runDry();
  EXPECT_EQ(1, fired);
  EXPECT_EQ(1, token.use_count());
}

// Assigning a new timer over one with a firing pending closes the old one.
TEST_F(UvTimerTest, AssigningClosesThePreviousHandle) {
  UvTimer timer(&loop_, record("old "));
  timer.start(0);
  timer = UvTimer(&loop_, record("new "));
  timer.start(0);
  runDry();
  EXPECT_EQ("new ", order_);
}

TEST_F(UvTimerTest, MovingHandsTheHandleOver) {
  UvTimer from(&loop_, record("fired "));
  from.start(0);
  UvTimer to(std::move(from));
  EXPECT_FALSE(from);  // A moved-from timer is empty.
  EXPECT_TRUE(to.pending());
  runDry();
  EXPECT_EQ("fired ", order_);
}

TEST_F(UvTimerTest, EmptyTimerDoesNothing) {
  UvTimer timer;
  EXPECT_FALSE(timer);
  timer.start(0);
  timer.stop();
  timer.unref();
  timer.close();
  EXPECT_FALSE(timer.pending());
}

// An unreferenced timer does not keep the loop running.
TEST_F(UvTimerTest, UnrefLetsTheLoopEnd) {
  int fired = 0;
  UvTimer timer(&loop_, [&fired] { ++fired; });
  timer.start(60'000);
  timer.unref();
  runDry();  // Returns at once although a firing is pending.
  EXPECT_EQ(0, fired);
  EXPECT_TRUE(timer.pending());
  timer.close();
}

}  // namespace
}  // namespace llmq
