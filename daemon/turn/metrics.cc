// Metrics: counters, histograms and the text exposition.
#include "daemon/turn/metrics.h"

#include <cstdio>

#include "common/text.h"
#include "common/time.h"

namespace llmq::daemon {
namespace {

// A label value with \, " and newline escaped (exposition format 0.0.4).
std::string label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void header(std::string& o, const char* name, const char* type, const char* help) {
  o += "# HELP ";
  o += name;
  o += " ";
  o += help;
  o += "\n# TYPE ";
  o += name;
  o += " ";
  o += type;
  o += "\n";
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) {
    ++i;
  }
  ++counts_[i];
  sum_ += v;
  ++count_;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  const std::string before_le = labels.empty() ? "{le=\"" : "{" + labels + ",le=\"";
  const std::string own = labels.empty() ? " " : "{" + labels + "} ";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += name + "_bucket" + before_le + decimal(bounds_[i]) + "\"} " + std::to_string(cumulative) + "\n";
  }
  out += name + "_bucket" + before_le + "+Inf\"} " + std::to_string(count_) + "\n";
  out += name + "_sum" + own + decimal(sum_) + "\n";
  out += name + "_count" + own + std::to_string(count_) + "\n";
}

namespace {

std::vector<double> latencyBounds() { return {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}; }
std::vector<double> ttftBounds() { return {0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30}; }

}  // namespace

Metrics::Metrics()
    : latency_(latencyBounds()),
      ttft_(ttftBounds()),
      queue_wait_({0.001, 0.01, 0.1, 0.5, 1, 5, 30, 60, 300, 3600}) {}

void Metrics::upstreamRequest(const std::string& provider, const std::string& model, int status, double latency_s,
                              double ttft_s) {
  ++requests_[{provider, status}];
  auto it = timed_.find({provider, model});
  if (it == timed_.end()) {
    // Models are named by users (any mock/ name): past the bound, a provider's
    // further models share one series, so /metrics stays bounded.
    const std::string m = timed_.size() < kMaxTimedModels ? model : std::string(kOtherModels);
    it = timed_.try_emplace({provider, m}, Timings{Histogram(latencyBounds()), Histogram(ttftBounds())}).first;
  }
  for (Histogram* h : {&latency_, &it->second.latency}) {
    h->observe(latency_s);
  }
  if (ttft_s >= 0) {
    ttft_.observe(ttft_s);
    it->second.ttft.observe(ttft_s);
  }
}

void Metrics::tokens(const std::string& model, int64_t prompt, int64_t completion, double cost_usd) {
  auto it = models_.find(model);
  if (it == models_.end()) {
    // Any user may name any mock/ model: past kMaxModelSeries names the rest are
    // summed in one series, so /metrics and this map stay bounded.
    it = models_.size() < kMaxModelSeries ? models_.emplace(model, ModelFigures{}).first
                                          : models_.try_emplace(std::string(kOtherModels)).first;
  }
  ModelFigures& m = it->second;
  m.prompt += prompt;
  m.completion += completion;
  m.cost += cost_usd;
}

std::string Metrics::render(const Gauges& g) const {
  std::string o;
  header(o, "llmq_jobs", "gauge", "Jobs in the queue by state.");
  for (int i = 0; i < ipc::kJobStateCount; ++i) {
    o += "llmq_jobs{state=\"" + std::string(ipc::jobStateName(i)) + "\"} " +
         std::to_string(g.jobs[static_cast<size_t>(i)]) + "\n";
  }
  header(o, "llmq_inflight", "gauge", "Attempts running now.");
  o += "llmq_inflight " + std::to_string(g.inflight) + "\n";
  header(o, "llmq_max_inflight", "gauge", "The global in-flight cap.");
  o += "llmq_max_inflight " + std::to_string(g.max_inflight) + "\n";
  header(o, "llmq_jobs_finished_total", "counter", "Jobs that ended, by outcome.");
  for (const auto& [outcome, n] : finished_) {
    o += "llmq_jobs_finished_total{outcome=\"" + label(outcome) + "\"} " + std::to_string(n) + "\n";
  }
  header(o, "llmq_upstream_requests_total", "counter", "Attempts by provider and HTTP status (0: no HTTP answer).");
  for (const auto& [key, n] : requests_) {
    o += "llmq_upstream_requests_total{provider=\"" + label(key.first) + "\",status=\"" +
         std::to_string(key.second) + "\"} " + std::to_string(n) + "\n";
  }
  header(o, "llmq_attempt_duration_seconds", "histogram", "From an attempt's start to its end.");
  latency_.render(o, "llmq_attempt_duration_seconds");
  header(o, "llmq_time_to_first_token_seconds", "histogram", "From an attempt's start to its first token.");
  ttft_.render(o, "llmq_time_to_first_token_seconds");
  header(o, "llmq_model_attempt_duration_seconds", "histogram",
         "From an attempt's start to its end, by provider and model (bounded: further models share a series).");
  for (const auto& [key, t] : timed_) {
    t.latency.render(o, "llmq_model_attempt_duration_seconds",
                     "provider=\"" + label(key.first) + "\",model=\"" + label(key.second) + "\"");
  }
  header(o, "llmq_model_time_to_first_token_seconds", "histogram",
         "From an attempt's start to its first token, by provider and model (bounded as above).");
  for (const auto& [key, t] : timed_) {
    t.ttft.render(o, "llmq_model_time_to_first_token_seconds",
                  "provider=\"" + label(key.first) + "\",model=\"" + label(key.second) + "\"");
  }
  header(o, "llmq_queue_wait_seconds", "histogram", "From submit to the first attempt's start.");
  queue_wait_.render(o, "llmq_queue_wait_seconds");
  header(o, "llmq_tokens_total", "counter", "Tokens by model and kind.");
  for (const auto& [model, m] : models_) {
    o += "llmq_tokens_total{model=\"" + label(model) + "\",kind=\"prompt\"} " + std::to_string(m.prompt) + "\n";
    o += "llmq_tokens_total{model=\"" + label(model) + "\",kind=\"completion\"} " + std::to_string(m.completion) +
         "\n";
  }
  header(o, "llmq_cost_usd_total", "counter", "What the attempts cost, by model.");
  for (const auto& [model, m] : models_) {
    o += "llmq_cost_usd_total{model=\"" + label(model) + "\"} " + decimal(m.cost) + "\n";
  }
  header(o, "llmq_rate_limit_waits_total", "counter",
         "Times a job had to wait for a rate limit, cooldown or budget room.");
  o += "llmq_rate_limit_waits_total " + std::to_string(rate_limit_waits_) + "\n";
  header(o, "llmq_circuit_open", "gauge", "Circuit breakers that are not closed (1 open, 0.5 half-open).");
  for (const auto& [target, state] : g.circuits) {
    o += "llmq_circuit_open{target=\"" + label(target) + "\"} " + (state == "open" ? "1" : "0.5") + "\n";
  }
  header(o, "llmq_connections", "gauge", "Clients connected to the socket.");
  o += "llmq_connections " + std::to_string(g.connections) + "\n";
  header(o, "llmq_cache_lookups_total", "counter", "Response cache lookups, by result.");
  o += "llmq_cache_lookups_total{result=\"hit\"} " + std::to_string(g.cache_hits) + "\n";
  o += "llmq_cache_lookups_total{result=\"miss\"} " + std::to_string(g.cache_misses) + "\n";
  header(o, "llmq_cache_stored_bytes_total", "counter", "Bytes of answers stored in the response cache.");
  o += "llmq_cache_stored_bytes_total " + std::to_string(g.cache_stored_bytes) + "\n";
  header(o, "llmq_cache_entries", "gauge", "Response cache entries that have not expired.");
  o += "llmq_cache_entries " + std::to_string(g.cache_entries) + "\n";
  return o;
}

}  // namespace llmq::daemon
