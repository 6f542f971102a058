// Tests for daemon/policy/key_pool: parsing OPENROUTER_API_KEYS, round-robin among
// healthy keys, exhaustion, invalid keys, cooldowns, and fingerprint-only status.
#include "daemon/policy/key_pool.h"

#include <gtest/gtest.h>

#include <map>

#include "common/json.h"

namespace llmq::daemon {
namespace {

const std::string kA = "sk-or-v1-testaaaaaaaaaaaaaaaaaaaaaaaa0001";
const std::string kB = "sk-or-v1-testbbbbbbbbbbbbbbbbbbbbbbbb0002";
const std::string kC = "sk-or-v1-testcccccccccccccccccccccccc0003";

TEST(KeyPoolTest, ParsesJsonArraysAndCommaLists) {
  EXPECT_EQ((std::vector<std::string>{kA, kB}), json::parseStringList("[\"" + kA + "\",\"" + kB + "\"]"));
  EXPECT_EQ((std::vector<std::string>{kA, kB}), json::parseStringList(" " + kA + " ,," + kB + "\n"));
  EXPECT_TRUE(json::parseStringList("").empty());
}

TEST(KeyPoolTest, PoolFirstThenTheSingleKeyWithoutDuplicates) {
  KeyPool pool({kA, kB, kA}, kB);
  ASSERT_EQ(2u, pool.size());
  KeyPool with_single({kA}, kC);
  ASSERT_EQ(2u, with_single.size());
  EXPECT_EQ("server", with_single.key(1).name);
  EXPECT_EQ(kC, with_single.key(1).secret);
}

TEST(KeyPoolTest, RoundRobinSkipsExhaustedInvalidAndWaitingKeys) {
  KeyPool pool({kA, kB, kC}, "");
  std::map<std::string, int64_t> ready;  // Key name -> when it is ready.
  auto ready_at = [&](const PooledKey& k) { return ready[k.name]; };
  std::optional<int64_t> at;
  EXPECT_EQ(0, pool.next(1000, &at, ready_at));
  EXPECT_EQ(1, pool.next(1000, &at, ready_at));
  EXPECT_EQ(2, pool.next(1000, &at, ready_at));
  EXPECT_EQ(0, pool.next(1000, &at, ready_at));
  pool.markExhausted(1);
  ready["pool-3"] = 5000;
  EXPECT_EQ(0, pool.next(1000, &at, ready_at));
  EXPECT_EQ(0, pool.next(1000, &at, ready_at));
  pool.markInvalid(0);
  EXPECT_EQ(-1, pool.next(1000, &at, ready_at));
  ASSERT_TRUE(at.has_value());
  EXPECT_EQ(5000, *at);
  EXPECT_TRUE(pool.anyAlive());
  EXPECT_EQ(2, pool.next(5000, &at, ready_at)) << "usable again once it is ready";
  pool.markExhausted(2);
  EXPECT_EQ(-1, pool.next(9000, &at, ready_at));
  EXPECT_FALSE(at.has_value());
  EXPECT_FALSE(pool.anyAlive());
}

// Precedence: the single key beside a pool is the last resort, used only once
// every pool key is exhausted or invalid (before, it was rotated in with the pool).
TEST(KeyPoolTest, TheSingleKeyIsTheLastResortBesideAPool) {
  KeyPool pool({kA, kB}, kC);
  ASSERT_EQ(3u, pool.size());
  EXPECT_TRUE(pool.key(2).last_resort);
  std::map<std::string, int64_t> ready;
  auto ready_at = [&](const PooledKey& k) { return ready[k.name]; };
  std::optional<int64_t> at;
  for (int i = 0; i < 6; ++i) {
    EXPECT_NE(2, pool.next(1000, &at, ready_at)) << "round " << i;
  }
  pool.markExhausted(0);
  ready["pool-2"] = 5000;  // Cooling down: waited for, not replaced by the single key.
  EXPECT_EQ(-1, pool.next(1000, &at, ready_at));
  ASSERT_TRUE(at.has_value());
  EXPECT_EQ(5000, *at);
  pool.markInvalid(1);
  EXPECT_EQ(2, pool.next(1000, &at, ready_at));
  EXPECT_EQ(2, pool.next(1000, &at, ready_at));

  KeyPool alone({}, kC);
  EXPECT_FALSE(alone.key(0).last_resort);
  EXPECT_EQ(0, alone.next(1000, &at, ready_at));
}

TEST(KeyPoolTest, AllInvalidOnlyWhenEveryKeyIs) {
  KeyPool pool({kA, kB}, "");
  EXPECT_FALSE(pool.allInvalid());
  pool.markInvalid(0);
  EXPECT_FALSE(pool.allInvalid());
  pool.markInvalid(1);
  EXPECT_TRUE(pool.allInvalid());
  pool.markExhausted(1);
  EXPECT_FALSE(pool.allInvalid());
  EXPECT_FALSE(KeyPool().allInvalid());
}

TEST(KeyPoolTest, ResetPutsBenchedKeysBack) {
  KeyPool pool({kA, kB}, kC);
  pool.markInvalid(0);
  pool.markExhausted(1);
  pool.markExhausted(2);
  pool.setCredit(1, KeyCredit{.known = true, .remaining = 0.0});
  auto one = pool.reset("pool-1");
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ((std::vector<std::string>{"pool-1"}), *one);
  EXPECT_EQ(KeyState::kOk, pool.key(0).state);
  EXPECT_EQ(KeyState::kExhausted, pool.key(1).state);
  auto by_fingerprint = pool.reset(pool.key(1).fingerprint);
  ASSERT_TRUE(by_fingerprint.has_value());
  EXPECT_EQ((std::vector<std::string>{"pool-2"}), *by_fingerprint);
  EXPECT_FALSE(pool.key(1).credit.known) << "a stale 'nothing left' must not bench it again";
  EXPECT_FALSE(pool.reset("pool-9").has_value());
  auto all = pool.reset("");
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ((std::vector<std::string>{"server"}), *all);
  EXPECT_TRUE(pool.reset("").value().empty()) << "nothing left to reset";
}

TEST(KeyPoolTest, StatusShowsFingerprintsOnly) {
  KeyPool pool({kA, kB}, "");
  std::string status = pool.statusJson(1000, [](const PooledKey& k) { return k.name == "pool-2" ? 60000 : 0; });
  EXPECT_EQ(std::string::npos, status.find(kA));
  EXPECT_EQ(std::string::npos, status.find(kB));
  EXPECT_NE(std::string::npos, status.find("sk-or…0001"));
  EXPECT_NE(std::string::npos, status.find("\"state\":\"cooldown\""));
  EXPECT_NE(std::string::npos, status.find("\"until\":\"1970-01-01T00:01:00.000Z\""));
}

}  // namespace
}  // namespace llmq::daemon

namespace llmq::daemon {
namespace {

// The key strategies pick among the keys that are ready: none ever hands out a
// key that is exhausted, invalid or waiting.
class KeyStrategyTest : public ::testing::Test {
 protected:
  int next(KeyStrategy s) {
    std::optional<int64_t> at;
    const int i = pool_.next(
        1000, &at, [&](const PooledKey& k) { return ready_[k.name]; }, s);
    if (i >= 0) {
      pool_.noteRequest(i);  // As the runner does when the key takes the request.
    }
    return i;
  }

  KeyPool pool_{{kA, kB, kC}, ""};
  std::map<std::string, int64_t> ready_;  // Key name -> when it is ready.
};

TEST_F(KeyStrategyTest, FillFirstUsesTheFirstReadyKeyUntilItWaits) {
  EXPECT_EQ(0, next(KeyStrategy::kFillFirst));
  EXPECT_EQ(0, next(KeyStrategy::kFillFirst));
  ready_["pool-1"] = 5000;  // At its limit for now.
  EXPECT_EQ(1, next(KeyStrategy::kFillFirst));
  pool_.markExhausted(1);
  EXPECT_EQ(2, next(KeyStrategy::kFillFirst));
}

TEST_F(KeyStrategyTest, LeastUsedTakesTheKeyWithTheFewestRequests) {
  EXPECT_EQ(0, next(KeyStrategy::kLeastUsed));
  EXPECT_EQ(1, next(KeyStrategy::kLeastUsed));
  EXPECT_EQ(2, next(KeyStrategy::kLeastUsed));
  EXPECT_EQ(0, next(KeyStrategy::kLeastUsed));
  ready_["pool-2"] = 5000;
  EXPECT_EQ(2, next(KeyStrategy::kLeastUsed)) << "pool-2 has as few but waits";
}

TEST_F(KeyStrategyTest, RandomDrawsAmongTheReadyKeys) {
  pool_.setDrawForTests([](uint32_t n) { return n - 1; });
  EXPECT_EQ(2, next(KeyStrategy::kRandom));
  pool_.markInvalid(2);
  EXPECT_EQ(1, next(KeyStrategy::kRandom)) << "the last of the two still ready";
  pool_.setDrawForTests(nullptr);
  for (int i = 0; i < 50; ++i) {
    const int k = next(KeyStrategy::kRandom);
    EXPECT_TRUE(k == 0 || k == 1) << k;
  }
}

TEST_F(KeyStrategyTest, PowerOfTwoChoicesTakesTheHealthierThenTheLessUsedOfTwo) {
  // Draws 0 then 0: the first and the second ready keys.
  pool_.setDrawForTests([](uint32_t) { return 0u; });
  for (int i = 0; i < 4; ++i) {
    pool_.noteRequest(0);
    pool_.noteError(0);  // pool-1 fails every request.
  }
  EXPECT_EQ(1, next(KeyStrategy::kTwoChoices)) << "fewer errors per request";
  EXPECT_EQ(1, next(KeyStrategy::kTwoChoices));
  pool_.markExhausted(0);  // Now pool-2 and pool-3 are the two drawn.
  EXPECT_EQ(1, next(KeyStrategy::kTwoChoices)) << "no error in 2 requests is better health than no history";
  pool_.noteError(1);
  pool_.noteError(1);  // pool-2: 2 errors in 3 requests.
  EXPECT_EQ(2, next(KeyStrategy::kTwoChoices));
  pool_.noteRequest(1);
  pool_.noteRequest(1);
  pool_.noteRequest(1);  // pool-2: (2+1)/(6+2) = 3/8 ... and pool-3, (0+1)/(1+2) = 1/3: pool-3 still.
  EXPECT_EQ(2, next(KeyStrategy::kTwoChoices));
  pool_.markExhausted(1);
  EXPECT_EQ(2, next(KeyStrategy::kTwoChoices)) << "one ready key: that one";
  pool_.markExhausted(2);
  EXPECT_EQ(-1, next(KeyStrategy::kTwoChoices));
}

}  // namespace
}  // namespace llmq::daemon
