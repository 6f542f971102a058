// job.submit: its params read and checked (ipc/protocol.h), then admitted by
// the one admission code the HTTP front uses too (daemon/api/job_admission.h).
#include "daemon/api/handlers/handlers.h"
#include "daemon/api/job_admission.h"
#include "ipc/protocol.h"

namespace llmq::daemon {

void handleJobSubmit(Call& call) {
  ipc::SubmitParams p;
  std::string error;
  if (!ipc::parseSubmitParams(call.params, &p, &error)) {
    call.reply.fail(ipc::rpc::kInvalidParams, error);
    return;
  }
  admitJob(call, p);
}

}  // namespace llmq::daemon
