// queue.pause / queue.resume {client?} -> {paused, paused_clients}. Pausing stops
// dispatch (running jobs go on) and is remembered across restarts. Jobs in a paused
// queue stay `queued`: pausing a million jobs must not rewrite a million rows.
#include "daemon/api/handlers/handlers.h"
#include "daemon/engine.h"
#include "daemon/jobs/scheduler.h"
#include "daemon/policy/access.h"
#include "ipc/protocol.h"

namespace llmq::daemon {
namespace {

constexpr size_t kMaxPausedClientsPerUser = 256;

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
  const bool admin = call.s.access->isAdmin(call.peer);
  auto mine = [&](const std::string& c) { return call.s.access->owns(call.peer, c); };
  // Paused clients are kept (and stored) by name, and a user may name as many
  // clients as it likes: a user pauses at most kMaxPausedClientsPerUser.
  if (pause && !admin && !call.s.scheduler->pausedClients().contains(name)) {
    size_t held = 0;
    for (const std::string& c : call.s.scheduler->pausedClients()) {
      held += mine(c) ? 1 : 0;
    }
    if (held >= kMaxPausedClientsPerUser) {
      call.reply.fail(
          ipc::rpc::kOverloaded,
          "you have " + std::to_string(held) + " paused clients, the most a user may have; " + "resume one first");
      return;
    }
  }
  auto r = pause ? call.s.scheduler->pause(name) : call.s.scheduler->resume(name);
  if (!r) {
    replyStoreError(call, r.error(), pause ? "pausing the queue" : "resuming the queue");
    return;
  }
  // Anyone but an administrator sees only its own paused clients, as in daemon.status.
  call.reply.okAfterCommit(admin ? call.s.scheduler->stateJson() : call.s.scheduler->stateJson(mine));
}

}  // namespace

void handleQueuePause(Call& call) { pauseOrResume(call, true); }
void handleQueueResume(Call& call) { pauseOrResume(call, false); }

}  // namespace llmq::daemon
