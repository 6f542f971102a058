// daemon::planRetry: what becomes of a job whose attempt failed, decided from
// plain facts (docs/upstream.md, "Retries" and "Fallbacks"). Pure: the runner
// gathers the facts, applies the plan, and does the bookkeeping around it
// (cooldowns, keys set aside, events). Unit-tested on its own, table-driven
// (tests/unit/daemon/jobs/retry_plan_test.cc).
#pragma once

#include <cstdint>
#include <optional>

namespace llmq::daemon {

struct RetryFacts {
  bool retryable = false;   // The failure says another attempt may succeed.
  int upstream_status = 0;  // 0: no HTTP answer.
  int run_attempts = 0;     // Attempts of this model in this run, this one included.
  int max_attempts = 1;
  bool shutting_down = false;
  // An exhausted or invalid server key was set aside and another key is alive:
  // the job moves on to it at once, without spending an attempt.
  bool next_key = false;
  int64_t backoff_ms = 0;      // The backoff this retry would wait (full jitter).
  int64_t retry_after_ms = 0;  // The upstream's Retry-After (already bounded); a floor.
  int64_t now_ms = 0;
  std::optional<int64_t> deadline_at;  // The job's deadline, if any.
  bool has_next_model = false;         // The chain has a model after this one.
};

struct RetryPlan {
  enum Kind {
    kFail,      // The job fails now.
    kRetry,     // The same model again after delay_ms.
    kNextKey,   // The same model at once, with the next server key.
    kFallback,  // The chain's next model at once, with a fresh set of attempts.
  };
  Kind kind = kFail;
  int64_t delay_ms = 0;
};

// - A retryable failure with attempts left retries after the larger of the
//   backoff and Retry-After; a key set aside moves on at once.
// - Not when llmqd is shutting down, or when the wait would reach the deadline.
// - Otherwise, when the chain has a next model and the failure is retryable (its
//   attempts are spent) or a 404 (no such model), the next model goes at once,
//   unless llmqd is shutting down or the deadline has passed.
// - Else the job fails.
RetryPlan planRetry(const RetryFacts& f);

}  // namespace llmq::daemon
