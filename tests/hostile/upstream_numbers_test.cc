// Hostile suite, upstream numbers: an upstream that answers with absurd usage
// figures (a cost of 1e308, token counts of 2^63-1 without a total), a ten-year
// Retry-After, or text that is not UTF-8. The figures are clamped before they are
// stored (docs/operations.md, "Bounds", "Upstream answers"), usage.report stays
// valid JSON, the cooldown ends at [retry] retry_after_max_s, and a paid answer
// with bad bytes is kept (repaired) instead of being paid for again.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/usage_bounds.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_upstream_process.h"
#include "tests/support/rpc.h"
#include "tests/support/wait.h"

namespace llmq::testing {
namespace {

class UpstreamNumbersTest : public DaemonFixture {
 protected:
  void SetUp() override { startFake(); }
  void startDaemon(const std::string& extra_toml = "", std::vector<std::string> extra_env = {}) {
    std::vector<std::string> env = fakeEnv();
    env.insert(env.end(), extra_env.begin(), extra_env.end());
    launchDaemon({.config_toml = "[retry]\nbase_ms = 5\ncap_ms = 20\n" + extra_toml, .extra_env = env});
  }
  std::string submitTo(const std::string& model, bool stream) {
    json::Document r = callOk(*client_, "job.submit",
                              R"({"request":{"model":")" + model + R"(","stream":)" + (stream ? "true" : "false") +
                                  R"(,"max_tokens":3,"messages":[{"role":"user","content":"one two three"}]}})");
    return r.HasMember("job_id") ? r["job_id"].GetString() : "";
  }
};

// cost 1e308 and 2^63-1 tokens, plain and streamed, twice each: every attempt is
// recorded at the per-attempt bounds, and usage.report (which printed "inf", and
// whose SUM overflowed) answers valid JSON with finite, clamped figures.
TEST_F(UpstreamNumbersTest, HugeUsageFiguresAreClampedAndUsageReportStaysValidJson) {
  ASSERT_NO_FATAL_FAILURE(startDaemon());
  std::vector<std::string> ids;
  for (bool stream : {false, true, false, true}) {
    ids.push_back(submitTo("fake/fault-cost-huge+tokens-huge", stream));
    ASSERT_EQ("succeeded", waitTerminal(*client_, ids.back())) << daemon_->log();
  }
  for (const std::string& id : ids) {
    json::Document j = job(id);
    ASSERT_TRUE(j.HasMember("usage") && j["usage"].IsObject()) << id;
    EXPECT_EQ(kMaxAttemptTokens, j["usage"]["prompt_tokens"].GetInt64());
    EXPECT_EQ(kMaxAttemptTokens, j["usage"]["completion_tokens"].GetInt64());
    EXPECT_EQ(2 * kMaxAttemptTokens, j["usage"]["total_tokens"].GetInt64()) << "not -2";
    EXPECT_DOUBLE_EQ(kMaxAttemptCostUsd, j["usage"]["cost_usd"].GetDouble());
  }
  for (const char* params : {"{}", R"({"group_by":["model","day"]})", R"({"group_by":["tag"]})",
                             R"({"since":"2000-01-01T00:00:00.5Z"})"}) {
    json::Document r = callOk(*client_, "usage.report", params);
    ASSERT_TRUE(r.IsObject()) << params;
    const json::Value& t = r["totals"];
    EXPECT_EQ(4, t["requests"].GetInt64()) << params;
    EXPECT_EQ(4 * kMaxAttemptTokens, t["prompt_tokens"].GetInt64()) << params;
    ASSERT_TRUE(t["cost_usd"].IsNumber()) << params;
    EXPECT_DOUBLE_EQ(4 * kMaxAttemptCostUsd, t["cost_usd"].GetDouble()) << params;
  }
  // The CLI reads the same report, and keeps working.
  CommandResult cli = runCommand(cliArgv({"usage", "--json"}));
  EXPECT_EQ(0, cli.exit_code) << cli.output;
  json::Document parsed;
  EXPECT_TRUE(json::parse(parsed, cli.output, nullptr)) << cli.output;
}

// Retry-After: 315360000 (ten years) on a 429: the key cools down for at most
// [retry] retry_after_max_s (1 s here), then the job runs and succeeds; before,
// it waited until 2036 (or a restart).
TEST_F(UpstreamNumbersTest, TenYearRetryAfterCoolsForAtMostTheCap) {
  ASSERT_NO_FATAL_FAILURE(startDaemon("retry_after_max_s = 1\n"));
  const std::string id = submitTo("fake/fault-fail-once-429-315360000", false);
  ASSERT_EQ("succeeded", waitTerminal(*client_, id, 60000)) << daemon_->log();
  EXPECT_EQ(2u, fake_.requests().size());
  // A job for another model on the same (cooled) key goes as well.
  const std::string other = submitTo("openai/gpt-4o-mini", false);
  ASSERT_EQ("succeeded", waitTerminal(*client_, other, 60000));
}

// Retry-After: 5, then the wall clock is set back an hour while the job waits
// (libfaketime, its offset read from a file on every call, the monotonic clock
// left alone): the job runs after about 5 s, not an hour and 5 s. llmqd notices
// the step against the monotonic clock and moves the cooldown and the stored
// retry time with it.
TEST_F(UpstreamNumbersTest, ABackwardClockStepDoesNotStretchARetryAfter) {
  const FakeClock clock(dir_.file("faketime"), FakeClock::kThreadedLibrary);
  if (const std::string why = clock.unavailable(); !why.empty()) {
    GTEST_SKIP() << why;
  }
  ASSERT_TRUE(clock.setOffset("+0"));
  ASSERT_NO_FATAL_FAILURE(startDaemon("", clock.env()));
  const std::string id = submitTo("fake/fault-fail-once-429-5", false);
  // Wait (bounded) for the 429 to put the job in retry_wait, then step the clock.
  const bool waiting = waitUntil(
      [&] {
        json::Document j = job(id);
        return j.IsObject() && std::string(j["state"].GetString()) == "retry_wait";
      },
      10000, "retry_wait", 25);
  ASSERT_TRUE(waiting) << daemon_->log();
  ASSERT_TRUE(clock.setOffset("-3600s"));
  // An hour would be far beyond this deadline; five seconds well within it.
  ASSERT_EQ("succeeded", waitTerminal(*client_, id, 90000)) << daemon_->log();
  EXPECT_NE(std::string::npos, daemon_->log().find("the wall clock stepped by")) << daemon_->log();
}

// Invalid UTF-8 in a paid answer (plain and streamed): the text is repaired with
// U+FFFD, the job succeeds after one request, and its cost is in the ledger.
// Before, the attempt failed as "not valid JSON", was retried (and paid) until
// its attempts ran out, and none of it was recorded.
TEST_F(UpstreamNumbersTest, InvalidUtf8InAPaidAnswerIsRepairedNotRetried) {
  ASSERT_NO_FATAL_FAILURE(startDaemon());
  for (bool stream : {false, true}) {
    ASSERT_TRUE(fake_.reset());
    const std::string id = submitTo("fake/fault-bad-utf8", stream);
    ASSERT_EQ("succeeded", waitTerminal(*client_, id)) << (stream ? "stream" : "plain");
    EXPECT_EQ(1u, fake_.requests().size()) << "one paid request, not one per attempt";
    json::Document j = job(id);
    const std::string content = j["result"]["choices"][0]["message"]["content"].GetString();
    EXPECT_NE(std::string::npos, content.find("\xEF\xBF\xBD")) << content;
    EXPECT_GT(j["usage"]["cost_usd"].GetDouble(), 0.0);
  }
  json::Document r = callOk(*client_, "usage.report", "{}");
  EXPECT_EQ(2, r["totals"]["requests"].GetInt64());
  EXPECT_GT(r["totals"]["cost_usd"].GetDouble(), 0.0);
}

// Model text with a NUL and terminal escapes: `llmq get` prints all of it (past
// the NUL, where printf stopped) with the controls escaped, so the answer cannot
// drive the terminal; `llmq get --json` keeps it exact.
TEST_F(UpstreamNumbersTest, LlmqGetPrintsModelTextWholeAndDefused) {
  ASSERT_NO_FATAL_FAILURE(startDaemon());
  const std::string id = submitTo("fake/fault-control-text", false);
  ASSERT_EQ("succeeded", waitTerminal(*client_, id));
  CommandResult plain = runCommand(cliArgv({"get", id}), "", {}, 30000,
                                   /*merge_stderr=*/false);
  ASSERT_EQ(0, plain.exit_code) << plain.output;
  EXPECT_NE(std::string::npos, plain.output.find("after-nul")) << plain.output;
  EXPECT_NE(std::string::npos, plain.output.find("end\n")) << plain.output;
  EXPECT_EQ(std::string::npos, plain.output.find('\0'));
  EXPECT_EQ(std::string::npos, plain.output.find('\x1b'));
  EXPECT_EQ(std::string::npos, plain.output.find('\x07'));
  EXPECT_EQ(std::string::npos, plain.output.find("\xC2\x9B"));
  EXPECT_NE(std::string::npos, plain.output.find("\\x1b[31mred")) << plain.output;
  EXPECT_NE(std::string::npos, plain.output.find("\\u009b2J")) << plain.output;

  CommandResult exact = runCommand(cliArgv({"get", "--json", id}), "", {}, 30000, /*merge_stderr=*/false);
  ASSERT_EQ(0, exact.exit_code) << exact.output;
  json::Document d;
  ASSERT_TRUE(json::parse(d, exact.output, nullptr)) << exact.output;
  const std::string content(json::view(d["result"]["choices"][0]["message"]["content"]));
  EXPECT_NE(std::string::npos, content.find(std::string("\0after-nul \x1b[31mred", 19)));
}

}  // namespace
}  // namespace llmq::testing
