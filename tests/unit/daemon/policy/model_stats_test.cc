// Tests for daemon/policy/model_stats: nearest-rank percentiles, cost per 1,000
// tokens, and the tally of ledger samples by provider and model.
#include "daemon/policy/model_stats.h"

#include <gtest/gtest.h>

namespace llmq::daemon {
namespace {

TEST(ModelStatsTest, PercentilesAreNearestRank) {
  std::vector<int64_t> hundred;
  for (int64_t v = 100; v >= 1; --v) {
    hundred.push_back(v);  // Unsorted on purpose.
  }
  const std::optional<Percentiles> p = percentilesOf(hundred);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(50, p->p50);
  EXPECT_EQ(95, p->p95);
  EXPECT_EQ(99, p->p99);
  const std::optional<Percentiles> one = percentilesOf({7});
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(7, one->p50);
  EXPECT_EQ(7, one->p99);
  const std::optional<Percentiles> two = percentilesOf({10, 20});
  EXPECT_EQ(10, two->p50);
  EXPECT_EQ(20, two->p95);
  EXPECT_FALSE(percentilesOf({}).has_value());
}

TEST(ModelStatsTest, CostPerThousandTokensNeedsTokens) {
  EXPECT_DOUBLE_EQ(0.5, *usdPer1kTokens(1.0, 2000));
  EXPECT_FALSE(usdPer1kTokens(1.0, 0).has_value());
}

TEST(ModelStatsTest, ATallyGroupsByProviderAndModel) {
  ModelTally tally;
  tally.add({"p", "m", true, 100, 10, 1000, 0.01});
  tally.add({"p", "m", false, 300, std::nullopt, 0, 0});
  tally.add({"p", "m", true, std::nullopt, 30, 1000, 0.01});
  tally.add({"a", "m", true, 5, 1, 10, 0});
  const std::vector<ModelPerformance> r = tally.result();
  ASSERT_EQ(2u, r.size());
  EXPECT_EQ("a", r[0].provider) << "ordered by provider, then model";
  const ModelPerformance& pm = r[1];
  EXPECT_EQ(3, pm.requests);
  EXPECT_EQ(2, pm.successes);
  EXPECT_DOUBLE_EQ(2.0 / 3.0, pm.successRate());
  ASSERT_TRUE(pm.latency_ms.has_value());
  EXPECT_EQ(100, pm.latency_ms->p50) << "over the two attempts that recorded a latency";
  EXPECT_EQ(300, pm.latency_ms->p99);
  ASSERT_TRUE(pm.ttft_ms.has_value());
  EXPECT_EQ(10, pm.ttft_ms->p50);
  EXPECT_EQ(2000, pm.tokens);
  EXPECT_DOUBLE_EQ(0.02, pm.cost_usd);
  EXPECT_EQ(4, tally.samples());
  EXPECT_DOUBLE_EQ(0, ModelPerformance{}.successRate());
}

TEST(ModelStatsTest, HugeFiguresAreClampedNotOverflowed) {
  ModelTally tally;
  for (int i = 0; i < 3; ++i) {
    tally.add({"p", "m", true, 1, 1, INT64_MAX / 2, 1e300});
  }
  const ModelPerformance m = tally.result().front();
  EXPECT_GT(m.tokens, 0);
  EXPECT_LE(m.cost_usd, 1e15);
}

}  // namespace
}  // namespace llmq::daemon
