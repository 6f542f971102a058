// Integration: fallbacks (docs/upstream.md). After a model's attempts fail on retryable
// errors, or at once when it does not exist (404), the next model of the chain
// runs with fresh attempts; model_used says what answered. Chains come from the
// job (fallback_models), from the config (chain:NAME) or from
// OPENROUTER_PREFERRED_MODELS.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/support/daemon_fixture.h"
#include "tests/support/rpc.h"

namespace llmq::testing {
namespace {

constexpr char kConfig[] =
    "[retry]\nbase_ms = 5\ncap_ms = 10\n"
    "[mock]\nchunk_delay_ms = 1\nfirst_chunk_delay_ms = 1\n"
    "[chains]\nsturdy = [\"mock/fail-500\", \"mock/echo\"]\n"
    "[circuit]\nfailures = 2\nwindow_s = 60\ncooldown_s = 0.3\n";

class FallbackTest : public DaemonFixture {
 protected:
  void start(std::vector<std::string> env = {}) {
    launchDaemon({.config_toml = kConfig, .extra_env = std::move(env)});
  }
};

TEST_F(FallbackTest, FallsBackInOrderAfterRetriesAndAtOnceOnNotFound) {
  start();
  std::string id = submit(*client_, "mock/fail-503",
                          R"("max_attempts":2,"subscribe":true,"fallback_models":["mock/fail-404","mock/echo"])");
  auto events = readEvents(*client_, [](const Event& e) { return e.name == "final_response"; });
  std::vector<std::string> started_models;
  int fallbacks = 0;
  for (const Event& e : events) {
    if (e.name == "started") {
      json::Document d;
      ASSERT_TRUE(json::parse(d, e.data, nullptr));
      started_models.emplace_back(d["model"].GetString());
    }
    fallbacks += e.name == "retrying" && e.data.find("\"reason\":\"fallback\"") != std::string::npos;
  }
  EXPECT_EQ((std::vector<std::string>{"mock/fail-503", "mock/fail-503", "mock/fail-404", "mock/echo"}),
            started_models);
  EXPECT_EQ(2, fallbacks);
  json::Document j = job(id);
  EXPECT_STREQ("succeeded", j["state"].GetString());
  EXPECT_STREQ("mock/fail-503", j["model"].GetString());
  EXPECT_STREQ("mock/echo", j["model_used"].GetString());
  EXPECT_EQ(4, j["attempts"].GetInt());
}

TEST_F(FallbackTest, OpenRouterMaxRetriesSetsTheDefaultAttempts) {
  start({"OPENROUTER_MAX_RETRIES=1"});
  std::string id = submit(*client_, "mock/fail-500");
  EXPECT_EQ("failed", waitTerminal(*client_, id));
  EXPECT_EQ(2, job(id)["attempts"].GetInt());
  EXPECT_EQ(2, job(id)["max_attempts"].GetInt());
}

TEST_F(FallbackTest, CircuitOpensFallsOverAndHalfOpensWithOneProbe) {
  start();
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ("failed", waitTerminal(*client_, submit(*client_, "mock/fail-500", R"("max_attempts":1)")));
  }
  json::Document status = callOk(*client_, "daemon.status", "{}");
  ASSERT_EQ(1u, status["circuits"].Size());
  EXPECT_STREQ("mock/mock/fail-500", status["circuits"][0]["target"].GetString());
  EXPECT_STREQ("open", status["circuits"][0]["state"].GetString());

  // While open, a job falls over to its next model without trying the broken one.
  std::string over = submit(*client_, "mock/fail-500", R"("fallback_models":["mock/echo"],"max_attempts":1)");
  EXPECT_EQ("succeeded", waitTerminal(*client_, over));
  json::Document j = job(over);
  EXPECT_EQ(1, j["attempts"].GetInt());
  EXPECT_STREQ("mock/echo", j["model_used"].GetString());

  // With nowhere to go, a job waits for the half-open probe, which fails: open again.
  auto t0 = std::chrono::steady_clock::now();
  std::string probe = submit(*client_, "mock/fail-500", R"("max_attempts":1)");
  EXPECT_EQ("failed", waitTerminal(*client_, probe));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(150));
  status = callOk(*client_, "daemon.status", "{}");
  EXPECT_STREQ("open", status["circuits"][0]["state"].GetString());
}

TEST_F(FallbackTest, ABadRequestDoesNotFallBack) {
  start();
  std::string id = submit(*client_, "mock/fail-400", R"("fallback_models":["mock/echo"])");
  EXPECT_EQ("failed", waitTerminal(*client_, id));
  EXPECT_EQ(1, job(id)["attempts"].GetInt());
}

TEST_F(FallbackTest, NamedChainsAndThePreferredModels) {
  start({"OPENROUTER_PREFERRED_MODELS=mock/fail-502, mock/echo"});
  std::string chained = submit(*client_, "chain:sturdy", R"("max_attempts":1)");
  EXPECT_EQ("succeeded", waitTerminal(*client_, chained));
  EXPECT_STREQ("mock/echo", job(chained)["model_used"].GetString());
  EXPECT_EQ(-32602, callError(*client_, "job.submit", submitParams("chain:nope")));

  // No fallback_models of its own: OPENROUTER_PREFERRED_MODELS is the chain.
  std::string preferred = submit(*client_, "mock/fail-404");
  EXPECT_EQ("succeeded", waitTerminal(*client_, preferred));
  json::Document j = job(preferred);
  EXPECT_STREQ("mock/echo", j["model_used"].GetString());
  EXPECT_EQ(4, j["attempts"].GetInt())
      << "fail-404 once, fail-502 until its breaker opens (2 failures here), then echo";
}

TEST_F(FallbackTest, AFallbackOverHttpSendsTheFallbackModel) {
  startFake();
  start(fakeEnv("sk-or-v1-test0000000000000000000000000000000000fb01"));
  std::string id =
      submit(*client_, "fake/fault-503-0", R"("max_attempts":1,"fallback_models":["openai/gpt-4o-mini"])");
  ASSERT_EQ("succeeded", waitTerminal(*client_, id));
  auto requests = fake_.requests();
  ASSERT_EQ(2u, requests.size());
  json::Document first, second;
  ASSERT_TRUE(json::parse(first, requests[0].body, nullptr));
  ASSERT_TRUE(json::parse(second, requests[1].body, nullptr));
  EXPECT_STREQ("fake/fault-503-0", first["model"].GetString());
  EXPECT_STREQ("openai/gpt-4o-mini", second["model"].GetString());
  EXPECT_STREQ("hello from a test", second["messages"][0]["content"].GetString());
  EXPECT_STREQ("openai/gpt-4o-mini", job(id)["model_used"].GetString());
}

}  // namespace
}  // namespace llmq::testing
