// Bounds on the usage figures an upstream reports for one attempt, shared by the
// reader of upstream answers (upstream/chat_response) and the store's sums
// (store/usage_store). Documented in docs/operations.md, "Bounds".
#pragma once

#include <cstdint>

namespace llmq {

// A token count above this is read as this many. No model has a context near it,
// and 10^9 per attempt times every attempt a ledger can hold stays far from 2^63.
inline constexpr int64_t kMaxAttemptTokens = 1'000'000'000;
// A cost above this (USD, one attempt) is read as this cost.
inline constexpr double kMaxAttemptCostUsd = 10'000.0;
// What a sum of figures read back from the database may show at most: rows an old
// version wrote unclamped, or a very long history, never overflow a report.
inline constexpr double kMaxTokenSum = 1e18;
inline constexpr double kMaxCostSumUsd = 1e15;

// `usd` within [0, kMaxAttemptCostUsd]; NaN and negatives give 0, +inf the cap.
inline double clampAttemptCost(double usd) {
  if (!(usd > 0)) {
    return 0;
  }
  return usd < kMaxAttemptCostUsd ? usd : kMaxAttemptCostUsd;
}

// A sum read back from SQLite's total() (a double) within [0, cap]; NaN gives 0.
inline double clampSum(double v, double cap) {
  if (!(v > 0)) {
    return 0;
  }
  return v < cap ? v : cap;
}

}  // namespace llmq
