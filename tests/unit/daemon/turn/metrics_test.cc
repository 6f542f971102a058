// Tests for daemon/turn/metrics: the figures kept per model are bounded.
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

}  // namespace
}  // namespace llmq::daemon
