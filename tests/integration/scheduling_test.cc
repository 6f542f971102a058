// Integration: the scheduling rules of docs/upstream.md and docs/configuration.md against the fake OpenRouter,
// asserting on what it recorded: 429 cooldowns per key and per model, concurrency
// and request-rate limits, the global in-flight cap, backoff bounds, priority and
// fair share under contention, and a restart in the middle of a retry.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "common/json.h"
#include "common/time.h"
#include "store/database.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/rpc.h"
#include "tests/support/test_db.h"

namespace llmq::testing {
namespace {

const std::string kKeyA = "sk-or-v1-testaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1";
const std::string kKeyB = "sk-or-v1-testbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2";

class SchedulingTest : public DaemonFixture {
 protected:
  void SetUp() override { startFake(); }
  void startDaemon(const std::string& toml, bool two_keys = true) {
    std::vector<std::string> env = {"OPENROUTER_BASE_URL=" + fake_.baseUrl()};
    env.push_back(two_keys ? "OPENROUTER_API_KEYS=[\"" + kKeyA + "\",\"" + kKeyB + "\"]"
                           : "OPENROUTER_API_KEY=" + kKeyA);
    launchDaemon(
        {.config_toml =
             (toml.find("[retry]") == std::string::npos ? "[retry]\nbase_ms = 5\ncap_ms = 20\n" : "") + toml,
         .extra_env = std::move(env)});
  }
  std::string chatJob(const std::string& model, const std::string& extra = "", const std::string& content = "hi") {
    std::string params = "{\"request\":{\"model\":\"" + model +
                         "\",\"messages\":[{\"role\":\"user\",\"content\":\"" + content + "\"}]}";
    if (!extra.empty()) {
      params += "," + extra;
    }
    params += "}";
    json::Document r = callOk(*client_, "job.submit", params);
    return r.HasMember("job_id") ? r["job_id"].GetString() : "";
  }
  static std::string bearer(const std::string& key) { return "Bearer " + key; }
};

// A key-level 429 cools that key down until Retry-After: jobs submitted meanwhile
// all go to the other key, and the 429'd job spends one attempt.
TEST_F(SchedulingTest, NoRequestReachesACoolingKeyBeforeRetryAfter) {
  startDaemon("");
  ASSERT_TRUE(fake_.setFault("429-2", 1));
  std::string first = chatJob("openai/gpt-4o-mini", R"("subscribe":true)");
  readEvents(*client_, [](const Event& e) { return e.name == "retrying"; });
  json::Document keys = callOk(*client_, "keys.status", "{}");
  EXPECT_STREQ("cooldown", keys["pool"][0]["state"].GetString());
  EXPECT_TRUE(keys["pool"][0]["until"].IsString());
  std::vector<std::string> ids;
  ids.reserve(6);
  for (int i = 0; i < 6; ++i) {
    ids.push_back(chatJob("openai/gpt-4o-mini"));
  }
  for (const std::string& id : ids) {
    ASSERT_EQ("succeeded", waitTerminal(*client_, id));
  }
  ASSERT_EQ("succeeded", waitTerminal(*client_, first));
  EXPECT_EQ(2, job(first)["attempts"].GetInt());
  auto reqs = fake_.requests();
  ASSERT_EQ(8u, reqs.size());
  ASSERT_EQ(429, reqs[0].status);
  ASSERT_EQ(bearer(kKeyA), reqs[0].header("authorization"));
  for (size_t i = 1; i < reqs.size(); ++i) {
    if (reqs[i].header("authorization") == bearer(kKeyA)) {
      // llmqd keeps time in whole milliseconds: allow it one of them.
      EXPECT_GE(reqs[i].t - reqs[0].t_end, 1.999) << "request " << i << " reached the cooling key";
    }
  }
  EXPECT_LT(reqs[6].t - reqs[0].t_end, 1.5) << "the other key served the jobs meanwhile";
}

// A 429 that names the provider behind OpenRouter cools the model for every key;
// other models keep going.
TEST_F(SchedulingTest, AnUpstreamRateLimitCoolsTheModelForEveryKey) {
  startDaemon("");
  ASSERT_TRUE(fake_.setFault("429-2+upstream", 1));
  std::string first = chatJob("vendor/busy", R"("subscribe":true)");
  readEvents(*client_, [](const Event& e) { return e.name == "retrying"; });
  std::string same = chatJob("vendor/busy");
  std::string other = chatJob("vendor/idle");
  ASSERT_EQ("succeeded", waitTerminal(*client_, other));
  ASSERT_EQ("succeeded", waitTerminal(*client_, same));
  ASSERT_EQ("succeeded", waitTerminal(*client_, first));
  json::Document status = callOk(*client_, "daemon.status", "{}");
  EXPECT_TRUE(status["limits"]["cooldowns"].IsArray());
  auto reqs = fake_.requests();
  ASSERT_EQ(4u, reqs.size());
  for (size_t i = 1; i < reqs.size(); ++i) {
    if (reqs[i].model == "vendor/busy") {
      EXPECT_GE(reqs[i].t - reqs[0].t_end, 1.999)
          << "request " << i << " (" << reqs[i].header("authorization") << ") reached the cooling model";
    } else {
      EXPECT_LT(reqs[i].t - reqs[0].t_end, 1.5) << "another model waited for nothing";
    }
  }
}

// A 429 for a request already on its way when the cooldown began spends no
// attempt. Four requests are in flight when the 429s come back: with
// max_attempts 1, the first 429 ends its job, the other three retry and succeed.
TEST_F(SchedulingTest, OnlyThe429ThatBeginsACooldownSpendsAnAttempt) {
  // Two failures would open the circuit; 429s are the cooldowns' business and
  // must not.
  startDaemon("[circuit]\nfailures = 2\n", /*two_keys=*/false);
  ASSERT_TRUE(fake_.setFault("delay-200+429-1", 4));
  std::vector<std::string> ids;
  ids.reserve(4);
  for (int i = 0; i < 4; ++i) {
    ids.push_back(chatJob("openai/gpt-4o-mini", R"("max_attempts":1)"));
  }
  int failed = 0;
  int succeeded = 0;
  for (const std::string& id : ids) {
    std::string state = waitTerminal(*client_, id, 20000);
    if (state == "failed") {
      ++failed;
      EXPECT_STREQ("RATE_LIMITED", job(id)["error"]["code"].GetString());
    } else {
      ++succeeded;
      EXPECT_EQ("succeeded", state);
      EXPECT_EQ(2, job(id)["attempts"].GetInt());
    }
  }
  EXPECT_EQ(1, failed);
  EXPECT_EQ(3, succeeded);
  json::Document status = callOk(*client_, "daemon.status", "{}");
  EXPECT_EQ(std::string::npos, json::toString(status["circuits"]).find("open"))
      << json::toString(status["circuits"]);
  auto reqs = fake_.requests();
  ASSERT_EQ(7u, reqs.size());
  for (size_t i = 4; i < reqs.size(); ++i) {
    EXPECT_GE(reqs[i].t - reqs[0].t_end, 0.9) << "a retry went before the cooldown ended";
  }
}

TEST_F(SchedulingTest, ConcurrencyLimitsAndTheGlobalCapAreNeverExceeded) {
  startDaemon("[[limits.key]]\nmatch = \"*\"\nconcurrency = 2\n");
  ASSERT_TRUE(fake_.setFault("delay-150"));
  std::vector<std::string> ids;
  ids.reserve(12);
  for (int i = 0; i < 12; ++i) {
    ids.push_back(chatJob("openai/gpt-4o-mini"));
  }
  for (const std::string& id : ids) {
    ASSERT_EQ("succeeded", waitTerminal(*client_, id));
  }
  ASSERT_TRUE(fake_.waitForIdle(5000));
  EXPECT_EQ(4u, fake_.stats().peak_concurrency) << "two keys, two requests each";
  std::map<std::string, int> in_flight;
  int peak_per_key = 0;
  auto reqs = fake_.requests();
  // Replay arrivals and ends per key.
  std::vector<std::pair<double, std::pair<std::string, int>>> edges;
  for (const FakeRequest& r : reqs) {
    edges.push_back({r.t, {r.header("authorization"), +1}});
    edges.push_back({r.t_end, {r.header("authorization"), -1}});
  }
  std::sort(edges.begin(), edges.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second.second < b.second.second;
  });
  for (const auto& [t, e] : edges) {
    peak_per_key = std::max(peak_per_key, in_flight[e.first] += e.second);
  }
  EXPECT_LE(peak_per_key, 2);

  client_.reset();
  ASSERT_TRUE(daemon_->stop());
  ASSERT_TRUE(fake_.reset());
  ASSERT_TRUE(fake_.setFault("delay-100"));
  startDaemon("[daemon]\nmax_inflight = 3\n");
  ids.clear();
  for (int i = 0; i < 12; ++i) {
    ids.push_back(chatJob("openai/gpt-4o-mini"));
  }
  for (const std::string& id : ids) {
    ASSERT_EQ("succeeded", waitTerminal(*client_, id));
  }
  EXPECT_EQ(3u, fake_.stats().peak_concurrency);
}

// rps = 4 on each key: whatever the backlog, no key sees a fifth request within
// a second of the first (docs/configuration.md, Rate limits; the minute-long rpm window is the same code,
// tested with an injected clock in tests/unit/daemon/rate_limiter_test.cc).
TEST_F(SchedulingTest, RequestRateHoldsOverEverySlidingWindow) {
  startDaemon("[[limits.key]]\nmatch = \"pool-*\"\nrps = 4\n");
  std::vector<std::string> ids;
  ids.reserve(20);
  for (int i = 0; i < 20; ++i) {
    ids.push_back(chatJob("openai/gpt-4o-mini"));
  }
  json::Document status = callOk(*client_, "daemon.status", "{}");
  EXPECT_EQ(4, status["limits"]["rules"][1]["rps"].GetInt()) << json::toString(status["limits"]);
  for (const std::string& id : ids) {
    ASSERT_EQ("succeeded", waitTerminal(*client_, id));
  }
  std::map<std::string, size_t> by_key;
  for (const FakeRequest& r : fake_.requests()) {
    ++by_key[r.header("authorization")];
  }
  ASSERT_EQ(2u, by_key.size());
  for (const auto& [key, n] : by_key) {
    EXPECT_EQ(10u, n);
  }
  // The windows are checked on the times llmqd started each attempt (the clock
  // its limiter decides with), not on when the fake saw them: on a busy machine
  // an early request can reach the fake late, and the gap would look shorter.
  auto db = store::Database::open(daemon_->dbPath(), store::OpenOptions{});
  ASSERT_TRUE(db.ok()) << db.error().message;
  EXPECT_EQ("2", queryOne(**db, "SELECT count(DISTINCT key_fingerprint) FROM attempts"));
  const std::string min_gap =
      queryOne(**db,
               "SELECT min(started_at - prev) FROM (SELECT started_at, lag(started_at, 4) OVER "
               "(PARTITION BY key_fingerprint ORDER BY started_at) AS prev FROM attempts) WHERE prev IS NOT NULL");
  ASSERT_FALSE(min_gap.empty());
  EXPECT_GE(std::stoll(min_gap), 1000) << "five requests on one key within a second";
}

// Retries wait within their full-jitter bounds: [0, min(cap, base * 2^(n-1))].
TEST_F(SchedulingTest, BackoffDelaysFallInsideTheirJitterBounds) {
  startDaemon("[retry]\nbase_ms = 200\ncap_ms = 500\n", /*two_keys=*/false);
  std::vector<std::string> ids;
  ids.reserve(3);
  for (int i = 0; i < 3; ++i) {
    // One model per job: the fake counts fail-N per key and model.
    ids.push_back(chatJob("job" + std::to_string(i) + "/fault-fail-3-500", R"("max_attempts":4,"subscribe":true)"));
  }
  int done = 0;
  const std::vector<Event> events =
      readEvents(*client_, [&](const Event& e) { return e.name == "final_response" && ++done == 3; });
  ASSERT_EQ(3, done);
  for (const std::string& id : ids) {
    ASSERT_EQ("succeeded", waitTerminal(*client_, id));
  }
  std::map<std::string, std::vector<FakeRequest>> by_job;
  for (const FakeRequest& r : fake_.requests()) {
    by_job[r.model].push_back(r);
  }
  ASSERT_EQ(3u, by_job.size());
  for (const auto& [body, reqs] : by_job) {
    ASSERT_EQ(4u, reqs.size());
    for (size_t i = 1; i < reqs.size(); ++i) {
      EXPECT_GE(reqs[i].t - reqs[i - 1].t_end, 0.0);
    }
  }
  // The delays llmqd chose, from its `retrying` events: the gaps the fake sees
  // also hold the time a busy machine takes to get there, which no bound covers.
  const int64_t ceilings_ms[] = {200, 400, 500};
  std::map<std::string, int> retries;
  for (const Event& e : events) {
    if (e.name != "retrying") {
      continue;
    }
    json::Document d;
    ASSERT_TRUE(json::parse(d, e.data, nullptr)) << e.data;
    const int n = ++retries[e.job_id];  // Retry n waits within [0, ceiling n].
    ASSERT_LE(n, 3) << e.data;
    EXPECT_GE(d["delay_ms"].GetInt64(), 0) << e.data;
    EXPECT_LE(d["delay_ms"].GetInt64(), ceilings_ms[n - 1]) << "retry " << n << " waited past its ceiling";
  }
  EXPECT_EQ(3u, retries.size());
  for (const auto& [id, n] : retries) {
    EXPECT_EQ(3, n) << id;
  }
}

// max_inflight 1 makes every job contend: priority first, then round-robin over
// clients, FIFO within a client, in the order the fake upstream saw them.
TEST_F(SchedulingTest, PriorityAndFairShareUnderContention) {
  startDaemon("[daemon]\nmax_inflight = 1\n", /*two_keys=*/false);
  callOk(*client_, "queue.pause", "{}");
  for (int i = 0; i < 4; ++i) {
    chatJob("openai/gpt-4o-mini", R"("client":"batch")", "batch" + std::to_string(i));
  }
  for (int i = 0; i < 2; ++i) {
    chatJob("openai/gpt-4o-mini", R"("client":"agent")", "agent" + std::to_string(i));
  }
  std::string urgent = chatJob("openai/gpt-4o-mini", R"("client":"batch","priority":9)", "urgent");
  callOk(*client_, "queue.resume", "{}");
  ASSERT_TRUE(fake_.waitForRequests(7, 10000));
  std::vector<std::string> order;
  for (const FakeRequest& r : fake_.requests()) {
    json::Document body;
    ASSERT_TRUE(json::parse(body, r.body, nullptr));
    order.emplace_back(body["messages"][0]["content"].GetString());
  }
  std::vector<std::string> expected = {"urgent", "agent0", "batch0", "agent1", "batch1", "batch2", "batch3"};
  EXPECT_EQ(expected, order);
  EXPECT_EQ(1u, fake_.stats().peak_concurrency);
}

// Fair share goes by user first (the user part of the client label), then by
// client: a user with six client names gets one turn for every turn of a user
// with one, not six.
TEST_F(SchedulingTest, FairShareIsPerUserThenPerClient) {
  startDaemon("[daemon]\nmax_inflight = 1\n", /*two_keys=*/false);
  callOk(*client_, "queue.pause", "{}");
  for (int i = 0; i < 6; ++i) {
    chatJob("openai/gpt-4o-mini", R"("client":"mallory:)" + std::to_string(i) + "\"", "m" + std::to_string(i));
  }
  for (int i = 0; i < 2; ++i) {
    chatJob("openai/gpt-4o-mini", R"("client":"alice")", "alice" + std::to_string(i));
  }
  callOk(*client_, "queue.resume", "{}");
  ASSERT_TRUE(fake_.waitForRequests(8, 60000));
  std::vector<std::string> order;
  for (const FakeRequest& r : fake_.requests()) {
    json::Document body;
    ASSERT_TRUE(json::parse(body, r.body, nullptr));
    order.emplace_back(body["messages"][0]["content"].GetString());
  }
  std::vector<std::string> expected = {"alice0", "m0", "alice1", "m1", "m2", "m3", "m4", "m5"};
  EXPECT_EQ(expected, order);
}

// A job waiting in retry_wait keeps its attempt count and its next time across a
// kill -9: it runs again no earlier than that time.
TEST_F(SchedulingTest, RestartMidRetryKeepsAttemptsAndTheNextTime) {
  startDaemon("[retry]\nbase_ms = 2500\ncap_ms = 2500\n", /*two_keys=*/false);
  std::string id = chatJob("fake/fault-fail-once-503-2", R"("subscribe":true)");
  readEvents(*client_, [](const Event& e) { return e.name == "retrying"; });
  json::Document before = job(id);
  ASSERT_STREQ("retry_wait", before["state"].GetString());
  ASSERT_TRUE(before["next_attempt_at"].IsString());
  const std::string next_at = before["next_attempt_at"].GetString();
  client_.reset();
  daemon_->kill9();
  startDaemon("[retry]\nbase_ms = 2500\ncap_ms = 2500\n", /*two_keys=*/false);
  json::Document after = job(id);
  EXPECT_STREQ("retry_wait", after["state"].GetString());
  EXPECT_EQ(1, after["attempts"].GetInt());
  EXPECT_EQ(next_at, after["next_attempt_at"].GetString());
  int64_t next_ms = 0;
  ASSERT_TRUE(parseRfc3339(next_at, &next_ms));
  ASSERT_TRUE(fake_.waitForRequests(2, 10000));
  EXPECT_GE(wallMs() + 50, next_ms) << "the retry went before its time";
  EXPECT_EQ("succeeded", waitTerminal(*client_, id));
  EXPECT_EQ(2, job(id)["attempts"].GetInt());
}

}  // namespace
}  // namespace llmq::testing
