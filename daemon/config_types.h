// The settings the configuration hands to the policies: the circuit breakers'
// thresholds ([circuit]), the rate-limit rules ([limits]) and the prefixes that
// make a model name a reference to [chains] or [[routes]]. They live here, beside
// daemon/config.h, so that the config (read by every wing) includes no wing; the
// policy classes include this file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace llmq::daemon {

// [circuit]: a breaker per provider and model (daemon/policy/circuit_breaker.h).
struct CircuitOptions {
  int failures = 5;
  int64_t window_ms = 30000;
  int64_t cooldown_ms = 30000;
  bool operator==(const CircuitOptions&) const = default;
};

// [[limits.key]] and [[limits.model]] (daemon/policy/rate_limiter.h).
enum class LimitScope { kKey, kModel };

inline const char* limitScopeName(LimitScope scope) { return scope == LimitScope::kKey ? "key" : "model"; }

struct LimitRule {
  LimitScope scope = LimitScope::kModel;
  std::string match;  // Wildcard pattern over subjects.
  int64_t rpm = 0;    // 0: no limit.
  int64_t rps = 0;
  int64_t tpm = 0;
  int64_t concurrency = 0;
};

struct LimitOptions {
  std::vector<LimitRule> rules;
  int64_t guard_ms = 20;
};

// [openrouter] key_strategy: which ready key of the server's pool takes the next
// request (daemon/policy/key_pool.h).
enum class KeyStrategy {
  kRoundRobin,  // Each key in turn.
  kFillFirst,   // The first key in order that is ready: the others only when it is not.
  kLeastUsed,   // The key that took the fewest requests.
  kRandom,      // A key drawn uniformly.
  kTwoChoices,  // Two keys drawn; the healthier (fewer errors per request), then the less used.
};

// `model = "chain:NAME"` runs the [chains] entry NAME.
inline constexpr std::string_view kChainPrefix = "chain:";
// `request.model = "route:NAME"` is the same as `route: "NAME"`, for clients that
// must put something in `model` (OpenAI SDKs).
inline constexpr std::string_view kRoutePrefix = "route:";

}  // namespace llmq::daemon
