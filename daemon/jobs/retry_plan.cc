// planRetry: retries first, then the fallback, then failure.
#include "daemon/jobs/retry_plan.h"

#include <algorithm>

namespace llmq::daemon {

RetryPlan planRetry(const RetryFacts& f) {
  const auto past = [&f](int64_t at) { return f.deadline_at && at >= *f.deadline_at; };
  if (!f.shutting_down && (f.next_key || (f.retryable && f.run_attempts < f.max_attempts))) {
    const RetryPlan plan = f.next_key ? RetryPlan{RetryPlan::kNextKey, 0}
                                      : RetryPlan{RetryPlan::kRetry, std::max(f.backoff_ms, f.retry_after_ms)};
    if (!past(f.now_ms + plan.delay_ms)) {
      return plan;
    }
  }
  if (!f.shutting_down && f.has_next_model && (f.retryable || f.upstream_status == 404) && !past(f.now_ms)) {
    return RetryPlan{RetryPlan::kFallback, 0};
  }
  return RetryPlan{RetryPlan::kFail, 0};
}

}  // namespace llmq::daemon
