// daemon::metricsPage: the Prometheus text of a scrape, for both places that
// serve it (the HTTP front's GET /metrics and [metrics] listen): the counters of
// daemon/turn/metrics.h with the gauges read from the engine now.
#pragma once

#include <string>

namespace llmq::daemon {

struct Engine;

std::string metricsPage(const Engine& s);

}  // namespace llmq::daemon
