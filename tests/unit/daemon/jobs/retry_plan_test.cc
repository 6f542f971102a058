// Tests for daemon/jobs/retry_plan: what a failed attempt leads to, one row per
// case: retries with backoff and Retry-After, the next key, the deadline, the
// shutdown, and fallbacks along the chain.
#include "daemon/jobs/retry_plan.h"

#include <gtest/gtest.h>

namespace llmq::daemon {
namespace {

RetryFacts facts() {
  RetryFacts f;
  f.retryable = true;
  f.upstream_status = 503;
  f.run_attempts = 1;
  f.max_attempts = 4;
  f.backoff_ms = 300;
  f.now_ms = 1'000'000;
  return f;
}

TEST(RetryPlanTest, EachCaseLeadsWhereTheDocsSay) {
  struct Row {
    const char* what;
    RetryFacts f;
    RetryPlan::Kind kind;
    int64_t delay_ms;
  };
  auto with = [](auto change) {
    RetryFacts f = facts();
    change(f);
    return f;
  };
  const Row rows[] = {
      {"a retryable failure with attempts left waits its backoff", facts(), RetryPlan::kRetry, 300},
      {"Retry-After is a floor under the backoff", with([](RetryFacts& f) { f.retry_after_ms = 2000; }),
       RetryPlan::kRetry, 2000},
      {"a backoff above Retry-After stays", with([](RetryFacts& f) { f.retry_after_ms = 100; }), RetryPlan::kRetry,
       300},
      {"attempts spent, no next model: fail", with([](RetryFacts& f) { f.run_attempts = 4; }), RetryPlan::kFail, 0},
      {"attempts spent, a next model: fall back at once", with([](RetryFacts& f) {
         f.run_attempts = 4;
         f.has_next_model = true;
       }),
       RetryPlan::kFallback, 0},
      {"not retryable: fail", with([](RetryFacts& f) {
         f.retryable = false;
         f.upstream_status = 400;
       }),
       RetryPlan::kFail, 0},
      {"not retryable, a next model: a 400 would fail on every model", with([](RetryFacts& f) {
         f.retryable = false;
         f.upstream_status = 400;
         f.has_next_model = true;
       }),
       RetryPlan::kFail, 0},
      {"a 404 (no such model) falls back at once", with([](RetryFacts& f) {
         f.retryable = false;
         f.upstream_status = 404;
         f.has_next_model = true;
       }),
       RetryPlan::kFallback, 0},
      {"a key set aside moves on at once, retryable or not", with([](RetryFacts& f) {
         f.retryable = false;
         f.next_key = true;
         f.retry_after_ms = 5000;
       }),
       RetryPlan::kNextKey, 0},
      {"a retry that would reach the deadline does not happen",
       with([](RetryFacts& f) { f.deadline_at = f.now_ms + 300; }), RetryPlan::kFail, 0},
      {"... but the next model goes, while the deadline has not passed", with([](RetryFacts& f) {
         f.deadline_at = f.now_ms + 300;
         f.has_next_model = true;
       }),
       RetryPlan::kFallback, 0},
      {"a deadline just passed: nothing goes", with([](RetryFacts& f) {
         f.deadline_at = f.now_ms;
         f.has_next_model = true;
         f.next_key = true;
       }),
       RetryPlan::kFail, 0},
      {"a retry before the deadline goes", with([](RetryFacts& f) { f.deadline_at = f.now_ms + 301; }),
       RetryPlan::kRetry, 300},
      {"shutting down: nothing more starts", with([](RetryFacts& f) {
         f.shutting_down = true;
         f.has_next_model = true;
         f.next_key = true;
       }),
       RetryPlan::kFail, 0},
  };
  for (const Row& row : rows) {
    const RetryPlan plan = planRetry(row.f);
    EXPECT_EQ(row.kind, plan.kind) << row.what;
    EXPECT_EQ(row.delay_ms, plan.delay_ms) << row.what;
  }
}

}  // namespace
}  // namespace llmq::daemon
