// What the ledger says about how models perform, for every store backend: one
// attempt as a sample (AttemptSample), and a day's figures of one provider and
// model (DailyModelFigures). Plain data; daemon/policy/model_stats.h turns
// them into percentiles and rates.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace llmq::store {

// One attempt that reached an upstream (never a cache answer), as the ledger
// recorded it when it ended.
struct AttemptSample {
  std::string provider;
  std::string model;
  bool succeeded = false;
  std::optional<int64_t> latency_ms;  // Start to end; unset for an old row.
  std::optional<int64_t> ttft_ms;     // Start to first token; unset when none came.
  int64_t tokens = 0;                 // Prompt plus completion.
  double cost_usd = 0;
};

// A UTC day's attempts of one provider and model.
struct DailyModelFigures {
  std::string day;  // "2026-11-24".
  std::string provider;
  std::string model;
  int64_t requests = 0;
  int64_t successes = 0;
  std::optional<double> mean_latency_ms;  // Over the attempts that have one.
  std::optional<double> mean_ttft_ms;
  int64_t tokens = 0;
  double cost_usd = 0;
};

}  // namespace llmq::store
