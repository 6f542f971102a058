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
