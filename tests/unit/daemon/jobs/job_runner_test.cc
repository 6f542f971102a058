// JobRunner, on a real engine (tests/support/engine_fixture.h) with a scripted
// upstream: what an attempt's outcome does to its job.
#include "daemon/jobs/job_runner.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "daemon/policy/response_cache.h"
#include "tests/support/engine_fixture.h"

namespace llmq::daemon {
namespace {

using llmq::testing::ScriptedProvider;
using store::JobState;

class JobRunnerTest : public llmq::testing::EngineTest {};

TEST_F(JobRunnerTest, ASuccessStoresTheAnswerAndItsUsage) {
  start();
  upstream_->push(ScriptedProvider::costs(0.25));
  const std::string id = submit(admin(), "test/a");
  ASSERT_TRUE(reaches(id, JobState::kSucceeded));
  const store::JobRecord j = job(id);
  EXPECT_EQ(1, j.attempts);
  EXPECT_EQ("test/a", j.model_used);
  EXPECT_NE(std::string::npos, j.result_json.find("Hello there"));
  ASSERT_TRUE(j.usage.has_value());
  EXPECT_EQ(10, j.usage->prompt_tokens);
  EXPECT_EQ(2, j.usage->completion_tokens);
  EXPECT_DOUBLE_EQ(0.25, j.usage->cost_usd);
  EXPECT_EQ(0u, engine_->runner->inflight());
  // The upstream got the request as submitted.
  ASSERT_EQ(1u, upstream_->seen().size());
  EXPECT_NE(std::string::npos, upstream_->seen()[0].body.find("\"content\":\"hi\""));
}

TEST_F(JobRunnerTest, ARetryableFailureIsTriedAgain) {
  start();
  upstream_->push(ScriptedProvider::fails("UPSTREAM_ERROR", 502, true));
  upstream_->push(ScriptedProvider::fails("UPSTREAM_ERROR", 503, true));
  const std::string id = submit(admin(), "test/a");
  ASSERT_TRUE(reaches(id, JobState::kSucceeded));
  EXPECT_EQ(3, job(id).attempts);
  ASSERT_EQ(3u, upstream_->seen().size());
  EXPECT_EQ(3, upstream_->seen()[2].attempt);
}

TEST_F(JobRunnerTest, AFailureThatIsNotRetryableEndsTheJob) {
  start();
  upstream_->push(ScriptedProvider::fails("INVALID_REQUEST", 400, false));
  const std::string id = submit(admin(), "test/a");
  ASSERT_TRUE(reaches(id, JobState::kFailed));
  const store::JobRecord j = job(id);
  EXPECT_EQ(1, j.attempts);
  EXPECT_EQ("INVALID_REQUEST", j.error.code);
  EXPECT_EQ(400, j.error.upstream_status);
}

TEST_F(JobRunnerTest, MaxAttemptsBoundsTheRetries) {
  start();
  for (int i = 0; i < 5; ++i) {
    upstream_->push(ScriptedProvider::fails("UPSTREAM_ERROR", 500, true));
  }
  const std::string id = submit(admin(), "test/a", ",\"max_attempts\":2");
  ASSERT_TRUE(reaches(id, JobState::kFailed));
  EXPECT_EQ(2, job(id).attempts);
  EXPECT_EQ(2u, upstream_->seen().size());
}

TEST_F(JobRunnerTest, AFallbackModelRunsWhenTheFirstIsSpent) {
  start();
  upstream_->push(ScriptedProvider::fails("UPSTREAM_ERROR", 500, true));
  const std::string id = submit(admin(), "test/a", ",\"max_attempts\":1,\"fallback_models\":[\"test/b\"]");
  ASSERT_TRUE(reaches(id, JobState::kSucceeded));
  ASSERT_EQ(2u, upstream_->seen().size());
  EXPECT_EQ("test/a", upstream_->seen()[0].model);
  EXPECT_EQ("test/b", upstream_->seen()[1].model);
  EXPECT_EQ("test/b", job(id).model_used);
  // The fallback's request carries its own model.
  EXPECT_NE(std::string::npos, upstream_->seen()[1].body.find("\"model\":\"test/b\""));
}

TEST_F(JobRunnerTest, CancellingARunningJobAbortsItsTransfer) {
  start();
  upstream_->push(ScriptedProvider::held());
  const uint64_t c = admin();
  const std::string id = submit(c, "test/a");
  ASSERT_TRUE(reaches(id, JobState::kRunning));
  ASSERT_TRUE(runUntil([&] { return upstream_->holding() == 1; }, kWaitMs));
  EXPECT_FALSE(isError(call(c, "job.cancel", "{\"job_id\":\"" + id + "\"}")));
  EXPECT_EQ(JobState::kCancelled, stateOf(id));
  EXPECT_EQ(1u, upstream_->cancelled());
  EXPECT_EQ(0u, engine_->runner->inflight());
}

TEST_F(JobRunnerTest, AnAttemptThatOutlivesItsTimeoutIsRetried) {
  start();
  upstream_->push(ScriptedProvider::held());  // Never answers: the timeout ends it.
  const std::string id = submit(admin(), "test/a", ",\"timeout_s\":1");
  ASSERT_TRUE(reaches(id, JobState::kSucceeded));
  EXPECT_EQ(2, job(id).attempts);
  EXPECT_EQ(1u, upstream_->cancelled());
}

TEST_F(JobRunnerTest, AStreamedAnswerReachesSubscribersAsChunks) {
  start();
  const uint64_t c = admin();
  call(c, "queue.pause");
  upstream_->push(ScriptedProvider::Answer{{"one", "two", "three"}, {}, std::nullopt, false});
  const std::string id = submit(c, "test/a", "", ",\"stream\":true");
  call(c, "events.subscribe", "{\"job_id\":\"" + id + "\"}");
  call(c, "queue.resume");
  ASSERT_TRUE(reaches(id, JobState::kSucceeded));
  ASSERT_TRUE(runUntil(
      [&] {
        for (const std::string& l : lines(c)) {
          if (l.find("\"final_response\"") != std::string::npos) {
            return true;
          }
        }
        return false;
      },
      kWaitMs));
  std::string text;
  for (const std::string& l : lines(c)) {
    if (l.find("\"message_chunk\"") != std::string::npos) {
      json::Document d;
      std::string error;
      ASSERT_TRUE(json::parse(d, l, &error)) << l;
      const json::Value* data = json::member(*json::member(d, "params"), "data");
      ASSERT_NE(nullptr, data) << l;
      text += std::string(json::view(*json::member(*data, "delta")));
    }
  }
  EXPECT_EQ("onetwothree", text);
  EXPECT_TRUE(upstream_->seen()[0].stream);
}

TEST_F(JobRunnerTest, ShutdownPutsARunningJobBackWithoutSpendingAnAttempt) {
  start();
  upstream_->push(ScriptedProvider::held());
  const std::string id = submit(admin(), "test/a", ",\"max_attempts\":1");
  ASSERT_TRUE(runUntil([&] { return upstream_->holding() == 1; }, kWaitMs));
  restart();
  // The new engine runs it again, as its first and only counted attempt.
  ASSERT_TRUE(reaches(id, JobState::kSucceeded));
  EXPECT_EQ(1, job(id).run_attempts);
}

}  // namespace
}  // namespace llmq::daemon

namespace llmq::daemon {
namespace {

// The models a job tries are decided at submit: a SIGHUP that changes a chain or
// OPENROUTER_PREFERRED_MODELS afterwards does not move a queued job.
TEST_F(JobRunnerTest, AChainChangedWhileTheJobWaitedRunsTheChainItWasAcknowledgedWith) {
  config_.chains["sturdy"] = {"test/a", "test/b"};
  start();
  const uint64_t c = admin();
  call(c, "queue.pause");
  const std::string id = submit(c, "chain:sturdy", ",\"max_attempts\":1");
  ASSERT_FALSE(id.empty());
  config_.chains["sturdy"] = {"test/c"};  // As a SIGHUP with another file would.
  upstream_->push(ScriptedProvider::fails("UPSTREAM_ERROR", 500, true));
  call(c, "queue.resume");
  ASSERT_TRUE(reaches(id, JobState::kSucceeded));
  ASSERT_EQ(2u, upstream_->seen().size());
  EXPECT_EQ("test/a", upstream_->seen()[0].model);
  EXPECT_EQ("test/b", upstream_->seen()[1].model);
  EXPECT_EQ("test/b", job(id).model_used);
  ASSERT_TRUE(job(id).options.routing.has_value());
  EXPECT_EQ("chain \"sturdy\" of the config, 2 models", job(id).options.routing->reason);
}

TEST_F(JobRunnerTest, PreferredModelsChangedWhileTheJobWaitedDoNotMoveIt) {
  config_.preferred_models = {"test/b"};
  start();
  const uint64_t c = admin();
  call(c, "queue.pause");
  const std::string id = submit(c, "test/a", ",\"max_attempts\":1");
  config_.preferred_models = {"test/c"};
  upstream_->push(ScriptedProvider::fails("UPSTREAM_ERROR", 500, true));
  call(c, "queue.resume");
  ASSERT_TRUE(reaches(id, JobState::kSucceeded));
  ASSERT_EQ(2u, upstream_->seen().size());
  EXPECT_EQ("test/b", upstream_->seen()[1].model);
}

// A row stored by an earlier llmqd has no list for its chain: the chain is read
// from the config at each attempt, and one removed since fails the job by name.
TEST_F(JobRunnerTest, AnEarlierDaemonsChainJobFailsNamingAChainRemovedSince) {
  config_.chains["sturdy"] = {"test/a", "test/b"};
  start();
  const uint64_t c = admin();
  call(c, "queue.pause");
  const std::string id = submit(c, "chain:sturdy");
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(db_.db().exec("UPDATE jobs SET options = '{}'").ok());  // As an earlier llmqd stored it.
  config_.chains.clear();                                             // As a SIGHUP with a file without it would.
  call(c, "queue.resume");
  ASSERT_TRUE(reaches(id, JobState::kFailed));
  EXPECT_EQ("INVALID_REQUEST", job(id).error.code);
  EXPECT_EQ("no chain \"chain:sturdy\" is configured", job(id).error.message);
  EXPECT_TRUE(upstream_->seen().empty());
}

}  // namespace
}  // namespace llmq::daemon

namespace llmq::daemon {
namespace {

// Under [cache] enabled every eligible job uses the response cache; one
// submitted with cache: false is neither answered from it nor stored in it.
TEST_F(JobRunnerTest, CacheFalseOptsAJobOutOfTheResponseCache) {
  config_.cache_enabled = true;
  start();
  const uint64_t c = admin();
  const std::string deterministic = ",\"temperature\":0";
  const std::string first = submit(c, "test/a", "", deterministic);
  ASSERT_TRUE(reaches(first, JobState::kSucceeded));
  const std::string out = submit(c, "test/a", ",\"cache\":false", deterministic);
  ASSERT_TRUE(reaches(out, JobState::kSucceeded));
  EXPECT_EQ(2u, upstream_->seen().size()) << "cache: false is not answered from the cache";
  const std::string cached = submit(c, "test/a", "", deterministic);
  ASSERT_TRUE(reaches(cached, JobState::kSucceeded));
  EXPECT_EQ(2u, upstream_->seen().size()) << "the first job's answer, stored";
  EXPECT_EQ(1u, engine_->cache->stats().hits);
  EXPECT_EQ(1u, engine_->cache->stats().misses);
  EXPECT_EQ(1u, engine_->cache->stats().stored) << "cache: false stored nothing";
}

// A strict json_schema response_format (docs/http-api.md, "Structured output").
constexpr const char* kWantsA =
    R"(,"response_format":{"type":"json_schema","json_schema":{"name":"x","strict":true,)"
    R"("schema":{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]}}})";

ScriptedProvider::Answer answering(std::vector<std::string> deltas, double usd) {
  ScriptedProvider::Answer a = ScriptedProvider::costs(usd);
  a.deltas = std::move(deltas);
  return a;
}

TEST_F(JobRunnerTest, AnAnswerThatMissesItsSchemaIsBilledAndTriedAgain) {
  start();
  upstream_->push(answering({R"({"a":"one"})"}, 0.25));
  upstream_->push(answering({R"({"a":1})"}, 0.5));
  const uint64_t c = admin();
  const std::string id = submit(c, "test/a", "", kWantsA);
  ASSERT_TRUE(reaches(id, JobState::kSucceeded));
  const store::JobRecord j = job(id);
  EXPECT_EQ(2, j.attempts);
  EXPECT_NE(std::string::npos, j.result_json.find(R"(\"a\":1)")) << j.result_json;
  EXPECT_EQ(2u, upstream_->seen().size());
  // The first attempt failed SCHEMA_MISMATCH and is in the ledger with its cost.
  EXPECT_EQ("failed", llmq::testing::queryOne(db_.db(), "SELECT outcome FROM attempts WHERE attempt = 1"));
  EXPECT_EQ("SCHEMA_MISMATCH",
            llmq::testing::queryOne(db_.db(), "SELECT error_code FROM attempts WHERE attempt = 1"));
  const std::string report = call(c, "usage.report");
  EXPECT_DOUBLE_EQ(0.75, number(report, "result.totals.cost_usd")) << report;
  EXPECT_EQ(2, number(report, "result.totals.requests")) << report;
}

TEST_F(JobRunnerTest, AJobWhoseAnswersKeepMissingItsSchemaFailsAfterSchemaAttempts) {
  config_.schema_attempts = 2;
  start();
  for (int i = 0; i < 4; ++i) {
    upstream_->push(answering({R"({"a":"one"})"}, 0.25));
  }
  const uint64_t c = admin();
  const std::string id = submit(c, "test/a", "", kWantsA);  // max_attempts: 4.
  ASSERT_TRUE(reaches(id, JobState::kFailed));
  const store::JobRecord j = job(id);
  EXPECT_EQ(2, j.attempts);
  EXPECT_EQ("SCHEMA_MISMATCH", j.error.code);
  EXPECT_EQ("local", j.error.source);
  EXPECT_EQ("<root>[a]: Value type not permitted by 'type' constraint.", j.error.message);
  EXPECT_EQ(2u, upstream_->seen().size());
  // Every attempt was paid for, and is billed.
  const std::string report = call(c, "usage.report");
  EXPECT_DOUBLE_EQ(0.5, number(report, "result.totals.cost_usd")) << report;
  EXPECT_EQ(
      "2", llmq::testing::queryOne(db_.db(), "SELECT COUNT(*) FROM attempts WHERE error_code = 'SCHEMA_MISMATCH'"));
}

TEST_F(JobRunnerTest, AStreamedAnswerIsCheckedWholeAtItsEnd) {
  start();
  upstream_->push(answering({"Sure: ", "{\"a\":1}"}, 0.1));  // Text around the JSON: not JSON.
  upstream_->push(answering({"{\"a\"", ":1}"}, 0.1));
  const std::string id =
      submit(admin(), "test/a", "", R"(,"stream":true,"response_format":{"type":"json_object"})");
  ASSERT_TRUE(reaches(id, JobState::kSucceeded));
  EXPECT_EQ(2, job(id).attempts);
  EXPECT_EQ(0u, job(id).error.code.size());
}

TEST_F(JobRunnerTest, ASchemaLlmqdWillNotRunIsRefusedAtSubmit) {
  start();
  const std::string answer =
      call(admin(), "job.submit",
           R"({"request":{"model":"test/a","messages":[{"role":"user","content":"hi"}],)"
           R"("response_format":{"type":"json_schema",)"
           R"("json_schema":{"name":"x","strict":true,"schema":{"$ref":"http://127.0.0.1:1/s.json"}}}}})");
  EXPECT_EQ(-32602, errorCode(answer)) << answer;
  EXPECT_EQ("\"SCHEMA_REFUSED\"", field(answer, "error.data.code")) << answer;
  EXPECT_TRUE(upstream_->seen().empty());
}

TEST_F(JobRunnerTest, ARoutesResponseFormatAndSystemPromptApplyToItsJobsThatLackThem) {
  config_.routes.push_back(RouteRule{
      "extract", {"test/a"}, RouteStrategy::kOrdered, {}, R"({"type":"json_object"})", "Answer in JSON."});
  config_.schema_attempts = 1;
  start();
  const uint64_t c = admin();
  // The default answer, "Hello there", is no JSON object.
  const std::string id = submit(c, "route:extract");
  ASSERT_TRUE(reaches(id, JobState::kFailed));
  EXPECT_EQ("SCHEMA_MISMATCH", job(id).error.code);
  ASSERT_EQ(1u, upstream_->seen().size());
  EXPECT_NE(std::string::npos,
            upstream_->seen()[0].body.find(
                R"("messages":[{"role":"system","content":"Answer in JSON."},{"role":"user","content":"hi"}])"))
      << upstream_->seen()[0].body;
  EXPECT_NE(std::string::npos, upstream_->seen()[0].body.find(R"("response_format":{"type":"json_object"})"));
  // A request's own response_format and system message are kept.
  const std::string own =
      jobIdOf(call(c, "job.submit",
                   R"({"request":{"model":"route:extract","messages":[{"role":"system","content":"Be brief."},)"
                   R"({"role":"user","content":"hi"}],"response_format":{"type":"text"}}})"));
  ASSERT_TRUE(reaches(own, JobState::kSucceeded));
  ASSERT_EQ(2u, upstream_->seen().size());
  EXPECT_EQ(std::string::npos, upstream_->seen()[1].body.find("Answer in JSON.")) << upstream_->seen()[1].body;
  EXPECT_NE(std::string::npos, upstream_->seen()[1].body.find(R"("response_format":{"type":"text"})"));
}

}  // namespace
}  // namespace llmq::daemon
