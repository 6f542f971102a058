// job.retry {job_id} -> job object, queued again with a fresh set of attempts.
// Only failed, cancelled and expired jobs can be retried.
#include "common/time.h"
#include "daemon/api/handlers/handlers.h"
#include "daemon/engine.h"
#include "daemon/jobs/job_json.h"
#include "daemon/jobs/job_lifecycle.h"
#include "daemon/jobs/scheduler.h"
#include "daemon/policy/model_chain.h"
#include "daemon/policy/user_quota.h"
#include "daemon/turn/commit_cycle.h"
#include "ipc/protocol.h"
#include "store/job_record.h"

namespace llmq::daemon {

void handleJobRetry(Call& call) {
  auto job = loadJobParam(call);
  if (!job) {
    return;
  }
  Engine& s = call.s;
  const store::JobState previous = job->state;
  if (previous != store::JobState::kFailed && previous != store::JobState::kCancelled &&
      previous != store::JobState::kExpired) {
    call.reply.fail(ipc::rpc::kInvalidState, "job " + ipc::formatJobId(job->id) + " is " +
                                                 ipc::jobStateName(static_cast<int>(previous)) +
                                                 "; only failed, cancelled or expired jobs can be retried");
    return;
  }
  if (job->options.byok) {
    call.reply.fail(ipc::rpc::kInvalidState,
                    "job " + ipc::formatJobId(job->id) +
                        " ran with its own API key, which was erased when it ended; submit it "
                        "again with api_key");
    return;
  }
  if (job->request_json.empty()) {
    call.reply.fail(ipc::rpc::kInvalidState,
                    "job " + ipc::formatJobId(job->id) +
                        " finished too long ago: its request was pruned ([retention]); submit it again");
    return;
  }
  if (auto w = s.cycle->write(); !w) {
    replyStoreError(call, w.error(), "starting a transaction");
    return;
  }
  const int64_t dropped = static_cast<int64_t>(job->result_json.size() + job->error.detail_json.size());
  job->state = store::JobState::kQueued;
  job->run_attempts = 0;
  job->finished_at.reset();
  job->next_attempt_at.reset();
  job->result_json.clear();
  job->error = {};
  job->usage.reset();
  if (job->deadline_at && *job->deadline_at <= s.clock.nowMs()) {
    job->deadline_at.reset();  // A retried job gets a new chance; its old deadline is gone.
  }
  s.lifecycle->emit(*job, parseTags(job->tags_json), ipc::EventKind::kQueued,
                    "{\"priority\":" + std::to_string(job->priority) + "}");
  if (auto r = s.lifecycle->save(*job, previous); !r) {
    replyStoreError(call, r.error(), "queueing the job again");
    return;
  }
  s.quota->noteFreed(job->client, dropped);
  s.scheduler->kick();
  call.reply.okAfterCommit(jobToJson(*job));
}

}  // namespace llmq::daemon
