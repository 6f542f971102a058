// Integration: the llmq CLI against a real llmqd: streaming, waiting, stdin
// prompts, listing, cancel/retry, pause/resume, --json, and its exit codes.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "common/json.h"
#include "tests/support/daemon_process.h"
#include "tests/support/rpc.h"
#include "tests/support/temp_dir.h"

namespace llmq::testing {
namespace {

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<DaemonProcess>(
        dir_.path(), DaemonOptions{.config_toml = "[retry]\nbase_ms = 10\ncap_ms = 20\n"
                                                  "[mock]\nchunk_delay_ms = 2\nfirst_chunk_delay_ms = 1\n"});
    ASSERT_TRUE(daemon_->start());
  }
  void TearDown() override { EXPECT_TRUE(daemon_->stop()); }

  CommandResult llmq(std::vector<std::string> args, const std::string& stdin_text = "") {
    args.insert(args.begin(), {LLMQ_CLI_PATH, "--socket", daemon_->socketPath()});
    return runCommand(args, stdin_text, {}, 30000, /*merge_stderr=*/false);
  }
  std::string jobIdFrom(const CommandResult& r) {
    json::Document d;
    EXPECT_TRUE(json::parse(d, r.output, nullptr)) << r.output;
    return d.IsObject() && d.HasMember("job_id") ? d["job_id"].GetString() : "";
  }

  TempDir dir_;
  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(CliTest, StreamPrintsTheAnswerAsItArrives) {
  auto r = llmq({"submit", "--stream", "--model", "mock/echo", "one two three four"});
  EXPECT_EQ(0, r.exit_code) << r.output;
  EXPECT_EQ("one two three four\n", r.output);
}

TEST_F(CliTest, WaitWithThePromptOnStdin) {
  auto r = llmq({"submit", "--wait", "--model", "mock/echo"}, "from stdin\n");
  EXPECT_EQ(0, r.exit_code) << r.output;
  EXPECT_NE(std::string::npos, r.output.find("from stdin")) << r.output;
}

TEST_F(CliTest, JsonSubmitGetAndList) {
  auto submitted = llmq({"--json", "submit", "--client", "cli", "--tag", "t1", "--priority", "3", "hi"});
  ASSERT_EQ(0, submitted.exit_code) << submitted.output;
  std::string id = jobIdFrom(submitted);
  ASSERT_FALSE(id.empty());
  auto client = daemon_->connect();
  EXPECT_EQ("succeeded", waitTerminal(*client, id));

  auto got = llmq({"get", id, "--json"});
  ASSERT_EQ(0, got.exit_code);
  json::Document job;
  ASSERT_TRUE(json::parse(job, got.output, nullptr)) << got.output;
  EXPECT_STREQ("cli", job["client"].GetString());
  EXPECT_EQ(3, job["priority"].GetInt());

  auto human = llmq({"get", id});
  EXPECT_EQ(0, human.exit_code);
  EXPECT_NE(std::string::npos, human.output.find("succeeded")) << human.output;

  auto list = llmq({"list"});
  ASSERT_EQ(0, list.exit_code);
  EXPECT_NE(std::string::npos, list.output.find("JOB ID")) << list.output;
  EXPECT_NE(std::string::npos, list.output.find(id)) << list.output;
  auto filtered = llmq({"list", "--tag", "nope"});
  EXPECT_EQ(std::string::npos, filtered.output.find(id)) << filtered.output;
}

TEST_F(CliTest, PauseCancelRetryResume) {
  ASSERT_EQ(0, llmq({"pause"}).exit_code);
  std::string id = jobIdFrom(llmq({"--json", "submit", "later"}));
  ASSERT_FALSE(id.empty());
  auto status = llmq({"status"});
  EXPECT_EQ(0, status.exit_code);
  EXPECT_NE(std::string::npos, status.output.find("paused")) << status.output;

  EXPECT_EQ(0, llmq({"cancel", id}).exit_code);
  auto again = llmq({"cancel", id});
  EXPECT_EQ(1, again.exit_code) << "cancelling an ended job is refused";
  EXPECT_EQ(0, llmq({"retry", id}).exit_code);
  ASSERT_EQ(0, llmq({"resume"}).exit_code);
  auto client = daemon_->connect();
  EXPECT_EQ("succeeded", waitTerminal(*client, id));
}

TEST_F(CliTest, FailedJobExitsOne) {
  auto r = llmq({"submit", "--wait", "--model", "mock/fail-400", "x"});
  EXPECT_EQ(1, r.exit_code);
  auto s = llmq({"submit", "--stream", "--model", "mock/fail-400", "x"});
  EXPECT_EQ(1, s.exit_code);
}

TEST_F(CliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(2, llmq({"submit", "--priority", "high", "x"}).exit_code);
  EXPECT_EQ(2, llmq({"frobnicate"}).exit_code);
  auto help = llmq({"submit", "--help"});
  EXPECT_EQ(0, help.exit_code);
  EXPECT_NE(std::string::npos, help.output.find("--stream"));
}

TEST_F(CliTest, KeysWithoutServerKeys) {
  auto r = llmq({"keys"});
  EXPECT_EQ(0, r.exit_code);
  EXPECT_NE(std::string::npos, r.output.find("none")) << r.output;
  auto j = llmq({"keys", "--json"});
  EXPECT_NE(std::string::npos, j.output.find("\"has_server_key\":false")) << j.output;
}

TEST_F(CliTest, DaemonNotRunningExitsThreeWithOneLine) {
  auto r = runCommand({LLMQ_CLI_PATH, "--socket", dir_.file("nobody.sock"), "status"});
  EXPECT_EQ(3, r.exit_code);
  EXPECT_NE(std::string::npos, r.output.find("is llmqd running?")) << r.output;
  EXPECT_EQ(1, std::count(r.output.begin(), r.output.end(), '\n')) << r.output;
}

}  // namespace
}  // namespace llmq::testing
