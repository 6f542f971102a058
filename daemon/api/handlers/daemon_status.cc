// daemon.status -> version, pid, uptime, queue counts by state, in-flight work,
// pause state, connections, subscriptions, database size, the storage state
// (failed commits, job outcomes waiting for room: daemon/turn/commit_cycle.h),
// and the response cache's figures.
#include <sys/stat.h>
#include <unistd.h>

#include "common/json_writer.h"
#include "common/time.h"
#include "daemon/api/handlers/handlers.h"
#include "daemon/config.h"
#include "daemon/engine.h"
#include "daemon/jobs/job_lifecycle.h"
#include "daemon/jobs/job_runner.h"
#include "daemon/jobs/scheduler.h"
#include "daemon/policy/access.h"
#include "daemon/policy/circuit_breaker.h"
#include "daemon/policy/rate_limiter.h"
#include "daemon/policy/response_cache.h"
#include "daemon/turn/commit_cycle.h"
#include "daemon/turn/event_bus.h"
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

// The response cache: its settings, the entries that have not expired, and
// what it did since llmqd started. hit_rate is null before the first lookup.
void writeCacheStatus(JsonWriter& w, Engine& s, int64_t now) {
  const ResponseCache::Stats& st = s.cache->stats();
  const uint64_t lookups = st.hits + st.misses;
  w.key("cache").beginObject();
  w.key("enabled").boolean(s.config.cache_enabled);
  w.key("ttl_s").int64(s.config.cache_ttl_ms / 1000);
  w.key("entries").int64(s.cache->liveEntries(now));
  w.key("hits").uint64(st.hits);
  w.key("misses").uint64(st.misses);
  if (lookups == 0) {
    w.key("hit_rate").null();
  } else {
    w.key("hit_rate").roundTrip(static_cast<double>(st.hits) / static_cast<double>(lookups));
  }
  w.key("stored").uint64(st.stored);
  w.key("stored_bytes").uint64(st.stored_bytes);
  w.endObject();
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
  std::string o;
  JsonWriter w(o);
  w.beginObject();
  w.key("version").string(kVersion);
  w.key("protocol_version").int64(kProtocolVersion);
  w.key("pid").int64(::getpid());
  w.key("started_at").string(rfc3339(s.run.started_at_ms));
  w.key("uptime_s").int64((now - s.run.started_at_ms) / 1000);
  w.key("socket").string(s.config.socket_path);
  w.key("db_path").string(s.db.path());
  w.key("db_size_bytes").int64(fileSize(s.db.path()) + fileSize(s.db.path() + "-wal"));
  w.key("storage").beginObject();
  w.key("failed_commits").uint64(s.cycle->failedCommits());
  w.key("unsaved_outcomes").uint64(s.cycle->kept());
  w.endObject();
  w.key("queue").beginObject();
  const auto& counts = s.lifecycle->counts();
  for (int i = 0; i < ipc::kJobStateCount; ++i) {
    w.key(ipc::jobStateName(i)).int64(counts[static_cast<size_t>(i)]);
  }
  w.endObject();
  w.key("in_flight").uint64(s.runner->inflight());
  w.key("max_inflight").int64(s.config.max_inflight);
  // Anyone but an administrator sees only its own paused clients, and the
  // limits of models, not of the server's keys.
  const bool admin = s.access->isAdmin(call.peer);
  w.key("queue_state").raw(admin ? s.scheduler->stateJson() : s.scheduler->stateJson([&](const std::string& c) {
    return s.access->owns(call.peer, c);
  }));
  const int64_t mono = s.clock.monoMs();  // Breakers and limits keep time on it.
  w.key("circuits").raw(s.circuits->statusJson(mono, now));
  w.key("limits").raw(s.limits->statusJson(mono, now, /*include_keys=*/admin));
  w.key("connections").uint64(s.server->connectionCount());
  w.key("output_pending_bytes").uint64(s.server->pendingOutputTotal());
  w.key("subscriptions").uint64(s.bus->subscriptionCount());
  writeCacheStatus(w, s, now);
  w.key("shutting_down").boolean(s.run.shutting_down);
  w.endObject();
  call.reply.ok(std::move(o));
}

}  // namespace llmq::daemon
