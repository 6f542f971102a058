// queue.pause / queue.resume {client?} -> {paused, paused_clients}. Pausing stops
// dispatch (running jobs go on) and is remembered across restarts. Jobs in a paused
// queue stay `queued`: pausing a million jobs must not rewrite a million rows.
#include "daemon/access.h"
#include "daemon/handlers/handlers.h"
#include "daemon/scheduler.h"
#include "daemon/services.h"
#include "ipc/protocol.h"

namespace llmq::daemon {
namespace {

void pauseOrResume(Call& call, bool pause) {
  ipc::Params p(call.params);
  p.allowOnly({"client"});
  auto client = p.string("client", false, ipc::kMaxNameBytes);
  if (!p.ok()) {
    call.reply.fail(ipc::rpc::kInvalidParams, p.error());
    return;
  }
  std::string name = client ? std::string(*client) : std::string();
  // The whole queue, or another user's client, is an administrator's to pause.
  if (!call.s.access->isAdmin(call.peer) && (name.empty() || !call.s.access->owns(call.peer, name))) {
    call.reply.fail(ipc::rpc::kPermissionDenied,
                    call.s.access->denial(call.peer, name.empty() ? "pause or resume the whole queue"
                                                                  : "pause or resume another user's client"),
                    "PERMISSION_DENIED");
    return;
  }
  auto r = pause ? call.s.scheduler->pause(name) : call.s.scheduler->resume(name);
  if (!r) {
    replyStoreError(call, r.error(), pause ? "pausing the queue" : "resuming the queue");
    return;
  }
  call.reply.okAfterCommit(call.s.scheduler->stateJson());
}

}  // namespace

void handleQueuePause(Call& call) { pauseOrResume(call, true); }
void handleQueueResume(Call& call) { pauseOrResume(call, false); }

}  // namespace llmq::daemon
