// Tests for daemon/key_pool: parsing OPENROUTER_API_KEYS, round-robin among
// healthy keys, exhaustion, invalid keys, cooldowns, and fingerprint-only status.
#include "daemon/key_pool.h"

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

TEST(KeyPoolTest, StatusShowsFingerprintsOnly) {
  KeyPool pool({kA, kB}, "");
  std::string status =
      pool.statusJson(1000, [](const PooledKey& k) { return k.name == "pool-2" ? 60000 : 0; });
  EXPECT_EQ(std::string::npos, status.find(kA));
  EXPECT_EQ(std::string::npos, status.find(kB));
  EXPECT_NE(std::string::npos, status.find("sk-or…0001"));
  EXPECT_NE(std::string::npos, status.find("\"state\":\"cooldown\""));
  EXPECT_NE(std::string::npos, status.find("\"until\":\"1970-01-01T00:01:00.000Z\""));
}

}  // namespace
}  // namespace llmq::daemon
