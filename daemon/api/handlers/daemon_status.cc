// daemon.status -> version, pid, uptime, queue counts by state, in-flight work,
// pause state, connections, subscriptions, database size, and the storage state
// (failed commits, job outcomes waiting for room: daemon/turn/commit_cycle.h).
#include <sys/stat.h>
#include <unistd.h>

#include "common/json.h"
#include "common/time.h"
#include "daemon/policy/access.h"
#include "daemon/policy/circuit_breaker.h"
#include "daemon/turn/commit_cycle.h"
#include "daemon/config.h"
#include "daemon/turn/event_bus.h"
#include "daemon/api/handlers/handlers.h"
#include "daemon/jobs/job_lifecycle.h"
#include "daemon/jobs/job_runner.h"
#include "daemon/jobs/scheduler.h"
#include "daemon/policy/rate_limiter.h"
#include "daemon/engine.h"
#include "ipc/protocol.h"
#include "ipc/server.h"
#include "llmq/version.h"
#include "store/database.h"

namespace llmq::daemon {
namespace {

int64_t fileSize(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
}

}  // namespace

void handleDaemonStatus(Call& call) {
  ipc::Params p(call.params);
  p.allowOnly({});
  if (!p.ok()) {
    call.reply.fail(ipc::rpc::kInvalidParams, p.error());
    return;
  }
  Engine& s = call.s;
  const int64_t now = s.clock.nowMs();
  std::string o = "{\"version\":\"";
  o += kVersion;
  o += "\",\"protocol_version\":" + std::to_string(kProtocolVersion);
  o += ",\"pid\":" + std::to_string(::getpid());
  o += ",\"started_at\":\"" + rfc3339(s.run.started_at_ms) + "\"";
  o += ",\"uptime_s\":" + std::to_string((now - s.run.started_at_ms) / 1000);
  o += ",\"socket\":";
  json::appendString(o, s.config.socket_path);
  o += ",\"db_path\":";
  json::appendString(o, s.db.path());
  o += ",\"db_size_bytes\":" +
       std::to_string(fileSize(s.db.path()) + fileSize(s.db.path() + "-wal"));
  o += ",\"storage\":{\"failed_commits\":" + std::to_string(s.cycle->failedCommits()) +
       ",\"unsaved_outcomes\":" + std::to_string(s.cycle->kept()) + "}";
  o += ",\"queue\":{";
  const auto& counts = s.lifecycle->counts();
  for (int i = 0; i < ipc::kJobStateCount; ++i) {
    if (i > 0) {
      o += ",";
    }
    o += "\"" + std::string(ipc::jobStateName(i)) + "\":" + std::to_string(counts[static_cast<size_t>(i)]);
  }
  o += "},\"in_flight\":" + std::to_string(s.runner->inflight());
  o += ",\"max_inflight\":" + std::to_string(s.config.max_inflight);
  // Anyone but an administrator sees only its own paused clients, and the
  // limits of models, not of the server's keys.
  const bool admin = s.access->isAdmin(call.peer);
  o += ",\"queue_state\":" +
       (admin ? s.scheduler->stateJson()
              : s.scheduler->stateJson([&](const std::string& c) { return s.access->owns(call.peer, c); }));
  const int64_t mono = s.clock.monoMs();  // Breakers and limits keep time on it.
  o += ",\"circuits\":" + s.circuits->statusJson(mono, now);
  o += ",\"limits\":" + s.limits->statusJson(mono, now, /*include_keys=*/admin);
  o += ",\"connections\":" + std::to_string(s.server->connectionCount());
  o += ",\"output_pending_bytes\":" + std::to_string(s.server->pendingOutputTotal());
  o += ",\"subscriptions\":" + std::to_string(s.bus->subscriptionCount());
  o += ",\"shutting_down\":";
  o += s.run.shutting_down ? "true" : "false";
  o += "}";
  call.reply.ok(std::move(o));
}

}  // namespace llmq::daemon
