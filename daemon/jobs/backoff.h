// daemon backoff (docs/upstream.md): exponential backoff with full jitter. Retry number
// `attempt` (1-based) waits a uniform time in [0, min(cap, base * 2^(attempt-1))]:
// clients that failed together spread out instead of retrying in step.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>

namespace llmq::daemon {

inline int64_t backoffCeilingMs(int attempt, int64_t base_ms, int64_t cap_ms) {
  int64_t ceiling = base_ms;
  for (int i = 1; i < attempt && ceiling < cap_ms; ++i) {
    ceiling *= 2;
  }
  return std::min(ceiling, cap_ms);
}

template <class Rng>
int64_t backoffMs(int attempt, int64_t base_ms, int64_t cap_ms, Rng& rng) {
  std::uniform_int_distribution<int64_t> dist(0, backoffCeilingMs(attempt, base_ms, cap_ms));
  return dist(rng);
}

}  // namespace llmq::daemon
