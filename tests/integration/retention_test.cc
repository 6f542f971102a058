// Integration: retention. Finished jobs lose their request and result bodies
// after [retention] finished_jobs_days; their rows, usage and the ledger stay,
// and a pruned job cannot be retried.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/daemon_process.h"
#include "tests/support/rpc.h"
#include "tests/support/temp_dir.h"

namespace llmq::testing {
namespace {

TEST(RetentionTest, OldFinishedJobsLoseTheirBodiesButNotTheirAccounts) {
  TempDir dir;
  // 0.00001 days is 864 ms; look every 100 ms.
  DaemonProcess daemon(dir.path(), {.config_toml = "[retention]\nfinished_jobs_days = 0.00001\ncheck_s = 0.1\n"});
  ASSERT_TRUE(daemon.start());
  auto client = daemon.connect();
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(submit(*client, "mock/old"));
  }
  std::string failed = submit(*client, "mock/fail-400");
  for (const std::string& id : ids) {
    ASSERT_EQ("succeeded", waitTerminal(*client, id));
  }
  ASSERT_EQ("failed", waitTerminal(*client, failed));
  json::Document fresh = callOk(*client, "job.get", "{\"job_id\":\"" + ids[0] + "\"}");
  ASSERT_TRUE(fresh["result"].IsObject()) << "not pruned yet";
  const double cost = fresh["usage"]["cost_usd"].GetDouble();

  json::Document old;
  for (int waited = 0; waited < 5000; waited += 50) {
    old = callOk(*client, "job.get", "{\"job_id\":\"" + ids[0] + "\"}");
    if (old.HasMember("pruned")) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(old.HasMember("pruned")) << json::toString(old);
  EXPECT_TRUE(old["result"].IsNull());
  EXPECT_STREQ("succeeded", old["state"].GetString());
  EXPECT_EQ(cost, old["usage"]["cost_usd"].GetDouble()) << "the account stays";
  json::Document report = callOk(*client, "usage.report", "{}");
  EXPECT_EQ(4, report["totals"]["requests"].GetInt()) << "the ledger stays";
  // A pruned failed job cannot be retried: its request is gone.
  for (int waited = 0; waited < 5000; waited += 50) {
    if (callOk(*client, "job.get", "{\"job_id\":\"" + failed + "\"}").HasMember("pruned")) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::string message;
  EXPECT_EQ(-32004, callError(*client, "job.retry", "{\"job_id\":\"" + failed + "\"}", &message));
  EXPECT_NE(std::string::npos, message.find("pruned")) << message;
  // New jobs run as ever.
  EXPECT_EQ("succeeded", waitTerminal(*client, submit(*client, "mock/new")));
}

}  // namespace
}  // namespace llmq::testing
