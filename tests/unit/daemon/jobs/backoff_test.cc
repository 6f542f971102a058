// Tests for daemon/jobs/backoff: the ceiling doubles per retry up to the cap, and the
// jittered delays fill [0, ceiling] rather than bunching at one value.
#include "daemon/jobs/backoff.h"

#include <gtest/gtest.h>

namespace llmq::daemon {
namespace {

TEST(BackoffTest, CeilingDoublesUpToTheCap) {
  EXPECT_EQ(1000, backoffCeilingMs(1, 1000, 60000));
  EXPECT_EQ(2000, backoffCeilingMs(2, 1000, 60000));
  EXPECT_EQ(32000, backoffCeilingMs(6, 1000, 60000));
  EXPECT_EQ(60000, backoffCeilingMs(7, 1000, 60000));
  EXPECT_EQ(60000, backoffCeilingMs(1000, 1000, 60000)) << "no overflow however many retries";
  EXPECT_EQ(500, backoffCeilingMs(3, 1000, 500)) << "a cap below the base wins";
}

TEST(BackoffTest, FullJitterStaysInBoundsAndSpreadsOverThem) {
  std::mt19937_64 rng(42);
  for (int attempt = 1; attempt <= 8; ++attempt) {
    const int64_t ceiling = backoffCeilingMs(attempt, 100, 5000);
    int64_t lo = INT64_MAX;
    int64_t hi = -1;
    int below_half = 0;
    constexpr int kDraws = 4000;
    for (int i = 0; i < kDraws; ++i) {
      const int64_t d = backoffMs(attempt, 100, 5000, rng);
      ASSERT_GE(d, 0);
      ASSERT_LE(d, ceiling);
      lo = std::min(lo, d);
      hi = std::max(hi, d);
      below_half += d < ceiling / 2;
    }
    EXPECT_LE(lo, ceiling / 20) << "attempt " << attempt;
    EXPECT_GE(hi, ceiling - ceiling / 20) << "attempt " << attempt;
    EXPECT_NEAR(kDraws / 2, below_half, kDraws / 10) << "uniform, attempt " << attempt;
  }
}

}  // namespace
}  // namespace llmq::daemon
