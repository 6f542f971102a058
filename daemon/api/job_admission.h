// daemon::admitJob: the one implementation of what a submit must pass to become
// a job, whoever submits. The socket's job.submit handler parses its JSON-RPC
// params into an ipc::SubmitParams and calls it; the HTTP front builds the same
// struct from an HTTP request (its parsed body, its headers) and calls it
// directly, without a JSON-RPC frame. Either way the same rules run, in the same
// order: the request (no key twice, a Responses request that can run), the
// first model (aliases, routes, chains; its provider and key), the caller
// (max_user_priority, shutdown, the bounds on waits and subscriptions), the
// idempotency key (per owner), [quota] and `reject` budgets; then the job is
// stored in the turn's transaction and acknowledged once it commits.
//
// Loop thread only.
#pragma once

#include "daemon/api/handlers/handlers.h"
#include "ipc/protocol.h"

namespace llmq::daemon {

// Admits the submit `p` (already through ipc::checkSubmitParams) from
// `call.peer` on `call.conn_id`, and answers `call.reply` exactly once: an error,
// the acknowledgement (with its subscription when p.subscribe), or with p.wait
// the job once it ends. `call.params` is not read. `p.request` must stay valid
// for the call only: the job keeps its own copy.
void admitJob(Call& call, const ipc::SubmitParams& p);

}  // namespace llmq::daemon
