// daemon::metricsPage: the Prometheus text of a scrape, for both places that
// serve it (the HTTP front's GET /metrics and [metrics] listen): the counters of
// daemon/turn/metrics.h with the gauges read from the engine now.
#pragma once

#include <string>

namespace llmq::daemon {

struct Services;
class Metrics;

std::string metricsPage(const Services& s, const Metrics& metrics);

}  // namespace llmq::daemon
