// Integration: llmqd against the fake OpenRouter upstream over real HTTP on
// 127.0.0.1: the body is forwarded verbatim with the key in Authorization,
// streams arrive as message_chunk events, cost comes from the final usage chunk,
// and every fault ends in its documented state.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "store/database.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/rpc.h"

namespace llmq::testing {
namespace {

constexpr char kKey[] = "sk-or-v1-test5c1e9a0b7d2f4e6c8a0b1c2d3e4f5a6b7c8d9e0f1a2b";

class UpstreamTest : public DaemonFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(startFake());
    startDaemon("");
  }
  void startDaemon(const std::string& extra_toml, std::vector<std::string> env = {}) {
    if (env.empty()) {
      env = fakeEnv(kKey);
    }
    launchDaemon({.config_toml = "[retry]\nbase_ms = 5\ncap_ms = 20\n" + extra_toml, .extra_env = std::move(env)});
  }
};

TEST_F(UpstreamTest, NonStreamedJobForwardsTheBodyVerbatimWithTheKey) {
  const std::string request =
      R"({"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hello upstream"}],)"
      R"("max_tokens":5,"temperature":0.5,"x_unknown_field":{"kept":[1,2,3]}})";
  json::Document r = callOk(*client_, "job.submit", "{\"request\":" + request + "}");
  std::string id = r["job_id"].GetString();
  ASSERT_EQ("succeeded", waitTerminal(*client_, id));

  auto requests = fake_.requests();
  ASSERT_EQ(1u, requests.size());
  const FakeRequest& got = requests[0];
  EXPECT_EQ("POST", got.method);
  EXPECT_EQ("/api/v1/chat/completions", got.path);
  EXPECT_EQ(std::string("Bearer ") + kKey, got.header("authorization"));
  EXPECT_EQ("llmq", got.header("x-title"));
  json::Document sent, ours;
  ASSERT_TRUE(json::parse(sent, got.body, nullptr));
  ASSERT_TRUE(json::parse(ours, request, nullptr));
  EXPECT_TRUE(sent == ours) << "forwarded: " << got.body;

  json::Document j = job(id);
  EXPECT_STREQ("openai/gpt-4o-mini", j["model_used"].GetString());
  EXPECT_STREQ("chat.completion", j["result"]["object"].GetString());
  EXPECT_STREQ("hello upstream hello upstream hello", j["result"]["choices"][0]["message"]["content"].GetString());
  // The fake's price: 1e-6 per prompt token, 2e-6 per completion token.
  EXPECT_EQ(5, j["usage"]["completion_tokens"].GetInt());
  EXPECT_NEAR(2 * 1e-6 + 5 * 2e-6, j["usage"]["cost_usd"].GetDouble(), 1e-12);
}

TEST_F(UpstreamTest, StreamedJobEmitsChunksAndRecordsTheFinalUsageCost) {
  json::Document r = callOk(*client_, "job.submit",
                            R"({"request":{"model":"openai/gpt-4o-mini","stream":true,"max_tokens":6,)"
                            R"("messages":[{"role":"user","content":"alpha beta gamma"}]},"subscribe":true})");
  std::string id = r["job_id"].GetString();
  auto events = readEvents(*client_, [](const Event& e) {
    return e.name == "final_response" ||
           (e.name == "error" && e.data.find("\"retryable\":false") != std::string::npos);
  });
  std::string text;
  int chunks = 0;
  double usage_cost = -1;
  for (const Event& e : events) {
    json::Document d;
    ASSERT_TRUE(json::parse(d, e.data, nullptr));
    if (e.name == "message_chunk") {
      ++chunks;
      text += d["delta"].GetString();
    } else if (e.name == "usage") {
      usage_cost = d["cost_usd"].GetDouble();
    }
  }
  ASSERT_EQ("final_response", events.back().name);
  EXPECT_EQ(6, chunks);
  json::Document fin;
  ASSERT_TRUE(json::parse(fin, events.back().data, nullptr));
  EXPECT_EQ(text, fin["content"].GetString());
  json::Document j = job(id);
  // Streamed usage is not lost to accounting: the job's cost is the usage chunk's.
  EXPECT_NEAR(3 * 1e-6 + 6 * 2e-6, j["usage"]["cost_usd"].GetDouble(), 1e-12);
  EXPECT_DOUBLE_EQ(usage_cost, j["usage"]["cost_usd"].GetDouble());
  EXPECT_EQ(text, j["result"]["choices"][0]["message"]["content"].GetString());
  // OpenRouter always reports usage: the body goes out without stream_options.
  auto requests = fake_.requests();
  ASSERT_EQ(1u, requests.size());
  EXPECT_EQ(std::string::npos, requests[0].body.find("stream_options"));
}

struct FaultCase {
  const char* fault;
  const char* state;
  const char* code;
  int attempts;
  int upstream_status;
};

TEST_F(UpstreamTest, EveryFaultEndsInItsDocumentedState) {
  // Retry-After is 0 here so the retries do not wait; RetryAfterIsAFloorUnderTheBackoff
  // covers the wait itself.
  const FaultCase cases[] = {
      {"400", "failed", "INVALID_REQUEST", 1, 400},
      {"401", "failed", "UNAUTHORIZED", 1, 401},
      {"402", "failed", "OPENROUTER_SYSTEM_KEY_EXHAUSTED", 1, 402},
      {"404", "failed", "INVALID_REQUEST", 1, 404},
      {"429-0", "failed", "RATE_LIMITED", 2, 429},
      {"500", "failed", "UPSTREAM_ERROR", 2, 500},
      {"502", "failed", "UPSTREAM_ERROR", 2, 502},
      {"503-0", "failed", "UPSTREAM_ERROR", 2, 503},
      {"fail-once-503-0", "succeeded", "", 2, 0},
      {"fail-once-429-0", "succeeded", "", 2, 0},
      {"malformed", "failed", "UPSTREAM_ERROR", 2, 0},
      {"reset", "failed", "NETWORK", 2, 0},
      {"no-done", "failed", "UPSTREAM_ERROR", 2, 0},
      {"midstream-error", "failed", "", 2, 0},
      {"fail-once-reset", "succeeded", "", 2, 0},
  };
  bool key_spent = false;
  for (const FaultCase& c : cases) {
    for (bool stream : {false, true}) {
      SCOPED_TRACE(std::string(c.fault) + (stream ? " (stream)" : ""));
      const std::string fault = c.fault;
      if (!stream && (fault == "midstream-error" || fault == "no-done")) {
        continue;  // These faults only exist in streams.
      }
      ASSERT_TRUE(fake_.reset());  // Fresh fail-once state for each case.
      if (key_spent) {
        // 401 and 402 take the only server key out of service: start afresh.
        client_.reset();
        daemon_->kill9();
        startDaemon("");
      }
      key_spent = fault == "401" || fault == "402";
      std::string model = std::string("fake/fault-") + c.fault;
      json::Document r =
          callOk(*client_, "job.submit",
                 R"({"request":{"model":")" + model + R"(","stream":)" + (stream ? "true" : "false") +
                     R"(,"messages":[{"role":"user","content":"x y z"}]},"max_attempts":2})");
      std::string id = r["job_id"].GetString();
      std::string state = waitTerminal(*client_, id, 30000);
      json::Document j = job(id);
      EXPECT_EQ(c.state, state) << json::toString(j);
      EXPECT_EQ(c.attempts, j["attempts"].GetInt());
      if (*c.code != '\0') {
        EXPECT_STREQ(c.code, j["error"]["code"].GetString());
        EXPECT_STREQ("upstream", j["error"]["source"].GetString());
      }
      if (c.upstream_status != 0) {
        EXPECT_EQ(c.upstream_status, j["error"]["upstream_status"].GetInt());
        ASSERT_TRUE(j["error"].HasMember("upstream")) << "the upstream's own error object is kept";
        EXPECT_TRUE(j["error"]["upstream"].HasMember("message"));
      }
    }
  }
}

TEST_F(UpstreamTest, AttemptTimeoutAndCancelStopTheTransfer) {
  std::string slow = submit(*client_, "fake/fault-delay-3000", R"("timeout_s":0.2,"max_attempts":1)");
  EXPECT_EQ("failed", waitTerminal(*client_, slow));
  json::Document j = job(slow);
  EXPECT_STREQ("TIMEOUT", j["error"]["code"].GetString());

  ASSERT_TRUE(fake_.reset());
  std::string id =
      submit(*client_, "fake/fault-drip-100", R"("subscribe":true)", R"("stream":true,"max_tokens":200)");
  readEvents(*client_, [](const Event& e) { return e.name == "message_chunk"; });
  json::Document cancelled = callOk(*client_, "job.cancel", "{\"job_id\":\"" + id + "\"}");
  EXPECT_STREQ("cancelled", cancelled["state"].GetString());
  EXPECT_TRUE(fake_.waitForDisconnects(1, 30000)) << "the fake sees the client go away";
}

TEST_F(UpstreamTest, OtherProvidersGetStreamUsageRequestedAndTheirOwnKey) {
  daemon_->kill9();
  startDaemon("[[providers]]\nname = \"local\"\nbase_url = \"" + fake_.baseUrl() +
                  "\"\napi_key_env = \"TEST_LOCAL_KEY\"\nmodels = [\"local/*\"]\n",
              {"OPENROUTER_API_KEY=" + std::string(kKey), "OPENROUTER_BASE_URL=http://127.0.0.1:9/x",
               "TEST_LOCAL_KEY=sk-test-local-key-0123456789"});
  std::string id = submit(*client_, "local/llama", "", R"("stream":true,"max_tokens":3)");
  EXPECT_EQ("succeeded", waitTerminal(*client_, id));
  auto requests = fake_.requests();
  ASSERT_EQ(1u, requests.size());
  EXPECT_EQ("Bearer sk-test-local-key-0123456789", requests[0].header("authorization"));
  EXPECT_TRUE(requests[0].header("x-title").empty()) << "OpenRouter's headers only go to OpenRouter";
  json::Document body;
  ASSERT_TRUE(json::parse(body, requests[0].body, nullptr));
  ASSERT_TRUE(body.HasMember("stream_options"));
  EXPECT_TRUE(body["stream_options"]["include_usage"].GetBool());
}

TEST_F(UpstreamTest, RetryAfterIsAFloorUnderTheBackoff) {
  std::string id = submit(*client_, "fake/fault-fail-once-429-1");
  ASSERT_EQ("succeeded", waitTerminal(*client_, id, 10000));
  auto requests = fake_.requests();
  ASSERT_EQ(2u, requests.size());
  EXPECT_GE(requests[1].t - requests[0].t, 0.95) << "the retry came before Retry-After: 1";
}

TEST_F(UpstreamTest, ConnectionsAreReusedAndGenerationIdsKept) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    std::string id = submit(*client_, "openai/gpt-4o-mini", "", i % 2 ? R"("stream":true)" : "");
    ASSERT_EQ("succeeded", waitTerminal(*client_, id));
    ids.push_back(id);
  }
  EXPECT_TRUE(fake_.waitForIdle(5000));
  std::set<int64_t> connections;
  for (const FakeRequest& r : fake_.requests()) {
    connections.insert(r.connection);
  }
  EXPECT_EQ(1u, connections.size()) << "one kept-alive connection for sequential jobs";
  client_.reset();
  ASSERT_TRUE(daemon_->stop());
  auto db = store::Database::open(daemon_->dbPath(), {});
  ASSERT_TRUE(db);
  auto st =
      (*db)->statement("SELECT count(*) FROM attempts WHERE generation_id LIKE 'gen-%' AND http_status = 200");
  ASSERT_TRUE(st.step().value());
  EXPECT_EQ(5, st.int64(0));
}

TEST_F(UpstreamTest, ProxyFromTheEnvironmentIsUsed) {
  daemon_->kill9();
  // The fake plays the proxy: it receives the absolute URI of an upstream that
  // does not exist, which only a proxied request can reach.
  startDaemon("", {"OPENROUTER_API_KEY=" + std::string(kKey), "OPENROUTER_BASE_URL=http://upstream.invalid/api/v1",
                   "http_proxy=http://127.0.0.1:" + std::to_string(fake_.port())});
  std::string id = submit(*client_, "openai/gpt-4o-mini");
  EXPECT_EQ("succeeded", waitTerminal(*client_, id));
  auto requests = fake_.requests();
  ASSERT_EQ(1u, requests.size());
  EXPECT_EQ("http://upstream.invalid/api/v1/chat/completions", requests[0].path);
}

TEST_F(UpstreamTest, KeyPoolRotatesAndSetsAsideExhaustedKeys) {
  client_.reset();
  daemon_->kill9();
  const std::string k1 = "sk-or-v1-test1111111111111111111111111111111111aaaa";
  const std::string k2 = "sk-or-v1-test2222222222222222222222222222222222bbbb";
  startDaemon("",
              {"OPENROUTER_API_KEYS=[\"" + k1 + "\",\"" + k2 + "\"]", "OPENROUTER_BASE_URL=" + fake_.baseUrl()});
  // Round-robin while both are healthy.
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ("succeeded", waitTerminal(*client_, submit(*client_, "openai/gpt-4o-mini")));
  }
  auto reqs = fake_.requests();
  ASSERT_EQ(4u, reqs.size());
  EXPECT_NE(reqs[0].header("authorization"), reqs[1].header("authorization"));
  EXPECT_EQ(reqs[0].header("authorization"), reqs[2].header("authorization"));

  // A 402 sets the key aside and the job moves on to the other key at once.
  ASSERT_TRUE(fake_.reset());
  ASSERT_TRUE(fake_.setFault("402", 1));
  std::string id = submit(*client_, "openai/gpt-4o-mini", R"("max_attempts":1)");
  ASSERT_EQ("succeeded", waitTerminal(*client_, id));
  reqs = fake_.requests();
  ASSERT_EQ(2u, reqs.size());
  EXPECT_NE(reqs[0].header("authorization"), reqs[1].header("authorization"));
  json::Document status = callOk(*client_, "keys.status", "{}");
  EXPECT_STREQ("server", status["key_source"].GetString());
  ASSERT_EQ(2u, status["pool"].Size());
  int exhausted = 0;
  for (const auto& k : status["pool"].GetArray()) {
    exhausted += std::string(k["state"].GetString()) == "exhausted";
    EXPECT_EQ(std::string::npos, json::toString(k).find("test1111111111")) << "fingerprints only";
  }
  EXPECT_EQ(1, exhausted);

  // With no key left the job fails OPENROUTER_SYSTEM_KEY_EXHAUSTED, with its error event.
  ASSERT_TRUE(fake_.setFault("402", 1));
  std::string last = submit(*client_, "openai/gpt-4o-mini", R"("subscribe":true)");
  auto events = readEvents(*client_, [](const Event& e) {
    return e.name == "error" && e.data.find("\"retryable\":false") != std::string::npos;
  });
  EXPECT_NE(std::string::npos, events.back().data.find("OPENROUTER_SYSTEM_KEY_EXHAUSTED"));
  EXPECT_EQ("failed", waitTerminal(*client_, last));
  std::string after = submit(*client_, "openai/gpt-4o-mini");
  EXPECT_EQ("failed", waitTerminal(*client_, after));
  EXPECT_STREQ("OPENROUTER_SYSTEM_KEY_EXHAUSTED", job(after)["error"]["code"].GetString());
}

TEST_F(UpstreamTest, ByokKeyComesFirstIsNeverStoredAndFailsAsTheUsersOwn) {
  const std::string own = "sk-or-v1-testbyokbyokbyokbyokbyokbyokbyokbyok77";
  std::string id = submit(*client_, "openai/gpt-4o-mini", "\"api_key\":\"" + own + "\"");
  ASSERT_EQ("succeeded", waitTerminal(*client_, id));
  auto reqs = fake_.requests();
  ASSERT_EQ(1u, reqs.size());
  EXPECT_EQ("Bearer " + own, reqs[0].header("authorization")) << "BYOK before the server key";
  json::Document j = job(id);
  EXPECT_EQ(std::string::npos, json::toString(j).find(own)) << "never returned";
  EXPECT_EQ(-32004, callError(*client_, "job.retry", "{\"job_id\":\"" + id + "\"}"))
      << "only cancelled/failed can be retried; and not with an erased key";

  // A 402 on the user's key is USER_KEY_EXHAUSTED; the server keys are not touched.
  std::string spent = submit(*client_, "fake/fault-402", "\"api_key\":\"" + own + "\"");
  ASSERT_EQ("failed", waitTerminal(*client_, spent));
  EXPECT_STREQ("USER_KEY_EXHAUSTED", job(spent)["error"]["code"].GetString());
  json::Document keys = callOk(*client_, "keys.status", "{}");
  EXPECT_STREQ("ok", keys["pool"][0]["state"].GetString());
  EXPECT_EQ(-32004, callError(*client_, "job.retry", "{\"job_id\":\"" + spent + "\"}"));

  client_.reset();
  ASSERT_TRUE(daemon_->stop());
  EXPECT_FALSE(fileContains(daemon_->dbPath(), own));
  EXPECT_FALSE(fileContains(daemon_->dbPath() + "-wal", own));
  EXPECT_FALSE(fileContains(daemon_->logPath(), own));
  auto db = store::Database::open(daemon_->dbPath(), {});
  ASSERT_TRUE(db);
  auto st = (*db)->statement("SELECT count(*) FROM job_secrets");
  ASSERT_TRUE(st.step().value());
  EXPECT_EQ(0, st.int64(0)) << "erased when the jobs ended";
}

TEST_F(UpstreamTest, NoKeyIsRefusedAtSubmit) {
  daemon_->kill9();
  startDaemon("", {"OPENROUTER_BASE_URL=" + fake_.baseUrl()});
  std::string message;
  EXPECT_EQ(-32602, callError(*client_, "job.submit", submitParams("openai/gpt-4o-mini"), &message));
  EXPECT_NE(std::string::npos, message.find("OPENROUTER_API_KEY")) << message;
  // The mock needs no key.
  std::string id = submit(*client_, "mock/x");
  EXPECT_EQ("succeeded", waitTerminal(*client_, id));
  // A job with its own key needs no server key either.
  std::string own =
      submit(*client_, "openai/gpt-4o-mini", R"("api_key":"sk-or-v1-testownkey0000000000000000000000000001")");
  EXPECT_EQ("succeeded", waitTerminal(*client_, own));
  json::Document keys = callOk(*client_, "keys.status", "{}");
  EXPECT_STREQ("none", keys["key_source"].GetString());
  EXPECT_FALSE(keys["has_server_key"].GetBool());
}

TEST_F(UpstreamTest, TheKeyAppearsNowhereButTheRequest) {
  std::string id = submit(*client_, "fake/fault-400");
  waitTerminal(*client_, id);
  std::string ok = submit(*client_, "openai/gpt-4o-mini");
  waitTerminal(*client_, ok);
  json::Document status = callOk(*client_, "daemon.status", "{}");
  client_.reset();
  ASSERT_TRUE(daemon_->stop());
  EXPECT_FALSE(fileContains(daemon_->dbPath(), kKey));
  EXPECT_FALSE(fileContains(daemon_->dbPath() + "-wal", kKey));
  EXPECT_FALSE(fileContains(daemon_->logPath(), kKey));
}

}  // namespace
}  // namespace llmq::testing
