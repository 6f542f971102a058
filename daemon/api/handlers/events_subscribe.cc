// events.subscribe {job_id | client | tag | all: true, events?} -> {subscription}
// events.unsubscribe {subscription} -> {}
// A subscriber that joins a running streamed job first gets the text so far as one
// message_chunk (ipc/PROTOCOL.md).
#include "common/json_writer.h"
#include "common/time.h"
#include "daemon/api/handlers/handlers.h"
#include "daemon/engine.h"
#include "daemon/jobs/job_runner.h"
#include "daemon/policy/access.h"
#include "daemon/turn/event_bus.h"
#include "ipc/protocol.h"
#include "store/store.h"

namespace llmq::daemon {

namespace {

// The answer to a subscribe: the subscription's id (null when there is none),
// and the job's state when one job was asked for.
std::string subscribed(std::optional<uint64_t> sub, const char* state) {
  std::string o;
  JsonWriter w(o);
  w.beginObject().key("subscription");
  if (sub) {
    w.string(EventBus::formatId(*sub));
  } else {
    w.null();
  }
  if (state != nullptr) {
    w.key("state").string(state);
  }
  w.endObject();
  return o;
}

// The kinds of event asked for ("events"; all when absent); a bad name fails `p`.
uint32_t readEventMask(ipc::Params& p) {
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
  return mask;
}

// Subscribes to one job the caller owns, and catches the subscriber up on a
// running stream; a job that has ended gets no subscription, only its state.
void subscribeToJob(Call& call, std::string_view job_id, uint32_t mask) {
  Engine& s = call.s;
  int64_t id = 0;
  if (!ipc::parseJobId(job_id, &id)) {
    call.reply.fail(ipc::rpc::kNotFound, "no job \"" + std::string(job_id) + "\"");
    return;
  }
  auto job = s.store->getJob(id);
  if (!job) {
    replyStoreError(call, job.error(), "reading the job");
    return;
  }
  if (!job->has_value()) {
    call.reply.fail(ipc::rpc::kNotFound, "no job \"" + std::string(job_id) + "\"");
    return;
  }
  if (!s.access->owns(call.peer, (**job).client)) {
    call.reply.fail(ipc::rpc::kPermissionDenied, "job " + std::string(job_id) + " belongs to another user",
                    "PERMISSION_DENIED");
    return;
  }
  const char* state = ipc::jobStateName(static_cast<int>((**job).state));
  if (store::isTerminal((**job).state)) {
    // Nothing more will happen to it: no subscription, and the state says why.
    call.reply.ok(subscribed(std::nullopt, state));
    return;
  }
  uint64_t sub = s.bus->subscribe(call.conn_id, SubscriptionScope::kJob, std::string(job_id), mask);
  call.reply.ok(subscribed(sub, state));
  s.runner->catchUp(sub, id, mask);
}

// Subscribes to a client's jobs, a tag's or every job. Tags and `all` cross
// clients: only administrators watch those. Anyone may watch their own client.
void subscribeToScope(Call& call, std::optional<std::string_view> client, std::optional<std::string_view> tag,
                      bool all, uint32_t mask) {
  Engine& s = call.s;
  if ((tag || all) && !s.access->isAdmin(call.peer)) {
    call.reply.fail(ipc::rpc::kPermissionDenied, s.access->denial(call.peer, "watch events by tag or of every job"),
                    "PERMISSION_DENIED");
    return;
  }
  if (client && !s.access->owns(call.peer, *client)) {
    call.reply.fail(ipc::rpc::kPermissionDenied, "client \"" + std::string(*client) + "\" is another user's",
                    "PERMISSION_DENIED");
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
  call.reply.ok(subscribed(sub, nullptr));
}

}  // namespace

void handleEventsSubscribe(Call& call) {
  ipc::Params p(call.params);
  p.allowOnly({"job_id", "client", "tag", "all", "events"});
  auto job_id = p.string("job_id", false, 64);
  auto client = p.string("client", false, ipc::kMaxNameBytes);
  auto tag = p.string("tag", false, ipc::kMaxNameBytes);
  auto all = p.boolean("all");
  const uint32_t mask = readEventMask(p);
  int scopes = (job_id ? 1 : 0) + (client ? 1 : 0) + (tag ? 1 : 0) + (all.value_or(false) ? 1 : 0);
  if (p.ok() && scopes != 1) {
    p.fail("give exactly one of \"job_id\", \"client\", \"tag\" or \"all\": true");
  }
  if (!p.ok()) {
    call.reply.fail(ipc::rpc::kInvalidParams, p.error());
    return;
  }
  if (std::string why = call.s.bus->refusal(call.conn_id); !why.empty()) {
    call.reply.fail(ipc::rpc::kOverloaded, std::move(why));
    return;
  }
  if (job_id) {
    subscribeToJob(call, *job_id, mask);
  } else {
    subscribeToScope(call, client, tag, all.value_or(false), mask);
  }
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
    call.reply.fail(ipc::rpc::kNotFound, "no subscription \"" + std::string(*text) + "\" on this connection");
    return;
  }
  call.reply.ok("{}");
}

}  // namespace llmq::daemon
