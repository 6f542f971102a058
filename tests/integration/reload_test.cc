// Integration: SIGHUP reloads the configuration while llmqd runs: a raised rate
// limit lets waiting jobs go at once, without dropping the connection or a job;
// a bad file keeps the configuration in force and says where it is wrong.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/daemon_process.h"
#include "tests/support/fake_upstream_process.h"
#include "tests/support/rpc.h"
#include "tests/support/temp_dir.h"

namespace llmq::testing {
namespace {

constexpr char kQuiet[] = "[catalog]\nrefresh_at_start = false\nrefresh_s = 0\n[openrouter]\ncredit_check_s = 0\n";

std::string limitConfig(int rps) {
  return std::string(kQuiet) + "[[limits.model]]\nmatch = \"mock/*\"\nrps = " + std::to_string(rps) + "\n";
}

// The mock/* rule's `field` (rps, rpm) as daemon.status shows it; -1 when absent.
int64_t ruleField(ipc::Client& client, const char* field) {
  json::Document st = callOk(client, "daemon.status", "{}");
  for (const auto& r : st["limits"]["rules"].GetArray()) {
    if (std::string(r["match"].GetString()) == "mock/*") {
      return r.HasMember(field) && r[field].IsInt64() ? r[field].GetInt64() : -1;
    }
  }
  return -1;
}

int64_t rulesRps(ipc::Client& client) { return ruleField(client, "rps"); }

TEST(ReloadTest, SighupChangesARateLimitLive) {
  TempDir dir;
  // One a minute: under the old limit the eighth job would start seven minutes
  // from now, far past waitTerminal's deadline, so a limit that did not change
  // fails the test whatever the machine's speed (it used to time the run: < 4 s).
  DaemonProcess daemon(dir.path(),
                       {.config_toml = std::string(kQuiet) + "[[limits.model]]\nmatch = \"mock/*\"\nrpm = 1\n"});
  ASSERT_TRUE(daemon.start());
  auto client = daemon.connect();
  EXPECT_EQ(1, ruleField(*client, "rpm"));
  std::vector<std::string> ids;
  ids.reserve(8);
  for (int i = 0; i < 8; ++i) {
    ids.push_back(submit(*client, "mock/reload", "", R"("max_tokens":2)"));
  }
  ASSERT_EQ("succeeded", waitTerminal(*client, ids[0]));
  // One a minute so far. Raise the limit.
  json::Document last = callOk(*client, "job.get", "{\"job_id\":\"" + ids.back() + "\"}");
  ASSERT_STREQ("queued", last["state"].GetString()) << "the limit holds the rest";
  std::ofstream(dir.file("llmqd.toml")) << limitConfig(100);
  ASSERT_EQ(0, ::kill(daemon.pid(), SIGHUP));
  ASSERT_TRUE(daemon.waitForLog("configuration reloaded", 0, 60000));
  for (const std::string& id : ids) {
    EXPECT_EQ("succeeded", waitTerminal(*client, id, 60000)) << "the raised limit did not apply";
  }
  EXPECT_EQ(100, rulesRps(*client)) << "the same connection, the new rule";
}

std::string providerConfig(const std::string& base_url) {
  return std::string(kQuiet) + "[[providers]]\nname = \"local\"\nbase_url = \"" + base_url +
         "\"\nmodels = [\"local/*\"]\n";
}

TEST(ReloadTest, SighupSwitchesAProviderWithoutDroppingWhatRuns) {
  FakeUpstream first;
  FakeUpstream second;
  ASSERT_TRUE(first.start());
  ASSERT_TRUE(second.start());
  TempDir dir;
  DaemonProcess daemon(dir.path(), {.config_toml = providerConfig(first.baseUrl())});
  ASSERT_TRUE(daemon.start());
  auto client = daemon.connect();
  // One job in flight on the first upstream while the config changes.
  const std::string slow = submit(*client, "local/fault-delay-800", "", R"("max_tokens":2)");
  ASSERT_TRUE(first.waitForRequests(1, 60000));
  std::ofstream(dir.file("llmqd.toml")) << providerConfig(second.baseUrl());
  ASSERT_EQ(0, ::kill(daemon.pid(), SIGHUP));
  ASSERT_TRUE(daemon.waitForLog("providers now: local (" + second.baseUrl() + ")", 0, 60000));
  const std::string next = submit(*client, "local/ok", "", R"("max_tokens":2)");
  EXPECT_EQ("succeeded", waitTerminal(*client, next));
  EXPECT_EQ("succeeded", waitTerminal(*client, slow)) << "the running job finished where it started";
  EXPECT_EQ(1u, first.stats().total);
  EXPECT_EQ(1u, second.stats().total);
  EXPECT_EQ(std::string::npos, daemon.log().find("a restart is needed")) << daemon.log();
}

std::string chainConfig(const std::string& models) {
  return std::string(kQuiet) + "[retry]\nbase_ms = 5\ncap_ms = 10\n[chains]\nsturdy = [" + models + "]\n";
}

// The models a job tries are decided at submit: a queued job keeps the chain it
// was acknowledged with across a SIGHUP that changes it; a job submitted after
// the reload gets the new one.
TEST(ReloadTest, AQueuedJobKeepsTheChainItWasAcknowledgedWith) {
  TempDir dir;
  DaemonProcess daemon(dir.path(), {.config_toml = chainConfig(R"("mock/fail-500", "mock/echo")")});
  ASSERT_TRUE(daemon.start());
  auto client = daemon.connect();
  callOk(*client, "queue.pause", "{}");
  const std::string before = submit(*client, "chain:sturdy", R"("max_attempts":1)", R"("max_tokens":2)");
  std::ofstream(dir.file("llmqd.toml")) << chainConfig(R"("mock/fail-400")");
  ASSERT_EQ(0, ::kill(daemon.pid(), SIGHUP));
  ASSERT_TRUE(daemon.waitForLog("configuration reloaded", 0, 60000));
  const std::string after = submit(*client, "chain:sturdy", R"("max_attempts":1)", R"("max_tokens":2)");
  callOk(*client, "queue.resume", "{}");
  ASSERT_EQ("succeeded", waitTerminal(*client, before));
  json::Document j = callOk(*client, "job.get", "{\"job_id\":\"" + before + "\"}");
  EXPECT_STREQ("mock/echo", j["model_used"].GetString());
  ASSERT_TRUE(j["routing"].IsObject());
  EXPECT_EQ(2u, j["routing"]["models"].Size());
  EXPECT_EQ("failed", waitTerminal(*client, after)) << "the new chain: mock/fail-400 alone";
}

TEST(ReloadTest, ABadFileKeepsTheConfigurationInForce) {
  TempDir dir;
  DaemonProcess daemon(dir.path(), {.config_toml = limitConfig(7)});
  ASSERT_TRUE(daemon.start());
  auto client = daemon.connect();
  std::ofstream(dir.file("llmqd.toml")) << limitConfig(9) << "[daemon]\nmax_infligth = 3\n";
  ASSERT_EQ(0, ::kill(daemon.pid(), SIGHUP));
  ASSERT_TRUE(daemon.waitForLog("the configuration in force stays", 0, 60000));
  EXPECT_NE(std::string::npos, daemon.log().find("llmqd.toml:10: unknown key \"daemon.max_infligth\""))
      << daemon.log();
  EXPECT_EQ(7, rulesRps(*client));
  EXPECT_EQ("succeeded", waitTerminal(*client, submit(*client, "mock/still-here")));
  // A change only a restart applies is named, not half-done.
  std::ofstream(dir.file("llmqd.toml")) << limitConfig(7) << "[http]\nconnect_timeout_ms = 1234\n";
  ASSERT_EQ(0, ::kill(daemon.pid(), SIGHUP));
  ASSERT_TRUE(daemon.waitForLog("a restart is needed to change [http]", 0, 60000));
}

}  // namespace
}  // namespace llmq::testing
