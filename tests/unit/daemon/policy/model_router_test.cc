// Tests for daemon/policy/model_router: alias precedence and wildcards, ordered and
// cost-optimized routes (price, context fit, ties), the errors a submit gets,
// and the routing object as stored and read back by modelChain().
#include "daemon/policy/model_router.h"

#include <gtest/gtest.h>

#include <map>

#include "common/json.h"
#include "daemon/policy/model_chain.h"
#include "store/job_record.h"

namespace llmq::daemon {
namespace {

using Models = std::vector<std::string>;

// A catalog of a few models; prices in USD per million tokens.
class Catalog {
 public:
  void add(const std::string& id, double prompt_per_mtok, double completion_per_mtok, int64_t context_length,
           int64_t max_completion = 0) {
    ModelInfo m;
    m.id = id;
    m.context_length = context_length;
    m.max_completion_tokens = max_completion;
    m.pricing.prompt = prompt_per_mtok * 1e-6;
    m.pricing.completion = completion_per_mtok * 1e-6;
    m.pricing.known = true;
    models_[id] = m;
  }
  void addUnpriced(const std::string& id, int64_t context_length) {
    ModelInfo m;
    m.id = id;
    m.context_length = context_length;
    models_[id] = m;
  }
  ModelLookup lookup() const {
    return [this](std::string_view id) -> const ModelInfo* {
      auto it = models_.find(std::string(id));
      return it == models_.end() ? nullptr : &it->second;
    };
  }

 private:
  std::map<std::string, ModelInfo> models_;
};

// A request of about `prompt_bytes / 4` prompt tokens (the estimate counts the whole body).
std::string request(size_t prompt_bytes, std::optional<int64_t> max_tokens = std::nullopt) {
  std::string r = R"({"messages":[{"role":"user","content":")" + std::string(prompt_bytes, 'x') + "\"}]";
  if (max_tokens) {
    r += ",\"max_tokens\":" + std::to_string(*max_tokens);
  }
  return r + "}";
}

class ModelRouterTest : public ::testing::Test {
 protected:
  std::optional<Routing> route(std::string_view model, std::optional<std::string_view> route_name,
                               const std::string& body = request(40), const Models& fallbacks = {}) {
    auto r = routeJob(config_, catalog_.lookup(), RoutingInput{model, route_name, &fallbacks, body});
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : std::nullopt;
  }
  Error routeError(std::string_view model, std::optional<std::string_view> route_name) {
    Models none;
    auto r = routeJob(config_, catalog_.lookup(), RoutingInput{model, route_name, &none, request(40)});
    EXPECT_FALSE(r.ok());
    return r.ok() ? Error{} : r.error();
  }

  Config config_;
  Catalog catalog_;
};

TEST_F(ModelRouterTest, AnExactAliasBeatsPatternsAndTheFirstPatternWins) {
  config_.aliases = {{"claude-*", "anthropic/claude-3.5-haiku"},
                     {"claude-sonnet-*", "anthropic/claude-3.5-sonnet"},
                     {"claude-sonnet-?", "never/this-one"},
                     {"claude-sonnet-latest", "anthropic/claude-3.7-sonnet"}};
  EXPECT_EQ("anthropic/claude-3.7-sonnet", resolveAlias(config_, "claude-sonnet-latest"))
      << "an exact key wins though patterns before it match";
  EXPECT_EQ("anthropic/claude-3.5-haiku", resolveAlias(config_, "claude-sonnet-4"))
      << "the first pattern in file order wins, not the most specific";
  EXPECT_EQ("openai/gpt-4o", resolveAlias(config_, "openai/gpt-4o")) << "no alias: itself";
  config_.aliases = {{"gpt4?", "openai/gpt-4o"}, {"*-mini", "openai/gpt-4o-mini"}};
  EXPECT_EQ("openai/gpt-4o", resolveAlias(config_, "gpt4o"));
  EXPECT_EQ("gpt4", resolveAlias(config_, "gpt4")) << "? is exactly one character";
  EXPECT_EQ("openai/gpt-4o-mini", resolveAlias(config_, "anything-mini"));
  EXPECT_EQ(nullptr, findAlias(config_.aliases, "gpt-4o"));
}

TEST_F(ModelRouterTest, AnAliasedModelIsRoutedWithItsFallbacksResolved) {
  config_.aliases = {{"sonnet", "anthropic/claude-3.5-sonnet"}, {"mini", "openai/gpt-4o-mini"}};
  auto r = route("sonnet", std::nullopt, request(40), {"mini", "x/plain", "mini"});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ("anthropic/claude-3.5-sonnet", r->model());
  EXPECT_EQ((Models{"anthropic/claude-3.5-sonnet", "openai/gpt-4o-mini", "x/plain"}), r->models);
  EXPECT_EQ("sonnet", r->alias.value_or(""));
  EXPECT_FALSE(r->route.has_value());
  EXPECT_NE(std::string::npos, r->reason.find("alias \"sonnet\"")) << r->reason;

  // Only a fallback is an alias: still routed, so the stored chain is concrete.
  r = route("x/plain", std::nullopt, request(40), {"mini"});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ((Models{"x/plain", "openai/gpt-4o-mini"}), r->models);
  EXPECT_FALSE(r->alias.has_value());

  // Without fallbacks of its own, OPENROUTER_PREFERRED_MODELS follow (aliases applied).
  config_.preferred_models = {"mini", "anthropic/claude-3.5-sonnet"};
  r = route("sonnet", std::nullopt);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ((Models{"anthropic/claude-3.5-sonnet", "openai/gpt-4o-mini"}), r->models);
}

TEST_F(ModelRouterTest, APlainModelWithoutPreferredModelsIsNotRouted) {
  config_.aliases = {{"sonnet", "anthropic/claude-3.5-sonnet"}};
  EXPECT_FALSE(route("openai/gpt-4o", std::nullopt).has_value());
  EXPECT_FALSE(route("openai/gpt-4o", std::nullopt, request(40), {"x/plain"}).has_value())
      << "its own fallbacks are stored with it as given";
  // Its own fallbacks win over OPENROUTER_PREFERRED_MODELS, so those do not route it.
  config_.preferred_models = {"c/pref"};
  EXPECT_FALSE(route("openai/gpt-4o", std::nullopt, request(40), {"x/plain"}).has_value());
}

TEST_F(ModelRouterTest, PreferredModelsAreFrozenAtSubmit) {
  config_.aliases = {{"mini", "openai/gpt-4o-mini"}};
  config_.preferred_models = {"mini", "x/plain", "openai/gpt-4o"};
  auto r = route("openai/gpt-4o", std::nullopt);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ((Models{"openai/gpt-4o", "openai/gpt-4o-mini", "x/plain"}), r->models)
      << "aliases applied, the model itself once";
  EXPECT_FALSE(r->alias.has_value());
  EXPECT_FALSE(r->route.has_value());
  EXPECT_EQ("request.model as given, then OPENROUTER_PREFERRED_MODELS", r->reason);
}

TEST_F(ModelRouterTest, AChainIsFrozenAtSubmitWithTheJobsFallbacksAfterIt) {
  config_.aliases = {{"sonnet", "anthropic/claude-3.5-sonnet"}};
  config_.chains["sturdy"] = {"sonnet", "openai/gpt-4o", "anthropic/claude-3.5-sonnet"};
  config_.preferred_models = {"c/pref"};  // Not for a chain.
  auto r = route("chain:sturdy", std::nullopt);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ((Models{"anthropic/claude-3.5-sonnet", "openai/gpt-4o"}), r->models);
  EXPECT_EQ("sonnet", r->alias.value_or(""));
  EXPECT_EQ("chain \"sturdy\" of the config, 3 models", r->reason);

  r = route("chain:sturdy", std::nullopt, request(40), {"x/extra", "openai/gpt-4o"});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ((Models{"anthropic/claude-3.5-sonnet", "openai/gpt-4o", "x/extra"}), r->models);
  EXPECT_NE(std::string::npos, r->reason.find("then the job's fallback_models")) << r->reason;

  EXPECT_EQ("no chain \"chain:nope\" is configured", routeError("chain:nope", std::nullopt).message);
}

TEST_F(ModelRouterTest, AnOrderedRouteRunsItsFirstModelThenTheRest) {
  config_.aliases = {{"sonnet", "anthropic/claude-3.5-sonnet"}};
  config_.routes = {
      {"coding", {"sonnet", "openai/gpt-4o", "anthropic/claude-3.5-sonnet"}, RouteStrategy::kOrdered}};
  auto r = route("", "coding", request(40), {"x/extra", "openai/gpt-4o"});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ("coding", r->route.value_or(""));
  EXPECT_EQ("sonnet", r->alias.value_or(""));
  EXPECT_EQ((Models{"anthropic/claude-3.5-sonnet", "openai/gpt-4o", "x/extra"}), r->models)
      << "aliases resolved, duplicates dropped, the job's own fallbacks after the route's";
  EXPECT_EQ("ordered: the first of 2 models", r->reason);

  // "route:NAME" as the model is the same as the route param.
  auto same = route("route:coding", std::nullopt);
  ASSERT_TRUE(same.has_value());
  EXPECT_EQ("coding", same->route.value_or(""));
  EXPECT_EQ("anthropic/claude-3.5-sonnet", same->model());
}

TEST_F(ModelRouterTest, CostOptimizedPicksTheCheapestModelWhoseContextFits) {
  catalog_.add("big/expensive", 3.0, 15.0, 200000);
  catalog_.add("mid/cheap", 0.15, 0.60, 128000);
  catalog_.add("tiny/cheapest", 0.01, 0.01, 2000);
  catalog_.add("free/model:free", 0, 0, 1000);
  catalog_.addUnpriced("local/unpriced", 100000);
  config_.routes = {
      {"cheap",
       {"big/expensive", "local/unpriced", "mid/cheap", "free/model:free", "tiny/cheapest", "unknown/model"},
       RouteStrategy::kCostOptimized}};
  // About 1000 prompt tokens + 500 max_tokens: the free model's 1000 is too small.
  auto r = route("", "cheap", request(4000, 500));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ((Models{"tiny/cheapest", "mid/cheap", "big/expensive"}), r->models)
      << "cheapest first; no price, no context or too small a context: left out";
  EXPECT_FALSE(r->alias.has_value());
  EXPECT_NE(std::string::npos, r->reason.find("cheapest of 3 models whose context fits")) << r->reason;
  EXPECT_NE(std::string::npos, r->reason.find("500 max_tokens")) << r->reason;
  EXPECT_NE(std::string::npos, r->reason.find("local/unpriced (no price)")) << r->reason;
  EXPECT_NE(std::string::npos, r->reason.find("free/model:free (context 1000)")) << r->reason;
  EXPECT_NE(std::string::npos, r->reason.find("unknown/model (no price)")) << r->reason;

  // A bigger prompt outgrows tiny/cheapest's 2000 tokens.
  r = route("", "cheap", request(8000, 500));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ((Models{"mid/cheap", "big/expensive"}), r->models);

  // A small one fits everywhere: free wins.
  r = route("", "cheap", request(400, 100));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ("free/model:free", r->model());
  EXPECT_NE(std::string::npos, r->reason.find("$0 at most")) << r->reason;
}

TEST_F(ModelRouterTest, CostOptimizedWithoutMaxTokensAssumesATypicalAnswer) {
  catalog_.add("a/small-context", 0.01, 0.01, 1000);
  catalog_.add("b/dear", 1.0, 1.0, 100000);
  config_.routes = {{"cheap", {"a/small-context", "b/dear"}, RouteStrategy::kCostOptimized}};
  // 100 prompt tokens fit in 1000, but not with room for the assumed 1024-token answer.
  auto r = route("", "cheap", request(400));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ((Models{"b/dear"}), r->models);
  EXPECT_NE(std::string::npos, r->reason.find("1024 assumed answer")) << r->reason;
}

TEST_F(ModelRouterTest, CostOptimizedRespectsAModelsLongestAnswer) {
  catalog_.add("a/short-writer", 0.01, 0.01, 100000, 4096);
  catalog_.add("b/long-writer", 1.0, 1.0, 100000, 0);
  config_.routes = {{"cheap", {"a/short-writer", "b/long-writer"}, RouteStrategy::kCostOptimized}};
  auto r = route("", "cheap", request(40, 8000));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ((Models{"b/long-writer"}), r->models);
  EXPECT_NE(std::string::npos, r->reason.find("a/short-writer (answers at most 4096 tokens)")) << r->reason;
}

TEST_F(ModelRouterTest, CostOptimizedTiesKeepTheRoutesOrder) {
  catalog_.add("z/same", 1.0, 2.0, 100000);
  catalog_.add("a/same", 1.0, 2.0, 100000);
  catalog_.add("m/same", 1.0, 2.0, 100000);
  config_.routes = {{"cheap", {"z/same", "a/same", "m/same"}, RouteStrategy::kCostOptimized}};
  for (int i = 0; i < 3; ++i) {
    auto r = route("", "cheap");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ((Models{"z/same", "a/same", "m/same"}), r->models);
  }
}

TEST_F(ModelRouterTest, CostOptimizedWithNothingQualifyingFallsBackToTheRoutesOrder) {
  catalog_.addUnpriced("local/a", 100000);
  config_.aliases = {{"first", "local/a"}};
  config_.routes = {{"cheap", {"first", "local/b"}, RouteStrategy::kCostOptimized}};
  auto r = route("", "cheap");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ((Models{"local/a", "local/b"}), r->models);
  EXPECT_EQ("first", r->alias.value_or(""));
  EXPECT_NE(std::string::npos, r->reason.find("no model has a known price")) << r->reason;
}

TEST_F(ModelRouterTest, UnknownRoutesAndAModelBesideARouteAreRefused) {
  EXPECT_NE(std::string::npos, routeError("", "nope").message.find("no routing rules are configured"));
  config_.routes = {{"coding", {"a/b"}, RouteStrategy::kOrdered}, {"cheap", {"c/d"}, RouteStrategy::kOrdered}};
  Error e = routeError("", "nope");
  EXPECT_EQ(ErrorKind::kInvalidArgument, e.kind);
  EXPECT_NE(std::string::npos, e.message.find("unknown route \"nope\"; the configured routes are coding, cheap"))
      << e.message;
  EXPECT_NE(std::string::npos, routeError("route:nope", std::nullopt).message.find("unknown route \"nope\""));
  e = routeError("a/b", "coding");
  EXPECT_NE(std::string::npos, e.message.find("are both given")) << e.message;
  e = routeError("route:coding", "coding");
  EXPECT_NE(std::string::npos, e.message.find("both name a route")) << e.message;
}

TEST_F(ModelRouterTest, TheStoredRoutingIsTheChainThatRuns) {
  config_.routes = {{"coding", {"a/one", "b/two"}, RouteStrategy::kOrdered}};
  auto r = route("", "coding");
  ASSERT_TRUE(r.has_value());
  std::string json;
  appendRoutingJson(json, *r);
  json::Document d;
  ASSERT_TRUE(json::parse(d, json, nullptr)) << json;
  EXPECT_STREQ("coding", d["route"].GetString());
  EXPECT_TRUE(d["alias"].IsNull());
  EXPECT_STREQ("a/one", d["model"].GetString());
  EXPECT_EQ(2u, d["models"].Size());

  store::JobRecord job;
  job.model = "route:coding";
  job.options = parseJobOptions(R"({"fallback_models":[],"cache":false,"byok":false,"routing":)" + json + "}");
  const std::optional<Routing>& stored = job.options.routing;
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(r->models, stored->models);
  EXPECT_EQ(r->reason, stored->reason);
  // The config changed since (or the daemon restarted with another one): the job
  // still runs what it was acknowledged with.
  config_.routes.clear();
  config_.preferred_models = {"c/pref"};
  EXPECT_EQ((Models{"a/one", "b/two"}), modelChain(job, config_));

  EXPECT_FALSE(parseJobOptions("{}").routing.has_value());
  EXPECT_FALSE(parseJobOptions(R"({"routing":{"models":[]}})").routing.has_value());
  EXPECT_FALSE(parseJobOptions(R"({"routing":"x"})").routing.has_value());
}

// Rows stored by an earlier llmqd carry no list for a chain or the preferred
// models: those are still read from the config at each attempt, aliases applied.
TEST_F(ModelRouterTest, AnEarlierDaemonsRowsReadChainsAndPreferredModelsAtRunTime) {
  config_.aliases = {{"sonnet", "anthropic/claude-3.5-sonnet"}};
  config_.chains["sturdy"] = {"sonnet", "openai/gpt-4o", "anthropic/claude-3.5-sonnet"};
  config_.preferred_models = {"sonnet"};
  store::JobRecord job;
  job.model = "chain:sturdy";
  EXPECT_EQ((Models{"anthropic/claude-3.5-sonnet", "openai/gpt-4o"}), modelChain(job, config_));
  job.model = "openai/gpt-4o";
  EXPECT_EQ((Models{"openai/gpt-4o", "anthropic/claude-3.5-sonnet"}), modelChain(job, config_));
}

}  // namespace
}  // namespace llmq::daemon

namespace llmq::daemon {
namespace {

// The balancing strategies, each reading RouteSignals; a draw the test sets.
class BalancedRouteTest : public ::testing::Test {
 protected:
  class ManualClock final : public Clock {
   public:
    int64_t nowMs() const override { return 1'800'000'000'000 + mono; }
    int64_t monoMs() const override { return mono; }
    int64_t mono = 1'000'000;
  };

  void rule(RouteStrategy strategy, std::vector<double> weights = {}) {
    config_.routes = {{"r", {"a/one", "b/two", "c/three"}, strategy, std::move(weights)}};
  }
  Routing route() {
    Models none;
    auto r = routeJob(config_, nullptr, RoutingInput{"", "r", &none, "{}", JobKind::kChat, nullptr, &signals_});
    EXPECT_TRUE(r.ok() && r->has_value());
    return r.ok() && r->has_value() ? **r : Routing{};
  }

  Config config_;
  ManualClock clock_;
  RouteSignals signals_{clock_};
};

TEST_F(BalancedRouteTest, RoundRobinTakesTurnsAndKeepsTheRestInOrder) {
  rule(RouteStrategy::kRoundRobin);
  EXPECT_EQ((Models{"a/one", "b/two", "c/three"}), route().models);
  EXPECT_EQ((Models{"b/two", "a/one", "c/three"}), route().models);
  const Routing third = route();
  EXPECT_EQ((Models{"c/three", "a/one", "b/two"}), third.models);
  EXPECT_EQ("round-robin: turn 2 of the route, model 3 of 3", third.reason);
  EXPECT_EQ("a/one", route().model());
}

TEST_F(BalancedRouteTest, RandomAndWeightedDrawTheLeadingModel) {
  rule(RouteStrategy::kRandom);
  signals_.setDrawForTests([](uint32_t) { return 1u; });
  const Routing r = route();
  EXPECT_EQ((Models{"b/two", "a/one", "c/three"}), r.models);
  EXPECT_EQ("random: model 2 of 3, drawn uniformly", r.reason);

  // Weights 1, 2, 1: the draw's point is in [0, 4); 0..1 is a/one, 1..3 b/two, 3..4 c/three.
  rule(RouteStrategy::kWeighted, {1, 2, 1});
  const auto at = [&](uint32_t millionths) {
    signals_.setDrawForTests([millionths](uint32_t) { return millionths; });
    return route();
  };
  EXPECT_EQ("a/one", at(0).model());
  EXPECT_EQ("a/one", at(249'999).model());
  EXPECT_EQ("b/two", at(250'000).model());
  EXPECT_EQ("b/two", at(749'999).model());
  const Routing last = at(999'999);
  EXPECT_EQ("c/three", last.model());
  EXPECT_EQ("weighted: model 3 of 3 (weight 1 of 4)", last.reason);
  EXPECT_EQ((Models{"c/three", "a/one", "b/two"}), last.models);
}

TEST_F(BalancedRouteTest, LeastUsedLeadsWithTheModelRoutedLeastInTheLastMinute) {
  rule(RouteStrategy::kLeastUsed);
  EXPECT_EQ("a/one", route().model()) << "all at 0: the route's order";
  signals_.routed("a/one");
  signals_.routed("a/one");
  signals_.routed("c/three");
  const Routing r = route();
  EXPECT_EQ((Models{"b/two", "c/three", "a/one"}), r.models);
  EXPECT_EQ("least-used: b/two was routed 0 jobs in the last minute, the fewest of 3", r.reason);
}

TEST_F(BalancedRouteTest, FastestAndMostReliableReadRecentAttemptsAndTryUnmeasuredModelsFirst) {
  rule(RouteStrategy::kFastest);
  EXPECT_EQ(
      "fastest: a/one has no attempts in the last 15 minutes, and models without recent attempts are tried first",
      route().reason);
  signals_.attemptEnded("c/three", true, 200);
  signals_.attemptEnded("b/two", true, 900);
  signals_.attemptEnded("b/two", false, 800);
  Routing r = route();
  EXPECT_EQ((Models{"a/one", "c/three", "b/two"}), r.models) << "a/one has no attempts: first, to be measured";
  signals_.attemptEnded("a/one", true, 500);
  r = route();
  EXPECT_EQ((Models{"c/three", "a/one", "b/two"}), r.models);
  EXPECT_EQ("fastest: c/three has the lowest median latency, 200 ms over its last 1 attempts", r.reason);

  rule(RouteStrategy::kMostReliable);
  r = route();
  EXPECT_EQ((Models{"a/one", "c/three", "b/two"}), r.models) << "100%, 100% (route order), 50%";
  EXPECT_EQ("most-reliable: a/one has the highest success rate, 100% of its last 1 attempts", r.reason);
  signals_.attemptEnded("a/one", false, 10);
  signals_.attemptEnded("a/one", false, 10);
  EXPECT_EQ("c/three", route().model()) << "a/one fell to 33%";
  // Past the window, the figures are gone: unmeasured again, tried first.
  clock_.mono += RouteSignals::kWindowMs + 1;
  signals_.attemptEnded("c/three", false, 10);
  EXPECT_EQ((Models{"a/one", "b/two", "c/three"}), route().models);
}

TEST_F(BalancedRouteTest, WithoutSignalsABalancingRouteKeepsItsOrder) {
  rule(RouteStrategy::kRoundRobin);
  Models none;
  auto r = routeJob(config_, nullptr, RoutingInput{"", "r", &none, "{}"});
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ("a/one", (*r)->model());
  // A weighted route whose two entries are one model after aliases keeps its order, and says why.
  config_.aliases = {{"b/two", "a/one"}};
  rule(RouteStrategy::kWeighted, {1, 5, 1});
  const Routing w = route();
  EXPECT_EQ((Models{"a/one", "c/three"}), w.models);
  EXPECT_NE(std::string::npos, w.reason.find("one model after [aliases]")) << w.reason;
}

}  // namespace
}  // namespace llmq::daemon
