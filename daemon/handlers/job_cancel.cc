// job.cancel {job_id} -> job object. A running attempt is aborted at once; a
// queued, retry_wait or held job simply ends. An ended job is an invalid state.
#include "common/time.h"
#include "daemon/commit_cycle.h"
#include "daemon/handlers/handlers.h"
#include "daemon/job_json.h"
#include "daemon/job_lifecycle.h"
#include "daemon/job_runner.h"
#include "daemon/services.h"
#include "ipc/protocol.h"
#include "store/job_store.h"

namespace llmq::daemon {

void handleJobCancel(Call& call) {
  auto job = loadJobParam(call);
  if (!job) {
    return;
  }
  Services& s = call.s;
  if (store::isTerminal(job->state)) {
    call.reply.fail(ipc::rpc::kInvalidState,
                    "job " + ipc::formatJobId(job->id) + " has already ended (" +
                        ipc::jobStateName(static_cast<int>(job->state)) + ")");
    return;
  }
  if (auto w = s.cycle->write(); !w) {
    replyStoreError(call, w.error(), "starting a transaction");
    return;
  }
  if (auto cancelled = s.runner->cancel(job->id)) {
    call.reply.okAfterCommit(jobToJson(*cancelled));
    return;
  }
  const store::JobState previous = job->state;
  job->state = store::JobState::kCancelled;
  job->finished_at = s.clock->nowMs();
  job->next_attempt_at.reset();
  job->error = store::JobError{"CANCELLED", "cancelled by request", 0, "local"};
  s.lifecycle->emit(*job, parseTags(job->tags_json), ipc::EventKind::kCancelled,
                    "{\"reason\":\"cancelled by request\"}", true);
  if (auto r = s.lifecycle->save(*job, previous); !r) {
    replyStoreError(call, r.error(), "cancelling the job");
    return;
  }
  s.lifecycle->settle(*job);
  call.reply.okAfterCommit(jobToJson(*job));
}

}  // namespace llmq::daemon
