// keys.status {job_id?} -> {key_source, has_server_key, pool}: which key a job
// uses (without job_id: a job without its own key; with it: that job, `user` when
// it brought its own key), and the health of each server key, by fingerprint only.
#include "common/json_writer.h"
#include "common/time.h"
#include "daemon/api/handlers/handlers.h"
#include "daemon/engine.h"
#include "daemon/policy/access.h"
#include "daemon/policy/key_pool.h"
#include "daemon/policy/model_chain.h"
#include "daemon/policy/rate_limiter.h"
#include "ipc/protocol.h"

namespace llmq::daemon {

void handleKeysStatus(Call& call) {
  const KeyPool& keys = *call.s.keys;
  const char* source = keys.empty() ? "none" : "server";
  if (call.params != nullptr && call.params->IsObject() && json::member(*call.params, "job_id") != nullptr) {
    std::optional<store::JobRecord> job = loadJobParam(call);  // Answers the error itself.
    if (!job) {
      return;
    }
    if (job->options.byok) {
      source = "user";
    }
  } else {
    ipc::Params p(call.params);
    p.allowOnly({});
    if (!p.ok()) {
      call.reply.fail(ipc::rpc::kInvalidParams, p.error());
      return;
    }
  }
  std::string o;
  JsonWriter w(o);
  w.beginObject().key("key_source").string(source).key("has_server_key").boolean(!keys.empty());
  w.key("pool");
  if (!call.s.access->isAdmin(call.peer)) {
    // The pool (names, fingerprints, health) is the administrators' business.
    w.beginArray().endArray().endObject();
    call.reply.ok(std::move(o));
    return;
  }
  // Cooldowns are on the monotonic clock: shown as wall time, now plus what remains.
  const int64_t now = call.s.clock.nowMs();
  const int64_t mono = call.s.clock.monoMs();
  RateLimiter& limits = *call.s.limits;
  w.raw(keys.statusJson(now, [&](const PooledKey& k) {
    const int64_t until = limits.cooldownUntil(LimitScope::kKey, k.name, mono);
    return until > mono ? now + (until - mono) : 0;
  }));
  w.endObject();
  call.reply.ok(std::move(o));
}

}  // namespace llmq::daemon
