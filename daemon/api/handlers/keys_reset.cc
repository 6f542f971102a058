// keys.reset {name?} -> {reset: [names]} and breakers.reset {target?} -> {reset:
// [targets]}, administrators only: a server key benched as exhausted or invalid
// goes back to ok (name or fingerprint; none: every key), and a circuit breaker
// closes (provider/model or model; none: every breaker), without a restart.
#include "common/json_writer.h"
#include "daemon/api/handlers/handlers.h"
#include "daemon/engine.h"
#include "daemon/jobs/scheduler.h"
#include "daemon/policy/circuit_breaker.h"
#include "daemon/policy/key_pool.h"
#include "ipc/protocol.h"

namespace llmq::daemon {
namespace {

std::string resetJson(const std::vector<std::string>& names) {
  std::string o;
  JsonWriter w(o);
  w.beginObject().key("reset").beginArray();
  for (const std::string& name : names) {
    w.string(name);
  }
  w.endArray().endObject();
  return o;
}

// Reads the one optional string param `field`; answers the error itself.
std::optional<std::string> nameParam(Call& call, const char* field) {
  ipc::Params p(call.params);
  p.allowOnly({field});
  auto name = p.string(field, false, 512);
  if (!p.ok()) {
    call.reply.fail(ipc::rpc::kInvalidParams, p.error());
    return std::nullopt;
  }
  return name ? std::string(*name) : std::string();
}

}  // namespace

void handleKeysReset(Call& call) {
  std::optional<std::string> name = nameParam(call, "name");
  if (!name) {
    return;
  }
  auto reset = call.s.keys->reset(*name);
  if (!reset) {
    call.reply.fail(ipc::rpc::kNotFound, "no server key is named \"" + *name + "\" (see `llmq keys`)");
    return;
  }
  call.s.scheduler->kick();
  call.reply.ok(resetJson(*reset));
}

void handleBreakersReset(Call& call) {
  std::optional<std::string> target = nameParam(call, "target");
  if (!target) {
    return;
  }
  auto reset = call.s.circuits->reset(*target);
  if (!reset) {
    call.reply.fail(ipc::rpc::kNotFound,
                    "no circuit breaker is open or counting failures for \"" + *target + "\" (see `llmq status`)");
    return;
  }
  call.s.scheduler->kick();
  call.reply.ok(resetJson(*reset));
}

}  // namespace llmq::daemon
