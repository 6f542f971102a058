// Tests for daemon/turn/metrics: the figures kept per model, and the timings by
// provider and model, are bounded.
#include "daemon/turn/metrics.h"

#include <gtest/gtest.h>

#include <string>

namespace llmq::daemon {
namespace {

// Any user may run mock/<anything>: past kMaxModelSeries models the rest share
// one series, so the map (and /metrics) does not grow with the names.
TEST(MetricsTest, ModelSeriesAreBoundedWhateverModelsAreNamed) {
  Metrics m;
  for (int i = 0; i < 20000; ++i) {
    m.tokens("mock/m" + std::to_string(i), 1, 1, 0.0);
  }
  EXPECT_EQ(Metrics::kMaxModelSeries + 1, m.modelSeries());
  m.tokens("mock/m0", 1, 1, 0.0);  // A model it already has keeps its own series.
  EXPECT_EQ(Metrics::kMaxModelSeries + 1, m.modelSeries());
}

// The timings by provider and model are bounded the same way: past
// kMaxTimedModels pairs, a provider's further models share one series.
TEST(MetricsTest, TimingsByProviderAndModelAreBoundedAndLabelled) {
  Metrics m;
  for (int i = 0; i < 20000; ++i) {
    m.upstreamRequest("mock", "mock/m" + std::to_string(i), 200, 0.2, 0.05);
  }
  EXPECT_EQ(Metrics::kMaxTimedModels + 1, m.timedModels());
  m.upstreamRequest("openrouter", "x/y", 200, 3, -1);  // Another provider past the bound.
  const std::string page = m.render(Metrics::Gauges{});
  EXPECT_NE(
      std::string::npos,
      page.find("llmq_model_attempt_duration_seconds_bucket{provider=\"mock\",model=\"mock/m0\",le=\"0.25\"} 1\n"))
      << page.substr(0, 2000);
  EXPECT_NE(std::string::npos,
            page.find("llmq_model_attempt_duration_seconds_count{provider=\"mock\",model=\"(other "
                      "models)\"} " +
                      std::to_string(20000 - Metrics::kMaxTimedModels)));
  EXPECT_NE(std::string::npos, page.find("llmq_model_attempt_duration_seconds_sum{provider=\"openrouter\",model="
                                         "\"(other models)\"} 3\n"));
  // The unlabelled histograms count every attempt.
  EXPECT_NE(std::string::npos, page.find("llmq_attempt_duration_seconds_count 20001\n"));

  // Label values are escaped; an attempt without a first token counts no TTFT.
  Metrics q;
  q.upstreamRequest("openrouter", "x/\"quoted\"", 200, 3, -1);
  const std::string one = q.render(Metrics::Gauges{});
  EXPECT_NE(
      std::string::npos,
      one.find("llmq_model_attempt_duration_seconds_sum{provider=\"openrouter\",model=\"x/\\\"quoted\\\"\"} 3\n"))
      << one;
  EXPECT_NE(
      std::string::npos,
      one.find(
          "llmq_model_time_to_first_token_seconds_count{provider=\"openrouter\",model=\"x/\\\"quoted\\\"\"} 0\n"));
}

}  // namespace
}  // namespace llmq::daemon
