// Tests for daemon/policy/rate_limiter: sliding request and token windows per key and per
// model, concurrency slots, 429 cooldowns. Time is a plain number here: a
// minute-long window is checked without sleeping.
#include "daemon/policy/rate_limiter.h"

#include <gtest/gtest.h>

#include <random>

#include "common/time.h"

namespace llmq::daemon {
namespace {

constexpr int64_t kT0 = 1'800'000'000'000;  // Any instant.

LimitRule rule(LimitScope scope, std::string match, int64_t rpm, int64_t rps = 0, int64_t tpm = 0,
               int64_t concurrency = 0) {
  return LimitRule{scope, std::move(match), rpm, rps, tpm, concurrency};
}

TEST(RateLimiterTest, NoRulesMeansEverythingGoesNow) {
  RateLimiter limits(LimitOptions{});
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(kT0, limits.readyAt("pool-1", "m", 10, kT0));
    limits.acquire("pool-1", "m", 10, kT0);
  }
  EXPECT_FALSE(limits.countsTokens());
}

// Whatever the arrival pattern, no 60 s window ever holds more than rpm requests,
// and the limiter is work-conserving: a request waits only while the window is full.
TEST(RateLimiterTest, RequestsPerMinuteHoldOverEverySlidingWindow) {
  RateLimiter limits(LimitOptions{{rule(LimitScope::kModel, "free/*", 20)}, 0});
  std::mt19937_64 rng(7);
  std::vector<int64_t> sent;
  int64_t now = kT0;
  while (now < kT0 + 10 * 60000) {
    int64_t at = limits.readyAt("", "free/a", 0, now);
    if (at <= now) {
      limits.acquire("", "free/a", 0, now);
      sent.push_back(now);
    } else {
      EXPECT_GE(static_cast<int64_t>(sent.size()), 20);
      EXPECT_EQ(sent[sent.size() - 20] + 60000, at) << "ready exactly when the oldest ages out";
    }
    now += std::uniform_int_distribution<int64_t>(0, 900)(rng);
  }
  ASSERT_GT(sent.size(), 150u);
  for (size_t i = 20; i < sent.size(); ++i) {
    EXPECT_GE(sent[i] - sent[i - 20], 60000) << "21 requests within one minute at " << i;
  }
}

TEST(RateLimiterTest, EachSubjectAMatchingRuleCoversGetsItsOwnBucket) {
  RateLimiter limits(LimitOptions{{rule(LimitScope::kKey, "pool-*", 0, 2)}, 0});
  limits.acquire("pool-1", "m", 0, kT0);
  limits.acquire("pool-1", "m", 0, kT0);
  EXPECT_EQ(kT0 + 1000, limits.readyAt("pool-1", "m", 0, kT0));
  EXPECT_EQ(kT0, limits.readyAt("pool-2", "m", 0, kT0));
  EXPECT_EQ(kT0, limits.readyAt("server", "m", 0, kT0)) << "no rule matches";
  EXPECT_EQ(kT0, limits.readyAt("", "m", 0, kT0)) << "no key: key rules do not apply";
}

TEST(RateLimiterTest, GuardWidensTheWindow) {
  RateLimiter limits(LimitOptions{{rule(LimitScope::kKey, "*", 0, 1)}, 25});
  limits.acquire("k", "m", 0, kT0);
  EXPECT_EQ(kT0 + 1025, limits.readyAt("k", "m", 0, kT0 + 1000));
  EXPECT_EQ(kT0 + 1025, limits.readyAt("k", "m", 0, kT0 + 1025));
}

TEST(RateLimiterTest, TokensPerMinuteUseTheEstimateThenTheRealUsage) {
  RateLimiter limits(LimitOptions{{rule(LimitScope::kModel, "*", 0, 0, 1000)}, 0});
  ASSERT_TRUE(limits.countsTokens());
  LimitPermit a = limits.acquire("", "m", 600, kT0);
  EXPECT_EQ(kT0 + 10, limits.readyAt("", "m", 400, kT0 + 10));
  EXPECT_EQ(kT0 + 60000, limits.readyAt("", "m", 500, kT0 + 10)) << "600 + 500 > 1000";
  limits.release(a, 100);  // It used far fewer tokens than estimated.
  EXPECT_EQ(kT0 + 10, limits.readyAt("", "m", 500, kT0 + 10));
  limits.release(a, 5000);  // Releasing twice changes nothing.
  EXPECT_EQ(kT0 + 10, limits.readyAt("", "m", 900, kT0 + 10));
}

TEST(RateLimiterTest, ARequestLargerThanTheBudgetGoesAloneOnceTheWindowIsEmpty) {
  RateLimiter limits(LimitOptions{{rule(LimitScope::kModel, "*", 0, 0, 1000)}, 0});
  EXPECT_EQ(kT0, limits.readyAt("", "m", 5000, kT0));
  limits.acquire("", "m", 10, kT0);
  EXPECT_EQ(kT0 + 60000, limits.readyAt("", "m", 5000, kT0 + 1));
}

TEST(RateLimiterTest, ConcurrencyWaitsForARelease) {
  RateLimiter limits(LimitOptions{{rule(LimitScope::kKey, "*", 0, 0, 0, 2)}, 0});
  LimitPermit a = limits.acquire("k", "m", 0, kT0);
  LimitPermit b = limits.acquire("k", "m", 0, kT0);
  EXPECT_EQ(RateLimiter::kOnRelease, limits.readyAt("k", "m", 0, kT0));
  limits.release(b, -1);
  EXPECT_EQ(kT0, limits.readyAt("k", "m", 0, kT0));
  limits.release(a, -1);
}

TEST(RateLimiterTest, CooldownsBlockTheirSubjectOnly) {
  RateLimiter limits(LimitOptions{});
  EXPECT_TRUE(limits.coolDown(LimitScope::kModel, "m", kT0 + 2000, kT0));
  EXPECT_FALSE(limits.coolDown(LimitScope::kModel, "m", kT0 + 1500, kT0 + 100))
      << "a 429 for a request sent before the first was answered";
  EXPECT_EQ(kT0 + 2000, limits.readyAt("k", "m", 0, kT0 + 100));
  EXPECT_EQ(kT0 + 100, limits.readyAt("k", "other", 0, kT0 + 100));
  EXPECT_EQ(kT0 + 2000, limits.readyAt("", "m", 0, kT0 + 100));
  EXPECT_TRUE(limits.coolDown(LimitScope::kKey, "k", kT0 + 3000, kT0 + 100));
  EXPECT_EQ(kT0 + 3000, limits.readyAt("k", "other", 0, kT0 + 100));
  EXPECT_EQ(kT0 + 3000, limits.readyAt("k", "other", 0, kT0 + 2999));
  EXPECT_EQ(kT0 + 3000, limits.readyAt("k", "other", 0, kT0 + 3000)) << "over: goes now";
  EXPECT_TRUE(limits.coolDown(LimitScope::kModel, "m", kT0 + 9000, kT0 + 5000))
      << "the first cooldown is over: this begins a new one";
}

// No rate was configured for the key: the 429 that begins a cooldown teaches it
// what the provider let through in the second before, and quiet time probes up.
TEST(RateLimiterTest, AKeyLearnsItsRateFromA429) {
  RateLimiter limits(LimitOptions{{}, 0});
  std::vector<LimitPermit> permits;
  for (int i = 0; i < 60; ++i) {
    permits.push_back(limits.acquire("k", "m", 0, kT0 + i * 16));
  }
  for (int i = 0; i < 60; ++i) {
    limits.release(permits[static_cast<size_t>(i)], -1, /*ok=*/i < 50);  // The provider took 50.
  }
  EXPECT_EQ(0, limits.learnedRps("k"));
  const int64_t t429 = kT0 + 990;
  EXPECT_TRUE(limits.coolDown(LimitScope::kKey, "k", t429 + 1000, t429));
  EXPECT_FALSE(limits.coolDown(LimitScope::kKey, "k", t429 + 1000, t429 + 5)) << "same cooldown: no relearning";
  EXPECT_EQ(0, limits.learnedRps("k")) << "counted once the cooldown is over";
  int64_t now = t429 + 1000;
  EXPECT_EQ(now, limits.keyReadyAt("k", 0, now));
  EXPECT_EQ(50, limits.learnedRps("k"));
  // After the cooldown: 50 per second, then wait.
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(now, limits.keyReadyAt("k", 0, now)) << i;
    limits.acquire("k", "m", 0, now);
  }
  EXPECT_EQ(now + 1000, limits.keyReadyAt("k", 0, now));
  RateLimiter configured(LimitOptions{{rule(LimitScope::kKey, "*", 0, 40)}, 0});
  configured.acquire("k", "m", 0, kT0);
  configured.coolDown(LimitScope::kKey, "k", kT0 + 100, kT0);
  configured.keyReadyAt("k", 0, kT0 + 200);
  EXPECT_EQ(0, configured.learnedRps("k")) << "a configured rate is not second-guessed";
  EXPECT_EQ(kT0, limits.keyReadyAt("other", 0, kT0)) << "other keys learned nothing";
  // Quiet for kProbeEveryMs: a tenth more.
  now = t429 + 1000 + RateLimiter::kProbeEveryMs;
  EXPECT_EQ(now, limits.keyReadyAt("k", 0, now));
  EXPECT_EQ(55, limits.learnedRps("k"));
}

TEST(RateLimiterTest, StatusShowsRulesBusyBucketsAndCooldowns) {
  RateLimiter limits(LimitOptions{{rule(LimitScope::kKey, "pool-*", 50, 0, 0, 4)}, 20});
  LimitPermit p = limits.acquire("pool-1", "m", 0, kT0);
  limits.coolDown(LimitScope::kModel, "m", kT0 + 5000, kT0);
  std::string s = limits.statusJson(kT0, kT0);
  EXPECT_NE(std::string::npos, s.find("\"match\":\"pool-*\",\"rpm\":50")) << s;
  EXPECT_NE(std::string::npos, s.find("\"subject\":\"pool-1\"")) << s;
  EXPECT_NE(std::string::npos, s.find("\"requests_last_minute\":1")) << s;
  EXPECT_NE(std::string::npos, s.find("\"inflight\":1")) << s;
  EXPECT_NE(std::string::npos, s.find("{\"scope\":\"model\",\"subject\":\"m\",\"until\":")) << s;
  limits.release(p, -1);
}

// The daemon's two clocks, which a test sets: the wall clock, which can step, and
// the monotonic clock the limiter keeps its time on (daemon/jobs/job_runner.cc passes
// Clock::monoMs()).
class SteppedClock final : public Clock {
 public:
  int64_t nowMs() const override { return wall; }
  int64_t monoMs() const override { return mono; }
  void advance(int64_t ms) {
    wall += ms;
    mono += ms;
  }
  int64_t wall = kT0;
  int64_t mono = 5'000;
};

// A 2 s cooldown and a full minute window keep their exact lengths whatever the
// wall clock does between the 429 and the next look: set back an hour, forward a
// day, or by just under or just over the 250 ms a WallStepWatch lets pass. The
// "until" shown is the new wall clock's time of the same moment.
TEST(RateLimiterTest, AWallClockStepNeitherShortensNorStretchesACooldownOrAWindow) {
  for (int64_t step : {-3'600'000, 86'400'000, -251, -249, 249, 251}) {
    SCOPED_TRACE(step);
    SteppedClock clock;
    RateLimiter limits(LimitOptions{{rule(LimitScope::kModel, "m", 1)}, 0});
    const int64_t start = clock.monoMs();
    limits.acquire("", "m", 0, start);
    EXPECT_TRUE(limits.coolDown(LimitScope::kKey, "k", start + 2000, start));
    clock.wall += step;
    clock.advance(500);
    int64_t now = clock.monoMs();
    EXPECT_EQ(now + 1500, limits.cooldownUntil(LimitScope::kKey, "k", now));
    EXPECT_EQ(now + 1500, limits.keyReadyAt("k", 0, now));
    EXPECT_EQ(now + 59500, limits.modelReadyAt("m", 0, now));
    const std::string s = limits.statusJson(now, clock.nowMs());
    EXPECT_NE(std::string::npos, s.find("\"until\":\"" + rfc3339(clock.nowMs() + 1500) + "\"")) << s;
    clock.advance(1499);
    now = clock.monoMs();
    EXPECT_EQ(now + 1, limits.cooldownUntil(LimitScope::kKey, "k", now));
    clock.advance(1);
    now = clock.monoMs();
    EXPECT_EQ(0, limits.cooldownUntil(LimitScope::kKey, "k", now));  // Exactly 2 s.
    EXPECT_EQ(now, limits.keyReadyAt("k", 0, now));
    clock.advance(57999);
    EXPECT_EQ(clock.monoMs() + 1, limits.modelReadyAt("m", 0, clock.monoMs()));
    clock.advance(1);
    EXPECT_EQ(clock.monoMs(), limits.modelReadyAt("m", 0, clock.monoMs()));  // Exactly a minute.
  }
}

// Subjects come from outside: any user names any model, and a user's own key
// is a key subject of its own. Naming a new one with every request (here 50,000,
// ten a second, each limited by a wildcard rule and each cooled down by a 429)
// keeps what the limiter holds bounded, and a subject still in its window is
// still limited.
TEST(RateLimiterTest, WhatIsHeldPerSubjectStaysBoundedWhateverSubjectsAreNamed) {
  RateLimiter limits(LimitOptions{{rule(LimitScope::kModel, "mock/*", 1), rule(LimitScope::kKey, "user:*", 1)}, 0});
  int64_t now = kT0;
  size_t most = 0;
  for (int i = 0; i < 50000; ++i) {
    const std::string model = "mock/m" + std::to_string(i);
    const std::string key = "user:k" + std::to_string(i);
    ASSERT_EQ(now, limits.readyAt(key, model, 0, now));
    LimitPermit p = limits.acquire(key, model, 0, now);
    limits.release(p, 0, true);
    limits.coolDown(LimitScope::kModel, model, now + 2000, now);
    limits.coolDown(LimitScope::kKey, key, now + 2000, now);
    most = std::max(most, limits.subjectsHeld());
    now += 100;
  }
  // Per scope at most kMaxSubjects index entries, cooldowns and idle buckets
  // (busy ones: 600 a minute here), and kMaxSubjects learned rates: about 7 in
  // all, against 5 per name (250,000) without the bound.
  EXPECT_LE(most, 8u * RateLimiter::kMaxSubjects) << "grew with the names";
  // The last one is still held to its rule (1 a minute) and its cooldown.
  EXPECT_GT(limits.readyAt("user:k49999", "mock/m49999", 0, now), now);
}

// A cooldown that is running is never dropped to make room.
TEST(RateLimiterTest, RunningCooldownsAreKeptWhenTheSubjectsAreMany) {
  RateLimiter limits(LimitOptions{});
  for (size_t i = 0; i < RateLimiter::kMaxSubjects + 100; ++i) {
    limits.coolDown(LimitScope::kModel, "m" + std::to_string(i), kT0 + 3'600'000, kT0);
  }
  EXPECT_EQ(kT0 + 3'600'000, limits.cooldownUntil(LimitScope::kModel, "m0", kT0 + 1));
  EXPECT_EQ(kT0 + 3'600'000, limits.readyAt("", "m17", 0, kT0 + 1));
  EXPECT_LE(limits.subjectsHeld(), RateLimiter::kMaxSubjects + 2);
}

}  // namespace
}  // namespace llmq::daemon
