// Tests for daemon/policy/key_credit's parser and the KeyPool's use of credit: keys
// whose credit cannot cover a job are passed over like exhausted ones, and what
// llmqd spends comes off the known credit until the next check.
#include "daemon/policy/key_credit.h"

#include <gtest/gtest.h>

namespace llmq::daemon {
namespace {

const std::string kA = "sk-or-v1-testaaaaaaaaaaaaaaaaaaaaaaaa0001";
const std::string kB = "sk-or-v1-testbbbbbbbbbbbbbbbbbbbbbbbb0002";

TEST(KeyCreditTest, ParsesOpenRoutersKeyObject) {
  auto c = parseKeyCredit(
      R"({"data":{"label":"sk-or-v1-tes...","limit":10.0,"usage":1.25,"limit_remaining":8.75,"is_free_tier":false}})",
      42);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(c->known);
  EXPECT_DOUBLE_EQ(10.0, *c->limit);
  EXPECT_DOUBLE_EQ(1.25, c->usage);
  EXPECT_DOUBLE_EQ(8.75, *c->remaining);
  EXPECT_EQ(42, c->checked_at);

  auto unlimited = parseKeyCredit(R"({"data":{"limit":null,"usage":3,"limit_remaining":null}})", 0);
  ASSERT_TRUE(unlimited.ok());
  EXPECT_FALSE(unlimited->limit.has_value());
  EXPECT_FALSE(unlimited->remaining.has_value());

  auto derived = parseKeyCredit(R"({"data":{"limit":5,"usage":4.5}})", 0);
  ASSERT_TRUE(derived.ok());
  EXPECT_DOUBLE_EQ(0.5, *derived->remaining) << "limit - usage when limit_remaining is absent";

  EXPECT_FALSE(parseKeyCredit("<html>", 0).ok());
  EXPECT_FALSE(parseKeyCredit(R"({"error":{"code":401}})", 0).ok());
}

TEST(KeyCreditTest, PoolSkipsKeysThatCannotPayAndSpendsKnownCredit) {
  KeyPool pool({kA, kB}, "");
  KeyCredit low;
  low.known = true;
  low.limit = 1.0;
  low.remaining = 0.01;
  pool.setCredit(0, low);
  EXPECT_TRUE(pool.anyCreditKnown());
  const double worst = 0.05;
  auto ready = [&](const PooledKey& k) {
    return k.credit.known && k.credit.remaining && *k.credit.remaining < worst ? KeyPool::kSkip : int64_t{0};
  };
  std::optional<int64_t> at;
  EXPECT_EQ(1, pool.next(100, &at, ready));
  EXPECT_EQ(1, pool.next(100, &at, ready)) << "pool-1 is passed over every time";
  pool.markExhausted(1);
  EXPECT_EQ(-1, pool.next(100, &at, ready));
  EXPECT_FALSE(at.has_value()) << "nothing to wait for: the job cannot run on any key";

  pool.spend(0, 0.004);
  EXPECT_DOUBLE_EQ(0.006, *pool.key(0).credit.remaining);
  pool.spend(0, 1.0);
  EXPECT_DOUBLE_EQ(0.0, *pool.key(0).credit.remaining);
  const std::string status = pool.statusJson(100, [](const PooledKey&) { return 0; });
  EXPECT_NE(std::string::npos, status.find("\"remaining_usd\":0,")) << status;
  EXPECT_NE(std::string::npos, status.find("\"credit\":null")) << "pool-2 was never checked: " << status;
}

}  // namespace
}  // namespace llmq::daemon
