// ModelTally: samples grouped by provider and model, percentiles by sorting
// each group's values once when the result is taken.
#include "daemon/policy/model_stats.h"

#include <algorithm>
#include <cmath>

#include "common/usage_bounds.h"

namespace llmq::daemon {

std::optional<Percentiles> percentilesOf(std::vector<int64_t> values) {
  if (values.empty()) {
    return std::nullopt;
  }
  std::sort(values.begin(), values.end());
  // Nearest rank: the smallest value with at least p% of the values at or below it.
  const auto rank = [&](double p) {
    const auto n = static_cast<double>(values.size());
    const auto r = static_cast<size_t>(std::ceil(p / 100.0 * n));
    return values[std::clamp<size_t>(r, 1, values.size()) - 1];
  };
  return Percentiles{rank(50), rank(95), rank(99)};
}

std::optional<double> usdPer1kTokens(double cost_usd, int64_t tokens) {
  if (tokens <= 0) {
    return std::nullopt;
  }
  return cost_usd * 1000.0 / static_cast<double>(tokens);
}

void ModelTally::add(const store::AttemptSample& s) {
  Figures& f = by_model_[{s.provider, s.model}];
  ++samples_;
  ++f.requests;
  f.successes += s.succeeded ? 1 : 0;
  if (s.latency_ms) {
    f.latencies.push_back(*s.latency_ms);
  }
  if (s.ttft_ms) {
    f.ttfts.push_back(*s.ttft_ms);
  }
  f.tokens =
      static_cast<int64_t>(clampSum(static_cast<double>(f.tokens) + static_cast<double>(s.tokens), kMaxTokenSum));
  f.cost_usd = clampSum(f.cost_usd + s.cost_usd, kMaxCostSumUsd);
}

std::vector<ModelPerformance> ModelTally::result() const {
  std::vector<ModelPerformance> out;
  out.reserve(by_model_.size());
  for (const auto& [key, f] : by_model_) {
    ModelPerformance m;
    m.provider = key.first;
    m.model = key.second;
    m.requests = f.requests;
    m.successes = f.successes;
    m.latency_ms = percentilesOf(f.latencies);
    m.ttft_ms = percentilesOf(f.ttfts);
    m.tokens = f.tokens;
    m.cost_usd = f.cost_usd;
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace llmq::daemon
