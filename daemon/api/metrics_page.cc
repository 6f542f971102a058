// The gauges of a scrape, read from the parts that hold them.
#include "daemon/api/metrics_page.h"

#include "common/time.h"
#include "daemon/config.h"
#include "daemon/engine.h"
#include "daemon/jobs/job_lifecycle.h"
#include "daemon/jobs/job_runner.h"
#include "daemon/policy/circuit_breaker.h"
#include "daemon/policy/response_cache.h"
#include "daemon/turn/metrics.h"
#include "ipc/server.h"

namespace llmq::daemon {

std::string metricsPage(const Engine& s) {
  Metrics::Gauges g;
  g.jobs = s.lifecycle->counts();
  g.inflight = s.runner->inflight();
  g.max_inflight = s.config.max_inflight;
  g.circuits = s.circuits->states(s.clock.monoMs());
  g.connections = s.server->connectionCount();
  const ResponseCache::Stats& cache = s.cache->stats();
  g.cache_hits = cache.hits;
  g.cache_misses = cache.misses;
  g.cache_stored_bytes = cache.stored_bytes;
  g.cache_entries = s.cache->liveEntries(s.clock.nowMs());
  return s.metrics->render(g);
}

}  // namespace llmq::daemon
