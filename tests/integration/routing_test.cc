// Integration: model aliases and routing rules of a real llmqd against the fake
// upstream (docs/money.md). What leaves for the upstream is always the concrete
// model id; the job object's `routing` says what was chosen and why; an ordered
// route falls back along its models; a cost-optimized route picks the cheapest
// model whose context fits, by the catalog's prices; budgets and the ledger see
// the concrete model; and a routed job keeps its model across a restart with a
// changed config and a job.retry. Plus `llmq submit --route` and `llmq get`.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/daemon_fixture.h"
#include "tests/support/rpc.h"

namespace llmq::testing {
namespace {

constexpr char kKey[] = "sk-or-v1-routing0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071";
constexpr char kSonnet[] = "anthropic/claude-3.5-sonnet";
constexpr char kMini[] = "openai/gpt-4o-mini";
constexpr char kFree[] = "meta-llama/llama-3.1-8b-instruct:free";

constexpr char kConfig[] =
    "[retry]\nbase_ms = 5\ncap_ms = 10\n"
    "[mock]\nchunk_delay_ms = 1\nfirst_chunk_delay_ms = 1\n"
    "[aliases]\n\"claude-sonnet-*\" = \"anthropic/claude-3.5-sonnet\"\nmini = \"openai/gpt-4o-mini\"\n"
    "[[routes]]\nname = \"coding\"\nmodels = [\"fake/fault-503-0\", \"claude-sonnet-latest\", \"mini\"]\n"
    "[[routes]]\nname = \"cheap\"\nstrategy = \"cost-optimized\"\n"
    "models = [\"claude-sonnet-latest\", \"fake/ok\", \"mini\", \"meta-llama/llama-3.1-8b-instruct:free\"]\n"
    "[[routes]]\nname = \"dry\"\nmodels = [\"mock/echo\"]\n";

class RoutingTest : public DaemonFixture {
 protected:
  void SetUp() override { startFake(); }
  void startDaemon(const std::string& toml = kConfig) {
    launchDaemon({.config_toml = toml, .extra_env = fakeEnv(kKey)});
  }
  // job.submit params naming a route (and no model).
  static std::string routeParams(const std::string& route, const std::string& extra = "",
                                 const std::string& content = "hello from a test") {
    std::string p = R"({"request":{"messages":[{"role":"user","content":")" + content +
                    R"("}],"max_tokens":5},"route":")" + route + "\"";
    return p + (extra.empty() ? "" : "," + extra) + "}";
  }
  std::string submitRoute(const std::string& route, const std::string& extra = "",
                          const std::string& content = "hello from a test") {
    json::Document r = callOk(*client_, "job.submit", routeParams(route, extra, content), 30000);
    return r.IsObject() && r.HasMember("job_id") ? r["job_id"].GetString() : "";
  }
  // The models the fake was asked for, in arrival order (chat completions only).
  std::vector<std::string> modelsSent() {
    std::vector<std::string> out;
    for (const FakeRequest& r : fake_.requests()) {
      if (r.method != "POST") {
        continue;
      }
      json::Document body;
      EXPECT_TRUE(json::parse(body, r.body, nullptr));
      out.emplace_back(body.IsObject() && body.HasMember("model") ? body["model"].GetString() : "(none)");
    }
    return out;
  }
  // Fetches the fake's model list into the catalog now (its prices and contexts).
  void refreshCatalog() {
    json::Document r = callOk(*client_, "models.list", R"({"refresh":true,"filter":"fake/ok"})", 30000);
    ASSERT_TRUE(r.IsObject());
    ASSERT_EQ(1u, r["models"].Size()) << "fake/ok comes only from the fake's list";
    ASSERT_TRUE(fake_.reset());
  }
};

TEST_F(RoutingTest, AnAliasSendsTheConcreteModelAndBudgetsSeeIt) {
  startDaemon();
  std::string id = submit(*client_, "claude-sonnet-latest");
  ASSERT_EQ("succeeded", waitTerminal(*client_, id));
  EXPECT_EQ((std::vector<std::string>{kSonnet}), modelsSent());
  json::Document j = job(id);
  EXPECT_STREQ("claude-sonnet-latest", j["model"].GetString()) << "as requested";
  EXPECT_STREQ(kSonnet, j["model_used"].GetString());
  const json::Value& routing = j["routing"];
  ASSERT_TRUE(routing.IsObject());
  EXPECT_TRUE(routing["route"].IsNull());
  EXPECT_STREQ("claude-sonnet-*", routing["alias"].GetString());
  EXPECT_STREQ(kSonnet, routing["model"].GetString());
  EXPECT_NE(std::string::npos, std::string(routing["reason"].GetString()).find("claude-sonnet-*"));

  // A model named directly has no routing.
  std::string plain = submit(*client_, kMini);
  ASSERT_EQ("succeeded", waitTerminal(*client_, plain));
  EXPECT_TRUE(job(plain)["routing"].IsNull());

  // The ledger and the budgets know the concrete model, not the alias.
  json::Document report = callOk(*client_, "usage.report", R"({"group_by":["model"]})");
  std::vector<std::string> models;
  for (const auto& row : report["rows"].GetArray()) {
    models.emplace_back(row["model"].GetString());
  }
  std::sort(models.begin(), models.end());
  EXPECT_EQ((std::vector<std::string>{kSonnet, kMini}), models);
  callOk(*client_, "budget.set",
         R"({"scope":"model:anthropic/claude-3.5-sonnet","period":"day","limit_usd":0.000001,"action":"reject"})");
  std::string message;
  EXPECT_EQ(-32002, callError(*client_, "job.submit", submitParams("claude-sonnet-4"), &message)) << message;
  EXPECT_EQ("succeeded", waitTerminal(*client_, submit(*client_, "mini")));
}

TEST_F(RoutingTest, AnOrderedRouteFallsBackAlongItsModels) {
  startDaemon();
  std::string id = submitRoute("coding", R"("max_attempts":1)");
  ASSERT_EQ("succeeded", waitTerminal(*client_, id));
  EXPECT_EQ((std::vector<std::string>{"fake/fault-503-0", kSonnet}), modelsSent())
      << "the route's first model, then its next one, as a concrete id";
  json::Document j = job(id);
  EXPECT_STREQ("route:coding", j["model"].GetString());
  EXPECT_STREQ(kSonnet, j["model_used"].GetString());
  EXPECT_EQ(2, j["attempts"].GetInt());
  const json::Value& routing = j["routing"];
  ASSERT_TRUE(routing.IsObject());
  EXPECT_STREQ("coding", routing["route"].GetString());
  EXPECT_TRUE(routing["alias"].IsNull());
  EXPECT_STREQ("fake/fault-503-0", routing["model"].GetString());
  ASSERT_EQ(3u, routing["models"].Size());
  EXPECT_STREQ(kSonnet, routing["models"][1].GetString());
  EXPECT_STREQ(kMini, routing["models"][2].GetString());
  EXPECT_STREQ("ordered: the first of 3 models", routing["reason"].GetString());

  // "route:NAME" as the model is the same as the route param.
  ASSERT_TRUE(fake_.reset());
  std::string same = submit(*client_, "route:dry");
  ASSERT_EQ("succeeded", waitTerminal(*client_, same));
  EXPECT_STREQ("mock/echo", job(same)["model_used"].GetString());
  EXPECT_STREQ("dry", job(same)["routing"]["route"].GetString());
}

TEST_F(RoutingTest, CostOptimizedPicksTheCheapestModelWhoseContextFits) {
  startDaemon();
  refreshCatalog();
  // A short prompt fits everywhere: the free model is the cheapest.
  std::string small = submitRoute("cheap");
  ASSERT_EQ("succeeded", waitTerminal(*client_, small));
  json::Document j = job(small);
  const json::Value& routing = j["routing"];
  ASSERT_TRUE(routing.IsObject());
  EXPECT_STREQ(kFree, routing["model"].GetString());
  ASSERT_EQ(4u, routing["models"].Size());
  EXPECT_STREQ(kMini, routing["models"][1].GetString()) << "then by price: $0.15/$0.60";
  EXPECT_STREQ("fake/ok", routing["models"][2].GetString()) << "$1/$2";
  EXPECT_STREQ(kSonnet, routing["models"][3].GetString()) << "$3/$15";
  EXPECT_NE(std::string::npos,
            std::string(routing["reason"].GetString()).find("the cheapest of 4 models whose context fits"))
      << routing["reason"].GetString();
  EXPECT_EQ((std::vector<std::string>{kFree}), modelsSent());

  // About 150,000 prompt tokens: only Sonnet's 200,000-token context holds them.
  ASSERT_TRUE(fake_.reset());
  std::string big = submitRoute("cheap", "", std::string(600000, 'w'));
  ASSERT_EQ("succeeded", waitTerminal(*client_, big, 30000));
  j = job(big);
  EXPECT_STREQ(kSonnet, j["routing"]["model"].GetString());
  EXPECT_EQ(1u, j["routing"]["models"].Size());
  std::string reason = j["routing"]["reason"].GetString();
  EXPECT_NE(std::string::npos, reason.find("skipped fake/ok (context 32768)")) << reason;
  EXPECT_NE(std::string::npos, reason.find(std::string(kFree) + " (context 131072)")) << reason;
  EXPECT_EQ((std::vector<std::string>{kSonnet}), modelsSent());
}

TEST_F(RoutingTest, BadRoutesAreRefusedAtSubmit) {
  startDaemon();
  std::string message;
  EXPECT_EQ(-32602, callError(*client_, "job.submit", routeParams("nope"), &message));
  EXPECT_NE(std::string::npos, message.find("unknown route \"nope\"; the configured routes are coding, cheap, dry"))
      << message;
  EXPECT_EQ(-32602, callError(*client_, "job.submit", submitParams(kMini, R"("route":"coding")"), &message));
  EXPECT_NE(std::string::npos, message.find("are both given")) << message;
  EXPECT_EQ(-32602, callError(*client_, "job.submit", submitParams("route:nope"), &message));
  EXPECT_TRUE(modelsSent().empty());
}

TEST_F(RoutingTest, ARoutedJobKeepsItsModelAcrossARestartAndARetry) {
  startDaemon();
  callOk(*client_, "queue.pause", "{}");
  std::string aliased = submit(*client_, "mini");
  std::string routed = submitRoute("cheap");
  const std::string picked = job(routed)["routing"]["model"].GetString();
  callOk(*client_, "job.cancel", "{\"job_id\":\"" + routed + "\"}");
  ASSERT_TRUE(daemon_->stop());

  // The alias now names another model, and the routes are gone: the jobs keep
  // what they were acknowledged with.
  startDaemon("[aliases]\nmini = \"anthropic/claude-3.5-sonnet\"\n");
  callOk(*client_, "queue.resume", "{}");
  ASSERT_EQ("succeeded", waitTerminal(*client_, aliased));
  EXPECT_STREQ(kMini, job(aliased)["model_used"].GetString());
  callOk(*client_, "job.retry", "{\"job_id\":\"" + routed + "\"}");
  ASSERT_EQ("succeeded", waitTerminal(*client_, routed));
  EXPECT_EQ(picked, job(routed)["model_used"].GetString());
  EXPECT_EQ((std::vector<std::string>{kMini, picked}), modelsSent());
  EXPECT_STREQ("cheap", job(routed)["routing"]["route"].GetString());
}

TEST_F(RoutingTest, TheCliSubmitsToARouteAndShowsTheRouting) {
  startDaemon();
  auto llmq = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {LLMQ_CLI_PATH, "--socket", daemon_->socketPath()});
    return runCommand(args, "", {}, 30000, /*merge_stderr=*/false);
  };
  auto waited = llmq({"submit", "--route", "dry", "--wait", "one two three"});
  EXPECT_EQ(0, waited.exit_code) << waited.output;

  auto submitted = llmq({"--json", "submit", "--route", "dry", "hi"});
  ASSERT_EQ(0, submitted.exit_code) << submitted.output;
  json::Document d;
  ASSERT_TRUE(json::parse(d, submitted.output, nullptr)) << submitted.output;
  std::string id = d["job_id"].GetString();
  ASSERT_EQ("succeeded", waitTerminal(*client_, id));
  auto got = llmq({"get", id});
  ASSERT_EQ(0, got.exit_code) << got.output;
  EXPECT_NE(std::string::npos, got.output.find("route:dry (answered by mock/echo)")) << got.output;
  EXPECT_NE(std::string::npos, got.output.find("routed to:    mock/echo")) << got.output;
  EXPECT_NE(std::string::npos, got.output.find("ordered: the first of 1 model")) << got.output;

  EXPECT_EQ(2, llmq({"submit", "--route", "dry", "--model", "mock/echo", "hi"}).exit_code);
  auto unknown = runCommand({LLMQ_CLI_PATH, "--socket", daemon_->socketPath(), "submit", "--route", "nope", "hi"});
  EXPECT_EQ(1, unknown.exit_code);
  EXPECT_NE(std::string::npos, unknown.output.find("unknown route \"nope\"")) << unknown.output;
}

}  // namespace
}  // namespace llmq::testing

namespace llmq::testing {
namespace {

// A round-robin route over the fake sends each job to the next model in turn;
// a most-reliable route, once one model failed, leads with the other. Each
// job's routing.reason says why.
TEST_F(RoutingTest, BalancingRoutesSpreadJobsAndFollowOutcomes) {
  startDaemon(std::string(kConfig) +
              "[[routes]]\nname = \"turns\"\nstrategy = \"round-robin\"\nmodels = [\"fake/ok\", \"fake/ok-b\"]\n"
              "[[routes]]\nname = \"sure\"\nstrategy = \"most-reliable\"\n"
              "models = [\"fake/fault-400\", \"fake/ok-c\"]\n");
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ("succeeded", waitTerminal(*client_, submitRoute("turns")));
  }
  EXPECT_EQ((std::vector<std::string>{"fake/ok", "fake/ok-b", "fake/ok", "fake/ok-b"}), modelsSent());
  ASSERT_TRUE(fake_.reset());
  // Neither model has history: the route's order, and fake/fault-400 fails (a 400 is not retried or fallen back
  // from).
  const std::string first = submitRoute("sure", R"("max_attempts":1)");
  EXPECT_EQ("failed", waitTerminal(*client_, first));
  const std::string second = submitRoute("sure");
  EXPECT_EQ("succeeded", waitTerminal(*client_, second));
  json::Document j = callOk(*client_, "job.get", "{\"job_id\":\"" + second + "\"}");
  EXPECT_STREQ("fake/ok-c", j["routing"]["model"].GetString());
  EXPECT_NE(std::string::npos, std::string(j["routing"]["reason"].GetString()).find("most-reliable: fake/ok-c"))
      << j["routing"]["reason"].GetString();
}

}  // namespace
}  // namespace llmq::testing
