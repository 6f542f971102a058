// job.cancel {job_id} -> job object. A running attempt is aborted at once; a
// queued, retry_wait or held job simply ends. An ended job is an invalid state.
#include "common/json_writer.h"
#include "common/time.h"
#include "daemon/api/handlers/handlers.h"
#include "daemon/engine.h"
#include "daemon/jobs/job_json.h"
#include "daemon/jobs/job_lifecycle.h"
#include "daemon/jobs/job_runner.h"
#include "daemon/turn/commit_cycle.h"
#include "ipc/protocol.h"
#include "store/job_record.h"

namespace llmq::daemon {

Result<store::JobRecord> cancelJob(Engine& s, store::JobRecord job, std::string_view reason) {
  if (auto w = s.cycle->write(); !w) {
    return w.takeError();
  }
  if (auto cancelled = s.runner->cancel(job.id, reason)) {
    return std::move(*cancelled);
  }
  if (s.runner->unsaved(job.id)) {
    // It has ended, but the disk was full when it did: the store still says
    // running until llmqd manages to write its outcome (commit_cycle.h).
    return makeError(ErrorKind::kStorageFull, "job " + ipc::formatJobId(job.id) +
                                                  " has ended, but its outcome is not stored yet (the "
                                                  "database is full); see job.get once there is room");
  }
  const store::JobState previous = job.state;
  job.state = store::JobState::kCancelled;
  job.finished_at = s.clock.nowMs();
  job.next_attempt_at.reset();
  job.error = store::JobError{"CANCELLED", std::string(reason), 0, "local"};
  std::string data;
  JsonWriter(data).beginObject().key("reason").string(reason).endObject();
  s.lifecycle->emit(job, parseTags(job.tags_json), ipc::EventKind::kCancelled, data, true);
  if (auto r = s.lifecycle->save(job, previous); !r) {
    return r.takeError();
  }
  s.lifecycle->answerWaiters(job);
  return job;
}

void handleJobCancel(Call& call) {
  auto job = loadJobParam(call);
  if (!job) {
    return;
  }
  Engine& s = call.s;
  if (store::isTerminal(job->state)) {
    call.reply.fail(ipc::rpc::kInvalidState, "job " + ipc::formatJobId(job->id) + " has already ended (" +
                                                 ipc::jobStateName(static_cast<int>(job->state)) + ")");
    return;
  }
  auto cancelled = cancelJob(s, std::move(*job), "cancelled by request");
  if (!cancelled) {
    replyStoreError(call, cancelled.error(), "cancelling the job");
    return;
  }
  call.reply.okAfterCommit(jobToJson(*cancelled));
}

}  // namespace llmq::daemon
