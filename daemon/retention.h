// daemon::Retention: finished jobs keep their request and result bodies for
// `[retention] finished_jobs_days` (default 30), then lose them: the job row,
// its state, usage, cost and error code stay, and so does the ledger, so reports
// and budgets are unchanged. Every `check_s` it prunes in batches, one batch per
// loop turn, so a large backlog never holds the loop. A pruned job cannot be
// retried (its request is gone). Loop thread only.
#pragma once

#include <uv.h>

#include "common/uv_handle.h"

namespace llmq::daemon {

struct Services;

class Retention {
 public:
  static constexpr int64_t kBatch = 500;

  explicit Retention(Services& services);
  void init();
  void close();

 private:
  void prune();
  void arm(uint64_t delay_ms);
  static void onUvTimer(uv_timer_t* t) noexcept;

  Services& s_;
  UvHandlePtr<uv_timer_t> timer_;
};

}  // namespace llmq::daemon
