// Integration: the llmq CLI against a real llmqd: streaming, waiting, stdin
// prompts, listing, cancel/retry, pause/resume, --json, and its exit codes.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "common/json.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/fake_upstream_process.h"
#include "tests/support/rpc.h"
#include "tests/support/temp_dir.h"

namespace llmq::testing {
namespace {

class CliTest : public DaemonFixture {
 protected:
  // No client_: the tests speak through the CLI, and open a connection where they need one.
  void SetUp() override {
    launchDaemon({.config_toml = "[retry]\nbase_ms = 10\ncap_ms = 20\n"
                                 "[mock]\nchunk_delay_ms = 2\nfirst_chunk_delay_ms = 1\n"},
                 /*connect=*/false);
  }

  CommandResult llmq(std::vector<std::string> args, const std::string& stdin_text = "") {
    return runCommand(cliArgv(std::move(args)), stdin_text, {}, 30000, /*merge_stderr=*/false);
  }
  // The line of a table that starts with `first_cell` and a blank, or "".
  static std::string rowOf(const std::string& table, const std::string& first_cell) {
    size_t at = table.find("\n" + first_cell + " ");
    if (at == std::string::npos) {
      return table.rfind(first_cell + " ", 0) == 0 ? table.substr(0, table.find('\n')) : "";
    }
    return table.substr(at + 1, table.find('\n', at + 1) - at - 1);
  }
  static std::string jobIdFrom(const CommandResult& r) {
    json::Document d;
    EXPECT_TRUE(json::parse(d, r.output, nullptr)) << r.output;
    return d.IsObject() && d.HasMember("job_id") ? d["job_id"].GetString() : "";
  }
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

TEST_F(CliTest, GetShowsAnEmbeddingJobsVectorsAndAResponsesJobsText) {
  auto client = daemon_->connect();
  json::Document e =
      callOk(*client, "job.submit",
             R"({"kind":"embedding","wait":true,"request":{"model":"mock/e","input":["a","b"],"dimensions":5}})");
  auto embedding = llmq({"get", std::string(e["job_id"].GetString())});
  EXPECT_EQ(0, embedding.exit_code) << embedding.output;
  EXPECT_NE(std::string::npos, embedding.output.find("embedding")) << embedding.output;
  EXPECT_NE(std::string::npos, embedding.output.find("2 vectors of 5 dimensions")) << embedding.output;
  json::Document r =
      callOk(*client, "job.submit",
             R"({"kind":"responses","wait":true,"request":{"model":"mock/echo","input":"echo me"}})");
  auto response = llmq({"get", std::string(r["job_id"].GetString())});
  EXPECT_EQ(0, response.exit_code) << response.output;
  EXPECT_NE(std::string::npos, response.output.find("responses")) << response.output;
  EXPECT_NE(std::string::npos, response.output.find("echo me")) << response.output;
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

TEST_F(CliTest, ModelsTableWithPricesPerMillionTokens) {
  auto r = llmq({"models"});
  ASSERT_EQ(0, r.exit_code) << r.output;
  EXPECT_EQ(0u, r.output.find("MODEL")) << r.output;
  EXPECT_NE(std::string::npos, r.output.find("PROMPT/M")) << r.output;
  // Built-in prices until a fetch: $0.15 / $0.60 per million for GPT-4o-mini.
  std::string mini = rowOf(r.output, "openai/gpt-4o-mini");
  EXPECT_NE(std::string::npos, mini.find("128000")) << mini;
  EXPECT_NE(std::string::npos, mini.find("$0.15")) << mini;
  EXPECT_NE(std::string::npos, mini.find("$0.60")) << mini;
  EXPECT_NE(std::string::npos, mini.find("builtin")) << mini;
  std::string free = rowOf(r.output, "meta-llama/llama-3.1-8b-instruct:free");
  EXPECT_NE(std::string::npos, free.find("free")) << free;
  EXPECT_EQ(std::string::npos, free.find('$')) << free;
  // The mock's default price, $0.50 / $1.50.
  std::string mock = rowOf(r.output, "mock/*");
  EXPECT_NE(std::string::npos, mock.find("$0.50")) << mock;
  EXPECT_NE(std::string::npos, mock.find("$1.50")) << mock;
  // Columns line up: every row is as wide as the header up to the last column.
  EXPECT_EQ(rowOf(r.output, "MODEL").find("SOURCE"), mini.find("builtin")) << r.output;

  auto filtered = llmq({"models", "--filter", "claude"});
  ASSERT_EQ(0, filtered.exit_code);
  EXPECT_NE(std::string::npos, filtered.output.find("anthropic/claude-3.5-sonnet"));
  EXPECT_EQ(std::string::npos, filtered.output.find("openai/")) << filtered.output;

  auto j = llmq({"models", "--json", "--filter", "gpt-4o-mini"});
  ASSERT_EQ(0, j.exit_code);
  json::Document d;
  ASSERT_TRUE(json::parse(d, j.output, nullptr)) << j.output;
  ASSERT_EQ(1u, d["models"].Size());
  EXPECT_DOUBLE_EQ(0.15e-6, d["models"][0]["pricing"]["prompt"].GetDouble());
  EXPECT_TRUE(d["fetched_at"].IsNull());

  auto none = llmq({"models", "--filter", "no-such-model"});
  EXPECT_EQ(0, none.exit_code);
  EXPECT_TRUE(none.output.empty()) << "\"no models\" goes to stderr: " << none.output;
  EXPECT_EQ(2, llmq({"models", "--refesh"}).exit_code);
  EXPECT_NE(std::string::npos, llmq({"models", "--help"}).output.find("--refresh"));
}

TEST_F(CliTest, ModelsRefreshFetchesFromTheUpstream) {
  FakeUpstream fake;
  ASSERT_TRUE(fake.start());
  TempDir dir;
  DaemonProcess daemon(dir.path(), {.extra_env = {"OPENROUTER_BASE_URL=" + fake.baseUrl()}});
  ASSERT_TRUE(daemon.start());
  auto cli = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {LLMQ_CLI_PATH, "--socket", daemon.socketPath()});
    return runCommand(args, "", {}, 60000, /*merge_stderr=*/false);
  };
  auto r = cli({"models", "--refresh", "--filter", "fake/"});
  ASSERT_EQ(0, r.exit_code) << r.output;
  std::string ok = rowOf(r.output, "fake/ok");
  EXPECT_NE(std::string::npos, ok.find("32768")) << r.output;
  EXPECT_NE(std::string::npos, ok.find("$1.00")) << ok;
  EXPECT_NE(std::string::npos, ok.find("$2.00")) << ok;
  EXPECT_NE(std::string::npos, ok.find("fetched")) << ok;
  EXPECT_NE(std::string::npos, cli({"models"}).output.find("meta-llama/llama-3.1-8b-instruct:free"));

  // The upstream gone: --refresh fails with one line and exit 1; the list stays.
  ASSERT_TRUE(fake.stop());
  auto failed = runCommand({LLMQ_CLI_PATH, "--socket", daemon.socketPath(), "models", "--refresh"}, "", {}, 60000,
                           /*merge_stderr=*/true);
  EXPECT_EQ(1, failed.exit_code) << failed.output;
  EXPECT_NE(std::string::npos, failed.output.find("llmq: refreshing the model catalog failed")) << failed.output;
  EXPECT_EQ(1, std::count(failed.output.begin(), failed.output.end(), '\n')) << failed.output;
  EXPECT_NE(std::string::npos, rowOf(cli({"models"}).output, "fake/ok").find("fetched"));
  EXPECT_TRUE(daemon.stop());
}

TEST_F(CliTest, DaemonNotRunningExitsThreeWithOneLine) {
  auto r = runCommand({LLMQ_CLI_PATH, "--socket", dir_.file("nobody.sock"), "status"});
  EXPECT_EQ(3, r.exit_code);
  EXPECT_NE(std::string::npos, r.output.find("is llmqd running?")) << r.output;
  EXPECT_EQ(1, std::count(r.output.begin(), r.output.end(), '\n')) << r.output;
}

}  // namespace
}  // namespace llmq::testing

namespace llmq::testing {
namespace {

// Every job.submit parameter has a flag: fallbacks, a provider pin, the cache
// opt-out, a request id, a response format, a key from a file, the cooling and
// disconnect policies; $LLMQ_MODEL is the default model.
TEST_F(CliTest, EverySubmitParameterHasAFlag) {
  TempDir dir;
  const std::string key_file = dir.file("key");
  std::ofstream(key_file) << "sk-or-v1-testcli0000000000000000000000000000000000000000000001\n";
  auto r = llmq({"--json",
                 "submit",
                 "--model",
                 "mock/fail-500",
                 "--fallback",
                 "mock/echo",
                 "--provider",
                 "mock",
                 "--no-cache",
                 "--request-id",
                 "cli-1",
                 "--response-format",
                 "json_object",
                 "--api-key-file",
                 key_file,
                 "--max-attempts",
                 "1",
                 "--fail-when-cooling",
                 "--cancel-on-disconnect",
                 "--wait",
                 R"({"a":1})"});
  ASSERT_EQ(0, r.exit_code) << r.output;
  json::Document job;
  ASSERT_TRUE(json::parse(job, r.output, nullptr)) << r.output;
  EXPECT_STREQ("mock/echo", job["model_used"].GetString()) << "the fallback answered";
  auto client = daemon_->connect();
  json::Document full =
      callOk(*client, "job.get",
             "{\"job_id\":\"" + std::string(job["job_id"].GetString()) + "\",\"include_request\":true}");
  EXPECT_STREQ("json_object", full["request"]["response_format"]["type"].GetString());
  EXPECT_EQ(std::string::npos, r.output.find("sk-or-v1-testcli")) << "the key is never printed";

  // A provider that does not serve the model, an empty key file, and a
  // disconnect policy without a wait are refused.
  auto pinned = runCommand(cliArgv({"submit", "--provider", "mock", "--model", "openai/gpt-4o", "hi"}));
  EXPECT_NE(0, pinned.exit_code);
  EXPECT_NE(std::string::npos, pinned.output.find("does not serve model")) << pinned.output;
  std::ofstream(dir.file("empty")) << "\n";
  auto empty = llmq({"submit", "--api-key-file", dir.file("empty"), "hi"});
  EXPECT_EQ(2, empty.exit_code);
  EXPECT_EQ(2, llmq({"submit", "--cancel-on-disconnect", "hi"}).exit_code);

  // $LLMQ_MODEL names the model when --model does not.
  auto env = runCommand(cliArgv({"--json", "submit", "--wait", "from the env"}), "", {"LLMQ_MODEL=mock/echo"},
                        30000,
                        /*merge_stderr=*/false);
  ASSERT_EQ(0, env.exit_code) << env.output;
  json::Document e;
  ASSERT_TRUE(json::parse(e, env.output, nullptr)) << env.output;
  EXPECT_STREQ("mock/echo", e["model"].GetString());
}

TEST_F(CliTest, ModelsStatsShowsHowEachModelPerformed) {
  ASSERT_EQ(0, llmq({"submit", "--wait", "--model", "mock/echo", "hi"}).exit_code);
  auto r = llmq({"models", "--stats"});
  ASSERT_EQ(0, r.exit_code);
  EXPECT_NE(std::string::npos, r.output.find("PROVIDER")) << r.output;
  const std::string row = rowOf(r.output, "mock");
  EXPECT_NE(std::string::npos, row.find("mock/echo")) << r.output;
  EXPECT_NE(std::string::npos, row.find("100.0%")) << row;
  auto json = llmq({"--json", "models", "--stats", "--window", "60"});
  ASSERT_EQ(0, json.exit_code);
  json::Document d;
  ASSERT_TRUE(json::parse(d, json.output, nullptr)) << json.output;
  EXPECT_EQ(60, d["window"]["seconds"].GetInt());
  EXPECT_EQ(2, llmq({"models", "--stats", "--refresh"}).exit_code);
}

}  // namespace
}  // namespace llmq::testing
