// Tests for daemon/circuit_breaker: closed -> open after N failures in the window,
// half-open after the cooldown with one probe, closed again on success.
#include "daemon/circuit_breaker.h"

#include <gtest/gtest.h>

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
  EXPECT_NE(std::string::npos, cb.statusJson(300).find("\"state\":\"open\""));
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
  EXPECT_EQ("[]", cb.statusJson(1221));
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
  EXPECT_EQ("[]", cb.statusJson(30));
}

// An open breaker keeps its cooldown's length across a step of the wall clock.
TEST(CircuitBreakerTest, ShiftingByAClockStepKeepsTheCooldown) {
  CircuitBreakers cb({.failures = 1, .window_ms = 1000, .cooldown_ms = 500});
  const std::string k = "openrouter/x";
  int64_t at = 0;
  cb.onFailure(k, 10'000);
  cb.shiftTimes(-3'600'000);
  EXPECT_TRUE(cb.blocked(k, 10'000 - 3'600'000 + 100, &at));
  EXPECT_EQ(10'000 - 3'600'000 + 500, at);
  EXPECT_FALSE(cb.blocked(k, 10'000 - 3'600'000 + 500, &at));
}

}  // namespace
}  // namespace llmq::daemon
