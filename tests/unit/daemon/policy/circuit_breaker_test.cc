// Tests for daemon/policy/circuit_breaker: closed -> open after N failures in the window,
// half-open after the cooldown with one probe, closed again on success.
#include "daemon/policy/circuit_breaker.h"

#include <gtest/gtest.h>

#include "common/time.h"

namespace llmq::daemon {
namespace {

TEST(CircuitBreakerTest, OpensHalfOpensAndCloses) {
  CircuitBreakers cb({.failures = 3, .window_ms = 1000, .cooldown_ms = 500});
  const std::string k = "openrouter/x";
  int64_t at = 0;
  EXPECT_TRUE(cb.allow(k, 0, &at));
  cb.onFailure(k, 0);
  cb.onFailure(k, 100);
  EXPECT_FALSE(cb.blocked(k, 200, &at));
  cb.onFailure(k, 200);
  EXPECT_TRUE(cb.blocked(k, 300, &at));
  EXPECT_EQ(700, at);
  EXPECT_FALSE(cb.allow(k, 300, &at));
  EXPECT_NE(std::string::npos, cb.statusJson(300, 300).find("\"state\":\"open\""));
  // Half-open: one probe at a time.
  EXPECT_FALSE(cb.blocked(k, 700, &at));
  EXPECT_TRUE(cb.allow(k, 700, &at));
  EXPECT_TRUE(cb.blocked(k, 710, &at));
  EXPECT_FALSE(cb.allow(k, 710, &at));
  // The probe fails: open again from now.
  cb.onFailure(k, 720);
  EXPECT_TRUE(cb.blocked(k, 1000, &at));
  EXPECT_EQ(1220, at);
  // The next probe succeeds: closed and forgotten.
  EXPECT_TRUE(cb.allow(k, 1220, &at));
  cb.onSuccess(k);
  EXPECT_FALSE(cb.blocked(k, 1221, &at));
  EXPECT_EQ("[]", cb.statusJson(1221, 1221));
}

TEST(CircuitBreakerTest, FailuresOutsideTheWindowDoNotCount) {
  CircuitBreakers cb({.failures = 2, .window_ms = 100, .cooldown_ms = 500});
  const std::string k = "mock/m";
  int64_t at = 0;
  cb.onFailure(k, 0);
  cb.onFailure(k, 500);
  EXPECT_FALSE(cb.blocked(k, 501, &at));
  cb.onFailure(k, 550);
  EXPECT_TRUE(cb.blocked(k, 551, &at));
}

TEST(CircuitBreakerTest, AnAbandonedProbeFreesTheSlot) {
  CircuitBreakers cb({.failures = 1, .window_ms = 100, .cooldown_ms = 10});
  const std::string k = "mock/m";
  int64_t at = 0;
  cb.onFailure(k, 0);
  EXPECT_TRUE(cb.allow(k, 20, &at));
  EXPECT_FALSE(cb.allow(k, 21, &at));
  cb.onAbandoned(k);
  EXPECT_TRUE(cb.allow(k, 22, &at));
}

TEST(CircuitBreakerTest, ResetClosesByTargetByModelOrAll) {
  CircuitBreakers cb({.failures = 1, .window_ms = 1000, .cooldown_ms = 60000});
  int64_t at = 0;
  cb.onFailure("openrouter/x", 0);
  cb.onFailure("local/x", 0);
  cb.onFailure("openrouter/y", 0);
  ASSERT_TRUE(cb.blocked("openrouter/x", 10, &at));
  auto by_target = cb.reset("openrouter/y");
  ASSERT_TRUE(by_target.has_value());
  EXPECT_EQ((std::vector<std::string>{"openrouter/y"}), *by_target);
  EXPECT_FALSE(cb.blocked("openrouter/y", 10, &at));
  auto by_model = cb.reset("x");
  ASSERT_TRUE(by_model.has_value());
  EXPECT_EQ((std::vector<std::string>{"local/x", "openrouter/x"}), *by_model);
  EXPECT_TRUE(cb.allow("openrouter/x", 10, &at)) << "closed at once, not after the cooldown";
  EXPECT_FALSE(cb.reset("nothing/here").has_value());
  cb.onFailure("openrouter/z", 20);
  auto all = cb.reset("");
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ((std::vector<std::string>{"openrouter/z"}), *all);
  EXPECT_EQ("[]", cb.statusJson(30, 30));
}

// The daemon's two clocks, which a test sets: the wall clock, which can step, and
// the monotonic clock the breakers keep their time on (daemon/jobs/job_runner.cc
// passes Clock::monoMs()).
class SteppedClock final : public Clock {
 public:
  int64_t nowMs() const override { return wall; }
  int64_t monoMs() const override { return mono; }
  void advance(int64_t ms) {
    wall += ms;
    mono += ms;
  }
  int64_t wall = 1'800'000'000'000;
  int64_t mono = 5'000;
};

// An open breaker keeps its cooldown's exact length whatever the wall clock does
// between the failure that opened it and the next look: set back an hour, forward
// a day, or by just under or just over the 250 ms a WallStepWatch lets pass. The
// "until" shown is the new wall clock's time of the same moment.
TEST(CircuitBreakerTest, AWallClockStepNeitherShortensNorStretchesTheCooldown) {
  for (int64_t step : {-3'600'000, 86'400'000, -251, -249, 249, 251}) {
    SCOPED_TRACE(step);
    SteppedClock clock;
    CircuitBreakers cb({.failures = 1, .window_ms = 1000, .cooldown_ms = 500});
    const std::string k = "openrouter/x";
    int64_t at = 0;
    const int64_t opened = clock.monoMs();
    cb.onFailure(k, opened);
    clock.wall += step;
    clock.advance(100);
    EXPECT_TRUE(cb.blocked(k, clock.monoMs(), &at));
    EXPECT_EQ(opened + 500, at);
    EXPECT_FALSE(cb.allow(k, clock.monoMs(), &at));
    EXPECT_EQ(opened + 500, at);
    const std::string s = cb.statusJson(clock.monoMs(), clock.nowMs());
    EXPECT_NE(std::string::npos, s.find("\"until\":\"" + rfc3339(clock.nowMs() + 400) + "\"")) << s;
    clock.advance(399);
    EXPECT_TRUE(cb.blocked(k, clock.monoMs(), &at));
    EXPECT_EQ(1u, cb.states(clock.monoMs()).size());
    EXPECT_EQ("open", cb.states(clock.monoMs())[0].second);
    clock.advance(1);  // Exactly the cooldown: half-open.
    EXPECT_FALSE(cb.blocked(k, clock.monoMs(), &at));
    EXPECT_EQ("half_open", cb.states(clock.monoMs())[0].second);
    EXPECT_TRUE(cb.allow(k, clock.monoMs(), &at));
  }
}

// Targets come from outside (any user names a model): failures on a new target
// each time keep at most kMaxBreakers breakers, and an open one is kept.
TEST(CircuitBreakerTest, BreakersStayBoundedWhateverTargetsFail) {
  CircuitBreakers cb({.failures = 3, .window_ms = 1000, .cooldown_ms = 60000});
  const std::string open = "p/open";
  for (int64_t t = 0; t < 3; ++t) {
    cb.onFailure(open, t);
  }
  size_t most = 0;
  for (int i = 0; i < 20000; ++i) {
    cb.onFailure("p/m" + std::to_string(i), 10 + i);
    most = std::max(most, cb.size());
  }
  EXPECT_LE(most, CircuitBreakers::kMaxBreakers);
  int64_t at = 0;
  EXPECT_TRUE(cb.blocked(open, 20000, &at)) << "an open breaker was forgotten";
}

}  // namespace
}  // namespace llmq::daemon
