// keys.status -> {key_source, has_server_key, pool}: which key a job without its own
// (BYOK) key would use, and the health of each server key, by fingerprint only.
#include "common/time.h"
#include "daemon/handlers/handlers.h"
#include "daemon/key_pool.h"
#include "daemon/rate_limiter.h"
#include "daemon/services.h"
#include "ipc/protocol.h"

namespace llmq::daemon {

void handleKeysStatus(Call& call) {
  ipc::Params p(call.params);
  p.allowOnly({});
  if (!p.ok()) {
    call.reply.fail(ipc::rpc::kInvalidParams, p.error());
    return;
  }
  const KeyPool& keys = *call.s.keys;
  std::string o = "{\"key_source\":\"";
  o += keys.empty() ? "none" : "server";
  o += "\",\"has_server_key\":";
  o += keys.empty() ? "false" : "true";
  const int64_t now = call.s.clock->nowMs();
  RateLimiter& limits = *call.s.limits;
  o += ",\"pool\":" + keys.statusJson(now, [&](const PooledKey& k) {
    return limits.cooldownUntil(LimitScope::kKey, k.name, now);
  }) + "}";
  call.reply.ok(std::move(o));
}

}  // namespace llmq::daemon
