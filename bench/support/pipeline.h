// The benchmark client: one ipc::Client connection pipelining job.submit calls
// with at most `window` requests outstanding. It refills the window with one
// write, then reads every answer already available before writing again, so the
// client costs a few syscalls per window rather than per request. The same code
// drives llmqd and the echo responder, so their ratio isolates the daemon.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "bench/support/workload.h"
#include "common/result.h"
#include "ipc/client.h"

namespace llmq::bench {

struct PipelineOptions {
  int64_t jobs = 100000;
  int64_t window = 256;
  Workload workload;
  // No answer for this long fails the run (the loop is always bounded).
  int stall_timeout_ms = 30000;
};

struct PipelineResult {
  double started_at = 0;  // nowSeconds() just before the first request was written.
  double seconds = 0;     // From the first write to the last answer.
  int64_t acked = 0;
  double perSecond() const { return seconds > 0 ? static_cast<double>(acked) / seconds : 0; }
};

// Submits opts.jobs jobs and waits for every answer. Any error answer, a
// notification on this connection, or a stall fails the whole run. `on_ack`, when
// set, sees every successful answer line.
Result<PipelineResult> pipelineSubmits(ipc::Client& client, const PipelineOptions& opts,
                                       const std::function<void(std::string_view)>& on_ack = {});

}  // namespace llmq::bench
