// Integration: the Prometheus endpoint. llmqd with [metrics] listen on a loopback
// port answers GET /metrics in the text exposition format with what it did, 404
// for anything else, and refuses to listen beyond loopback.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "tests/support/daemon_process.h"
#include "tests/support/fake_upstream_process.h"
#include "tests/support/rpc.h"
#include "tests/support/temp_dir.h"

namespace llmq::testing {
namespace {

TEST(MetricsTest, ScrapeShowsWhatTheDaemonDid) {
  TempDir dir;
  DaemonProcess daemon(dir.path(), {.config_toml = "[metrics]\nlisten = \"127.0.0.1:0\"\n"
                                                   "[retry]\nbase_ms = 1\ncap_ms = 2\n"});
  ASSERT_TRUE(daemon.start());
  const int port = daemon.metricsPort();
  ASSERT_GT(port, 0) << daemon.log();
  auto client = daemon.connect();
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ("succeeded", waitTerminal(*client, submit(*client, "mock/metrics")));
  }
  ASSERT_EQ("failed", waitTerminal(*client, submit(*client, "mock/fail-500", R"("max_attempts":2)")));

  HttpConnection c;
  ASSERT_TRUE(c.connect(port));
  HttpResponse r = c.request("GET", "/metrics");
  ASSERT_EQ(200, r.status);
  EXPECT_NE(std::string::npos, r.header("content-type").find("version=0.0.4"));
  const std::string& m = r.body;
  EXPECT_NE(std::string::npos, m.find("# TYPE llmq_jobs gauge")) << m;
  EXPECT_NE(std::string::npos, m.find("llmq_jobs{state=\"succeeded\"} 3\n")) << m;
  EXPECT_NE(std::string::npos, m.find("llmq_jobs_finished_total{outcome=\"succeeded\"} 3\n")) << m;
  EXPECT_NE(std::string::npos, m.find("llmq_jobs_finished_total{outcome=\"failed\"} 1\n")) << m;
  EXPECT_NE(std::string::npos, m.find("llmq_upstream_requests_total{provider=\"mock\",status=\"200\"} 3\n")) << m;
  EXPECT_NE(std::string::npos, m.find("llmq_upstream_requests_total{provider=\"mock\",status=\"500\"} 2\n")) << m;
  EXPECT_NE(std::string::npos, m.find("llmq_attempt_duration_seconds_count 5\n")) << m;
  EXPECT_NE(std::string::npos, m.find("llmq_queue_wait_seconds_count 4\n")) << m;
  EXPECT_NE(std::string::npos, m.find("llmq_tokens_total{model=\"mock/metrics\",kind=\"completion\"}")) << m;
  EXPECT_NE(std::string::npos, m.find("llmq_cost_usd_total{model=\"mock/metrics\"}")) << m;
  EXPECT_NE(std::string::npos, m.find("llmq_attempt_duration_seconds_bucket{le=\"+Inf\"} 5\n")) << m;

  HttpConnection other;
  ASSERT_TRUE(other.connect(port));
  EXPECT_EQ(404, other.request("GET", "/").status);
}

TEST(MetricsTest, OnlyLoopbackAddresses) {
  TempDir dir;
  DaemonProcess daemon(dir.path(), {.config_toml = "[metrics]\nlisten = \"0.0.0.0:9464\"\n"});
  EXPECT_FALSE(daemon.start());
  EXPECT_NE(std::string::npos, daemon.log().find("loopback")) << daemon.log();
}

}  // namespace
}  // namespace llmq::testing
