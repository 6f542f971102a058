// events.subscribe {job_id | client | tag | all: true, events?} -> {subscription}
// events.unsubscribe {subscription} -> {}
// A subscriber that joins a running streamed job first gets the text so far as one
// message_chunk (ipc/PROTOCOL.md).
#include "daemon/policy/access.h"
#include "daemon/turn/event_bus.h"
#include "daemon/api/handlers/handlers.h"
#include "daemon/jobs/job_runner.h"
#include "daemon/engine.h"
#include "ipc/protocol.h"
#include "common/time.h"
#include "store/job_store.h"

namespace llmq::daemon {

void handleEventsSubscribe(Call& call) {
  ipc::Params p(call.params);
  p.allowOnly({"job_id", "client", "tag", "all", "events"});
  auto job_id = p.string("job_id", false, 64);
  auto client = p.string("client", false, ipc::kMaxNameBytes);
  auto tag = p.string("tag", false, ipc::kMaxNameBytes);
  auto all = p.boolean("all");
  uint32_t mask = ipc::kAllEvents;
  if (auto names = p.strings("events", ipc::kEventKindCount, 32)) {
    mask = 0;
    for (const std::string& n : *names) {
      ipc::EventKind kind;
      if (!ipc::parseEventName(n, &kind)) {
        p.fail("unknown event \"" + n + "\"");
        break;
      }
      mask |= 1u << static_cast<int>(kind);
    }
  }
  int scopes = (job_id ? 1 : 0) + (client ? 1 : 0) + (tag ? 1 : 0) + (all.value_or(false) ? 1 : 0);
  if (p.ok() && scopes != 1) {
    p.fail("give exactly one of \"job_id\", \"client\", \"tag\" or \"all\": true");
  }
  if (!p.ok()) {
    call.reply.fail(ipc::rpc::kInvalidParams, p.error());
    return;
  }
  Engine& s = call.s;
  if (std::string why = s.bus->refusal(call.conn_id); !why.empty()) {
    call.reply.fail(ipc::rpc::kOverloaded, std::move(why));
    return;
  }
  if (job_id) {
    int64_t id = 0;
    if (!ipc::parseJobId(*job_id, &id)) {
      call.reply.fail(ipc::rpc::kNotFound, "no job \"" + std::string(*job_id) + "\"");
      return;
    }
    auto job = s.jobs->get(id);
    if (!job) {
      replyStoreError(call, job.error(), "reading the job");
      return;
    }
    if (!job->has_value()) {
      call.reply.fail(ipc::rpc::kNotFound, "no job \"" + std::string(*job_id) + "\"");
      return;
    }
    if (!s.access->owns(call.peer, (**job).client)) {
      call.reply.fail(ipc::rpc::kPermissionDenied,
                      "job " + std::string(*job_id) + " belongs to another user", "PERMISSION_DENIED");
      return;
    }
    const char* state = ipc::jobStateName(static_cast<int>((**job).state));
    if (store::isTerminal((**job).state)) {
      // Nothing more will happen to it: no subscription, and the state says why.
      call.reply.ok(std::string("{\"subscription\":null,\"state\":\"") + state + "\"}");
      return;
    }
    uint64_t sub = s.bus->subscribe(call.conn_id, SubscriptionScope::kJob, std::string(*job_id), mask);
    call.reply.ok("{\"subscription\":\"" + EventBus::formatId(sub) + "\",\"state\":\"" + state + "\"}");
    s.runner->catchUp(sub, id, mask);
    return;
  }
  // Tags and `all` cross clients: only administrators watch those. Anyone may
  // watch their own client.
  if ((tag || all.value_or(false)) && !s.access->isAdmin(call.peer)) {
    call.reply.fail(ipc::rpc::kPermissionDenied,
                    s.access->denial(call.peer, "watch events by tag or of every job"), "PERMISSION_DENIED");
    return;
  }
  if (client && !s.access->owns(call.peer, *client)) {
    call.reply.fail(ipc::rpc::kPermissionDenied,
                    "client \"" + std::string(*client) + "\" is another user's", "PERMISSION_DENIED");
    return;
  }
  uint64_t sub;
  if (client) {
    sub = s.bus->subscribe(call.conn_id, SubscriptionScope::kClient, std::string(*client), mask);
  } else if (tag) {
    sub = s.bus->subscribe(call.conn_id, SubscriptionScope::kTag, std::string(*tag), mask);
  } else {
    sub = s.bus->subscribe(call.conn_id, SubscriptionScope::kAll, {}, mask);
  }
  call.reply.ok("{\"subscription\":\"" + EventBus::formatId(sub) + "\"}");
}

void handleEventsUnsubscribe(Call& call) {
  ipc::Params p(call.params);
  p.allowOnly({"subscription"});
  auto text = p.string("subscription", true, 32);
  if (!p.ok()) {
    call.reply.fail(ipc::rpc::kInvalidParams, p.error());
    return;
  }
  uint64_t id = 0;
  if (!EventBus::parseId(*text, &id) || !call.s.bus->unsubscribe(call.conn_id, id)) {
    call.reply.fail(ipc::rpc::kNotFound,
                    "no subscription \"" + std::string(*text) + "\" on this connection");
    return;
  }
  call.reply.ok("{}");
}

}  // namespace llmq::daemon
