// daemon::ModelTally: how each provider and model performed, from the ledger's
// attempt samples (store/model_figures.h): requests, successes and their rate,
// latency and time to first token at p50, p95 and p99 (nearest rank), tokens,
// cost, and cost per 1,000 tokens. models.stats feeds it the samples of its
// window. Pure, and bounded by what it is fed: the caller caps the samples.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/model_figures.h"

namespace llmq::daemon {

struct Percentiles {
  int64_t p50 = 0;
  int64_t p95 = 0;
  int64_t p99 = 0;
};

// Nearest-rank percentiles of `values` (sorted here); nullopt when empty.
std::optional<Percentiles> percentilesOf(std::vector<int64_t> values);

// USD per 1,000 tokens; nullopt without tokens.
std::optional<double> usdPer1kTokens(double cost_usd, int64_t tokens);

struct ModelPerformance {
  std::string provider;
  std::string model;
  int64_t requests = 0;
  int64_t successes = 0;
  std::optional<Percentiles> latency_ms;  // Over the attempts that recorded one.
  std::optional<Percentiles> ttft_ms;     // Over the attempts whose first token came.
  int64_t tokens = 0;
  double cost_usd = 0;

  double successRate() const {
    return requests > 0 ? static_cast<double>(successes) / static_cast<double>(requests) : 0;
  }
};

class ModelTally {
 public:
  void add(const store::AttemptSample& sample);
  // One entry per provider and model, in that order.
  std::vector<ModelPerformance> result() const;
  int64_t samples() const { return samples_; }

 private:
  struct Figures {
    int64_t requests = 0;
    int64_t successes = 0;
    std::vector<int64_t> latencies;
    std::vector<int64_t> ttfts;
    int64_t tokens = 0;
    double cost_usd = 0;
  };
  std::map<std::pair<std::string, std::string>, Figures> by_model_;
  int64_t samples_ = 0;
};

}  // namespace llmq::daemon
