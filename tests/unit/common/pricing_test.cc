// Tests for common/pricing.h: costUsd and worstCaseUsd against figures worked
// out by hand, for the price shapes OpenRouter's catalog has: plain prompt and
// completion prices, a per-request fee, cache reads cheaper than the prompt,
// cache writes dearer, and free models.
#include "common/pricing.h"

#include <gtest/gtest.h>

namespace llmq {
namespace {

constexpr double kEps = 1e-12;

// $1 / $2 per million tokens (the fake upstream's fake/ok).
Pricing plain() {
  Pricing p;
  p.prompt = 1e-6;
  p.completion = 2e-6;
  p.known = true;
  return p;
}

// Claude 3.5 Sonnet: $3 / $15 per million, cache reads $0.30, cache writes $3.75.
Pricing claude() {
  Pricing p;
  p.prompt = 3e-6;
  p.completion = 15e-6;
  p.cache_read = 0.3e-6;
  p.cache_write = 3.75e-6;
  p.known = true;
  return p;
}

// Perplexity Sonar: $1 / $1 per million plus $0.005 per request.
Pricing sonar() {
  Pricing p;
  p.prompt = 1e-6;
  p.completion = 1e-6;
  p.request = 0.005;
  p.known = true;
  return p;
}

TEST(PricingTest, PlainPromptAndCompletion) {
  // 1000 × $0.000001 + 500 × $0.000002 = $0.001 + $0.001.
  EXPECT_NEAR(0.002, costUsd(plain(), {1000, 500, 0, 0}), kEps);
  EXPECT_NEAR(0.0, costUsd(plain(), {0, 0, 0, 0}), kEps);
  // Only completion tokens: 7 × $0.000002.
  EXPECT_NEAR(0.000014, costUsd(plain(), {0, 7, 0, 0}), kEps);
}

TEST(PricingTest, PerRequestFeeIsChargedOnceWhateverTheTokens) {
  // 200 × $0.000001 + 300 × $0.000001 + $0.005.
  EXPECT_NEAR(0.0055, costUsd(sonar(), {200, 300, 0, 0}), kEps);
  EXPECT_NEAR(0.005, costUsd(sonar(), {0, 0, 0, 0}), kEps);
}

TEST(PricingTest, CacheReadsAreCheaperThanPrompt) {
  // 10000 prompt tokens, 8000 of them read from the cache, 100 completion tokens:
  // 2000 × $0.000003 + 8000 × $0.0000003 + 100 × $0.000015 = 0.006 + 0.0024 + 0.0015.
  EXPECT_NEAR(0.0099, costUsd(claude(), {10000, 100, 8000, 0}), kEps);
  // The same without the cache: 10000 × $0.000003 + 0.0015.
  EXPECT_NEAR(0.0315, costUsd(claude(), {10000, 100, 0, 0}), kEps);
}

TEST(PricingTest, CacheWritesAreDearerThanPrompt) {
  // 10000 prompt tokens, 6000 written to the cache, 200 completion tokens:
  // 4000 × $0.000003 + 6000 × $0.00000375 + 200 × $0.000015 = 0.012 + 0.0225 + 0.003.
  EXPECT_NEAR(0.0375, costUsd(claude(), {10000, 200, 0, 6000}), kEps);
  // Reads and writes in one request: 2000 plain, 5000 read, 3000 written:
  // 0.006 + 0.0015 + 0.01125.
  EXPECT_NEAR(0.01875, costUsd(claude(), {10000, 0, 5000, 3000}), kEps);
}

TEST(PricingTest, MissingCachePricesMeanThePromptPrice) {
  // GPT-4o-mini publishes a cache-read price but no cache-write one.
  Pricing p;
  p.prompt = 0.15e-6;
  p.completion = 0.6e-6;
  p.cache_read = 0.075e-6;
  p.known = true;
  // 1000 prompt tokens, 400 written: all 1000 at $0.00000015 = $0.00015.
  EXPECT_NEAR(0.00015, costUsd(p, {1000, 0, 0, 400}), kEps);
  // 600 read: 400 × 0.15e-6 + 600 × 0.075e-6 = 0.00006 + 0.000045.
  EXPECT_NEAR(0.000105, costUsd(p, {1000, 0, 600, 0}), kEps);
  // No cache prices at all: cached tokens cost what prompt tokens cost.
  EXPECT_NEAR(costUsd(plain(), {1000, 10, 0, 0}), costUsd(plain(), {1000, 10, 700, 300}), kEps);
}

TEST(PricingTest, FreeModelsCostNothing) {
  Pricing free;
  free.known = true;
  EXPECT_EQ(0.0, costUsd(free, {123456, 7890, 1000, 1000}));
  EXPECT_EQ(0.0, worstCaseUsd(free, 123456, 4096));
}

TEST(PricingTest, CacheCountsAreClampedToThePrompt) {
  // More cached tokens than prompt tokens (a confused usage object): all 100 are
  // cached, none plain, none written. 100 × $0.0000003.
  EXPECT_NEAR(0.00003, costUsd(claude(), {100, 0, 500, 0}), kEps);
  // Reads take precedence; writes get what is left: 60 read, 40 written.
  EXPECT_NEAR(60 * 0.3e-6 + 40 * 3.75e-6, costUsd(claude(), {100, 0, 60, 90}), kEps);
  // Negative counts read as none.
  EXPECT_NEAR(costUsd(claude(), {100, 0, 0, 0}), costUsd(claude(), {100, 0, -5, -5}), kEps);
}

TEST(PricingTest, WorstCaseUsesTheDearerPromptPriceAndTheWholeCompletion) {
  // 1000 × max($0.000003, $0.00000375) + 4096 × $0.000015 = 0.00375 + 0.06144.
  EXPECT_NEAR(0.06519, worstCaseUsd(claude(), 1000, 4096), kEps);
  // 1000 × $0.000001 + 1000 × $0.000001 + $0.005.
  EXPECT_NEAR(0.007, worstCaseUsd(sonar(), 1000, 1000), kEps);
  EXPECT_NEAR(0.002, worstCaseUsd(plain(), 1000, 500), kEps);
}

TEST(PricingTest, WorstCaseIsNeverBelowTheActualCost) {
  for (const Pricing& p : {plain(), claude(), sonar()}) {
    for (int64_t read : {0, 100, 500, 1000}) {
      for (int64_t written : {0, 100, 500, 1000}) {
        for (int64_t completion : {0, 1, 256}) {
          const TokenCounts t{1000, completion, read, written};
          EXPECT_LE(costUsd(p, t), worstCaseUsd(p, 1000, 256) + kEps)
              << "read " << read << " written " << written << " completion " << completion;
        }
      }
    }
  }
}

}  // namespace
}  // namespace llmq
