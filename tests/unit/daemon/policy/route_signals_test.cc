// Tests for daemon/policy/route_signals: jobs routed in the last minute, the
// success rate and median latency of a model's recent attempts (its last
// kOutcomes within kWindowMs), round-robin turns per route, and the bound on
// the models followed.
#include "daemon/policy/route_signals.h"

#include <gtest/gtest.h>

#include <string>

namespace llmq::daemon {
namespace {

// Both clocks where the test puts them.
class ManualClock final : public Clock {
 public:
  int64_t nowMs() const override { return 1'800'000'000'000 + mono; }
  int64_t monoMs() const override { return mono; }
  int64_t mono = 1'000'000;
};

TEST(RouteSignalsTest, RoutedJobsCountForAMinute) {
  ManualClock clock;
  RouteSignals s(clock);
  s.routed("a");
  s.routed("a");
  clock.mono += 30'000;
  s.routed("a");
  s.routed("b");
  EXPECT_EQ(3, s.figures("a").routed_last_minute);
  EXPECT_EQ(1, s.figures("b").routed_last_minute);
  EXPECT_EQ(0, s.figures("c").routed_last_minute);
  clock.mono += 31'000;  // The first two are 61 s old.
  EXPECT_EQ(1, s.figures("a").routed_last_minute);
  s.routed("a");
  EXPECT_EQ(2, s.figures("a").routed_last_minute);
  clock.mono += 3'600'000;  // An hour without a job.
  EXPECT_EQ(0, s.figures("a").routed_last_minute);
  s.routed("a");
  EXPECT_EQ(1, s.figures("a").routed_last_minute) << "the ring restarts cleanly after a long gap";
}

TEST(RouteSignalsTest, RecentAttemptsGiveTheSuccessRateAndMedianLatency) {
  ManualClock clock;
  RouteSignals s(clock);
  EXPECT_EQ(0, s.figures("a").outcomes);
  EXPECT_FALSE(s.figures("a").success_rate.has_value());
  s.attemptEnded("a", true, 100);
  s.attemptEnded("a", false, 900);
  s.attemptEnded("a", true, 300);
  s.attemptEnded("a", true, -5);  // A clock oddity counts as 0.
  RouteSignals::Figures f = s.figures("a");
  EXPECT_EQ(4, f.outcomes);
  EXPECT_DOUBLE_EQ(0.75, *f.success_rate);
  EXPECT_EQ(100, *f.median_latency_ms) << "the lower middle of 0, 100, 300, 900";
  clock.mono += RouteSignals::kWindowMs + 1;
  EXPECT_EQ(0, s.figures("a").outcomes) << "older than the window";
  // Only the last kOutcomes attempts count.
  for (size_t i = 0; i < RouteSignals::kOutcomes; ++i) {
    s.attemptEnded("b", false, 10);
  }
  for (size_t i = 0; i < RouteSignals::kOutcomes; ++i) {
    s.attemptEnded("b", true, 20);
  }
  f = s.figures("b");
  EXPECT_EQ(static_cast<int64_t>(RouteSignals::kOutcomes), f.outcomes);
  EXPECT_DOUBLE_EQ(1.0, *f.success_rate);
  EXPECT_EQ(20, *f.median_latency_ms);
}

TEST(RouteSignalsTest, TurnsArePerRouteAndTheModelsFollowedAreBounded) {
  ManualClock clock;
  RouteSignals s(clock);
  EXPECT_EQ(0u, s.nextTurn("x"));
  EXPECT_EQ(1u, s.nextTurn("x"));
  EXPECT_EQ(0u, s.nextTurn("y"));
  EXPECT_EQ(2u, s.nextTurn("x"));
  for (size_t i = 0; i < RouteSignals::kMaxModels + 10; ++i) {
    s.routed("m" + std::to_string(i));
  }
  EXPECT_EQ(1, s.figures("m0").routed_last_minute);
  EXPECT_EQ(0, s.figures("m" + std::to_string(RouteSignals::kMaxModels)).routed_last_minute)
      << "a model past the bound is not followed";
  s.setDrawForTests([](uint32_t) { return 7u; });
  EXPECT_EQ(1u, s.draw(3));
  s.setDrawForTests(nullptr);
  for (int i = 0; i < 100; ++i) {
    EXPECT_LT(s.draw(3), 3u);
  }
}

}  // namespace
}  // namespace llmq::daemon

namespace llmq::daemon {
namespace {

// Just after boot the monotonic clock is near 0: no slot index goes negative.
TEST(RouteSignalsTest, TheFirstSecondsAfterBootCount) {
  ManualClock clock;
  clock.mono = 500;
  RouteSignals s(clock);
  s.routed("a");
  s.attemptEnded("b", true, 5);  // Followed through an attempt alone.
  EXPECT_EQ(1, s.figures("a").routed_last_minute);
  EXPECT_EQ(0, s.figures("b").routed_last_minute);
  EXPECT_EQ(1, s.figures("b").outcomes);
  clock.mono = 30'000;
  EXPECT_EQ(1, s.figures("a").routed_last_minute);
}

}  // namespace
}  // namespace llmq::daemon
