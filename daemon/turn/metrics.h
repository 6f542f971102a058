// daemon::Metrics: what llmqd counts for Prometheus: jobs
// by state (gauge), jobs finished by outcome, upstream requests by provider and
// status, attempt latency, time to first token and queue wait (histograms; the
// first two also by provider and model, for a bounded set of models),
// tokens and cost by model, rate-limit waits, circuit breakers that are not
// closed, requests in flight. Rendered in the text exposition format (0.0.4) by
// MetricsServer. Counting is a few map lookups on the loop thread, off the
// per-chunk path. Loop thread only.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ipc/protocol.h"

namespace llmq::daemon {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  // Appends NAME_bucket{le=...}, NAME_sum and NAME_count lines; `labels`
  // (`a="x",b="y"`, escaped), when given, go into each.
  void render(std::string& out, const std::string& name, const std::string& labels = {}) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // Per bucket, not cumulative; the last is +Inf.
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();

  void jobFinished(const std::string& outcome) { ++finished_[outcome]; }
  // One attempt the upstream answered (status 0: no HTTP answer at all); a
  // negative ttft_s: no first token. Its timings also go into the histograms of
  // its provider and model, for at most kMaxTimedModels pairs; a provider's
  // further models share its series model="(other models)".
  void upstreamRequest(const std::string& provider, const std::string& model, int status, double latency_s,
                       double ttft_s);
  static constexpr size_t kMaxTimedModels = 50;
  size_t timedModels() const { return timed_.size(); }
  // Per model, for at most kMaxModelSeries models; the figures of any further
  // model are added to the series model="(other models)".
  void tokens(const std::string& model, int64_t prompt, int64_t completion, double cost_usd);
  static constexpr size_t kMaxModelSeries = 1000;
  static constexpr const char* kOtherModels = "(other models)";
  size_t modelSeries() const { return models_.size(); }
  void queueWait(double seconds) { queue_wait_.observe(seconds); }
  void rateLimitWait() { ++rate_limit_waits_; }

  // What the engine holds at the time of a scrape, read by the caller
  // (daemon/api/metrics_page.h), so that the counters depend on no part they count.
  struct Gauges {
    std::array<int64_t, ipc::kJobStateCount> jobs{};  // By state, in ipc::kJobStateNames order.
    size_t inflight = 0;
    int64_t max_inflight = 0;
    std::vector<std::pair<std::string, std::string>> circuits;  // Breakers not closed: target, state.
    size_t connections = 0;                                     // Socket clients.
    // The response cache (daemon/policy/response_cache.h): since llmqd started,
    // and the entries that have not expired.
    uint64_t cache_hits = 0;
    uint64_t cache_misses = 0;
    uint64_t cache_stored_bytes = 0;
    int64_t cache_entries = 0;
  };
  // The whole exposition: these counters and `gauges`.
  std::string render(const Gauges& gauges) const;

 private:
  struct ModelFigures {
    int64_t prompt = 0;
    int64_t completion = 0;
    double cost = 0;
  };
  std::map<std::string, uint64_t> finished_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::string, ModelFigures> models_;
  Histogram latency_;
  Histogram ttft_;
  struct Timings {
    Histogram latency;
    Histogram ttft;
  };
  std::map<std::pair<std::string, std::string>, Timings> timed_;  // By provider and model.
  Histogram queue_wait_;
  uint64_t rate_limit_waits_ = 0;
};

}  // namespace llmq::daemon
