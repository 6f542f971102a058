// models.stats (daemon/api/handlers/models_stats.cc), on a real engine
// (tests/support/engine_fixture.h) with a scripted upstream: the window's
// figures per provider and model (requests, success rate, timings, tokens,
// cost), the days, the bounds on its params, and that it is for
// administrators.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "tests/support/engine_fixture.h"

namespace llmq::daemon {
namespace {

using llmq::testing::ScriptedProvider;
using store::JobState;

class ModelsStatsTest : public llmq::testing::EngineTest {};

TEST_F(ModelsStatsTest, TheWindowAndTheDaysShowEachModelsFigures) {
  start();
  const uint64_t root = admin();
  upstream_->push(ScriptedProvider::costs(0.5));
  upstream_->push(ScriptedProvider::fails("UPSTREAM_ERROR", 500, false));
  const std::string ok = submit(root, "test/a", ",\"max_attempts\":1");
  ASSERT_TRUE(reaches(ok, JobState::kSucceeded));
  const std::string bad = submit(root, "test/a", ",\"max_attempts\":1");
  ASSERT_TRUE(reaches(bad, JobState::kFailed));

  const std::string a = call(root, "models.stats");
  ASSERT_FALSE(isError(a)) << a;
  EXPECT_EQ("\"scripted\"", field(a, "result.window.models.0.provider")) << a;
  EXPECT_EQ("\"test/a\"", field(a, "result.window.models.0.model")) << a;
  EXPECT_EQ(2, number(a, "result.window.models.0.requests")) << a;
  EXPECT_EQ(1, number(a, "result.window.models.0.successes")) << a;
  EXPECT_DOUBLE_EQ(0.5, number(a, "result.window.models.0.success_rate")) << a;
  EXPECT_DOUBLE_EQ(0.5, number(a, "result.window.models.0.cost_usd")) << a;
  const double tokens = number(a, "result.window.models.0.tokens");
  EXPECT_GT(tokens, 0) << a;
  EXPECT_NEAR(0.5 * 1000 / tokens, number(a, "result.window.models.0.usd_per_1k_tokens"), 1e-6) << a;
  EXPECT_LE(0, number(a, "result.window.models.0.latency_ms.p50")) << a;
  EXPECT_LE(number(a, "result.window.models.0.latency_ms.p50"), number(a, "result.window.models.0.latency_ms.p99"));
  EXPECT_EQ(2, number(a, "result.window.samples")) << a;
  EXPECT_EQ("true", field(a, "result.window.complete")) << a;
  EXPECT_EQ(2, number(a, "result.days.0.requests")) << a;
  EXPECT_EQ("true", field(a, "result.days_complete")) << a;

  // At most `samples` of the newest attempts are read; the answer says so.
  const std::string one = call(root, "models.stats", R"({"samples":1,"days":0})");
  EXPECT_EQ(1, number(one, "result.window.models.0.requests")) << one;
  EXPECT_EQ("false", field(one, "result.window.complete")) << one;
  EXPECT_EQ("[]", field(one, "result.days")) << one;
}

TEST_F(ModelsStatsTest, ItsParamsAreBoundedAndItIsForAdministrators) {
  start();
  const uint64_t root = admin();
  for (const char* params : {R"({"window_s":0})", R"({"window_s":2592001})", R"({"days":32})", R"({"samples":0})",
                             R"({"samples":100001})", R"({"window":1})"}) {
    EXPECT_EQ(-32602, errorCode(call(root, "models.stats", params))) << params;
  }
  const std::string empty = call(root, "models.stats");
  EXPECT_EQ("[]", field(empty, "result.window.models")) << empty;
  EXPECT_EQ(-32003, errorCode(call(connect(4242, "mallory"), "models.stats")));
}

}  // namespace
}  // namespace llmq::daemon
