// Tests for daemon::ModelCatalog: which source prices a model (mock, config
// overrides with wildcards, the cached fetch, the built-in list), the models.list
// rendering, and the fetch of OpenRouter's list against a canned local server:
// stored in the turn's transaction, shared by concurrent callers, failures keep
// the old data, close() answers whoever waits, startup and periodic refreshes run
// from the loop. Every callback is counted.
#include "daemon/policy/model_catalog.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/time.h"
#include "daemon/config.h"
#include "daemon/policy/provider_registry.h"
#include "daemon/turn/commit_cycle.h"
#include "daemon/turn/run_state.h"
#include "store/catalog_store.h"
#include "store/sqlite_store.h"
#include "tests/support/canned_http_server.h"
#include "tests/support/loop_test.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_db.h"

namespace llmq::daemon {
namespace {

using llmq::testing::queryOne;

constexpr char kKey[] = "sk-or-v1-unit-test-0123456789abcdef";
constexpr int64_t kNow = 1764000000000;  // 2025-11-24T16:00:00Z

class FixedClock final : public Clock {
 public:
  int64_t nowMs() const override { return now; }
  int64_t now = kNow;
};

class ModelCatalogTest : public llmq::testing::LoopTest {
 protected:
  void SetUp() override {
    LoopTest::SetUp();
    ASSERT_TRUE(db_.ok());
    server_ = std::make_unique<llmq::testing::CannedHttpServer>(&loop_);
    ASSERT_TRUE(server_->start());
    server_->respond(200, llmq::testing::readTestData("openrouter_models.json"));
    ProviderConfig openrouter;
    openrouter.name = "openrouter";
    openrouter.openrouter = true;
    openrouter.models = {"*"};
    openrouter.base_url = server_->url("/api/v1");
    openrouter.api_key = kKey;
    openrouter.title = "llmq";
    config_.providers.push_back(openrouter);
    config_.catalog.refresh_at_start = false;
    config_.catalog.refresh_ms = 0;
  }
  void TearDown() override {
    if (catalog_) {
      catalog_->close();
    }
    catalog_.reset();
    if (providers_) {
      providers_->close();
    }
    providers_.reset();
    if (cycle_) {
      cycle_->commit();
    }
    server_->close();
    LoopTest::TearDown();
  }
  ModelCatalog::Parts parts() { return {&loop_, config_, clock_, db_.db(), *cycle_, *providers_, run_}; }
  // Builds the catalog over the config as it is now.
  void make() {
    cycle_ = std::make_unique<CommitCycle>(store_);
    providers_ = std::make_unique<ProviderRegistry>(&loop_, config_);
    catalog_ = std::make_unique<ModelCatalog>(parts());
    auto r = catalog_->init();
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  void addOverride(const std::string& match, double prompt_per_mtok, double completion_per_mtok,
                   int64_t context = 0) {
    PriceOverride o;
    o.match = match;
    o.pricing.prompt = prompt_per_mtok * 1e-6;
    o.pricing.completion = completion_per_mtok * 1e-6;
    o.pricing.known = true;
    o.context_length = context;
    config_.prices.push_back(o);
  }
  // Refreshes and runs the loop until the callback ran; returns its result.
  Result<size_t> refreshNow() {
    int calls = 0;
    Result<size_t> out = makeError(ErrorKind::kInternal, "never called");
    catalog_->refresh([&](Result<size_t> r) {
      ++calls;
      out = std::move(r);
    });
    EXPECT_TRUE(runUntil([&] { return calls > 0; }));
    cycle_->commit();  // The end of the turn, as the daemon does it.
    EXPECT_EQ(1, calls);
    return out;
  }
  std::string sourceOf(const std::string& model) {
    auto s = catalog_->sourceOf(model);
    return s ? ModelCatalog::sourceName(*s) : "none";
  }

  llmq::testing::TestDb db_;
  store::SqliteStore store_{db_.db()};
  std::unique_ptr<llmq::testing::CannedHttpServer> server_;
  Config config_;
  FixedClock clock_;
  RunState run_;
  std::unique_ptr<CommitCycle> cycle_;
  std::unique_ptr<ProviderRegistry> providers_;
  std::unique_ptr<ModelCatalog> catalog_;
};

TEST_F(ModelCatalogTest, AFreshOfflineStartPricesFromTheBuiltinList) {
  make();
  const ModelInfo* m = catalog_->find("openai/gpt-4o-mini");
  ASSERT_NE(nullptr, m);
  EXPECT_EQ("builtin", sourceOf("openai/gpt-4o-mini"));
  EXPECT_TRUE(m->pricing.known);
  EXPECT_DOUBLE_EQ(0.15e-6, m->pricing.prompt);
  EXPECT_DOUBLE_EQ(0.6e-6, m->pricing.completion);
  EXPECT_EQ(128000, m->context_length);
  const ModelInfo* free = catalog_->find("meta-llama/llama-3.1-8b-instruct:free");
  ASSERT_NE(nullptr, free);
  EXPECT_EQ(0.0, free->pricing.prompt);
  EXPECT_TRUE(free->pricing.known);
  EXPECT_EQ(nullptr, catalog_->find("nobody/knows-this"));
  EXPECT_EQ("none", sourceOf("nobody/knows-this"));
  EXPECT_FALSE(catalog_->fetchedAt().has_value());
  EXPECT_TRUE(server_->requests().empty()) << "no fetch unless configured or asked";
}

TEST_F(ModelCatalogTest, MockModelsCostWhatTheMockCharges) {
  config_.mock.prompt_usd_per_mtok = 2.0;
  config_.mock.completion_usd_per_mtok = 3.0;
  addOverride("*", 9, 9);  // Even a catch-all override does not reprice the mock.
  make();
  for (const char* id : {"mock/echo", "mock/demo", "mock/fail-500", "mock/"}) {
    SCOPED_TRACE(id);
    const ModelInfo* m = catalog_->find(id);
    ASSERT_NE(nullptr, m);
    EXPECT_EQ("mock", sourceOf(id));
    EXPECT_EQ("mock", m->provider);
    EXPECT_DOUBLE_EQ(2e-6, m->pricing.prompt);
    EXPECT_DOUBLE_EQ(3e-6, m->pricing.completion);
    EXPECT_TRUE(m->pricing.known);
  }
  EXPECT_EQ("config", sourceOf("mocking/bird")) << "only the mock/ prefix is the mock";
}

TEST_F(ModelCatalogTest, ConfigOverridesWinAndMayBeWildcards) {
  addOverride("openai/gpt-4o-mini", 1, 2);
  addOverride("local-vllm/*", 0.5, 0.5, 8192);
  addOverride("local-vllm/special", 7, 7);  // Shadowed by the pattern before it.
  addOverride("exact/model", 4, 5);
  make();
  const ModelInfo* mini = catalog_->find("openai/gpt-4o-mini");
  ASSERT_NE(nullptr, mini);
  EXPECT_EQ("config", sourceOf("openai/gpt-4o-mini"));
  EXPECT_DOUBLE_EQ(1e-6, mini->pricing.prompt);
  EXPECT_DOUBLE_EQ(2e-6, mini->pricing.completion);
  EXPECT_EQ(0.0, mini->pricing.cache_read) << "an override replaces the whole price";
  EXPECT_EQ(128000, mini->context_length) << "the catalog's context length stays when not overridden";
  EXPECT_EQ("openrouter", mini->provider);

  const ModelInfo* local = catalog_->find("local-vllm/llama-3-8b");
  ASSERT_NE(nullptr, local);
  EXPECT_EQ("local-vllm/*", local->id) << "a pattern's entry is named by its pattern";
  EXPECT_EQ("config", local->provider);
  EXPECT_EQ(8192, local->context_length);
  EXPECT_DOUBLE_EQ(0.5e-6, local->pricing.prompt);
  const ModelInfo* special = catalog_->find("local-vllm/special");
  ASSERT_NE(nullptr, special);
  EXPECT_DOUBLE_EQ(0.5e-6, special->pricing.prompt) << "the first matching override wins";

  const ModelInfo* exact = catalog_->find("exact/model");
  ASSERT_NE(nullptr, exact);
  EXPECT_EQ("exact/model", exact->id);
  EXPECT_DOUBLE_EQ(4e-6, exact->pricing.prompt);
  EXPECT_EQ("builtin", sourceOf("openai/gpt-4o"));
}

TEST_F(ModelCatalogTest, TheCachedFetchBeatsTheBuiltinList) {
  ModelInfo mini;
  mini.id = "openai/gpt-4o-mini";
  mini.name = "cached";
  mini.provider = "openrouter";
  mini.pricing.prompt = 0.2e-6;
  mini.pricing.completion = 0.8e-6;
  mini.pricing.known = true;
  ModelInfo other = mini;
  other.id = "cached/only";
  store::CatalogStore store(db_.db());
  ASSERT_TRUE(store.replaceProvider("openrouter", {mini, other}, kNow - 5000).ok());
  addOverride("cached/only", 1, 1);
  make();
  EXPECT_EQ("fetched", sourceOf("openai/gpt-4o-mini"));
  EXPECT_DOUBLE_EQ(0.2e-6, catalog_->find("openai/gpt-4o-mini")->pricing.prompt);
  EXPECT_EQ("cached", catalog_->find("openai/gpt-4o-mini")->name);
  EXPECT_EQ("config", sourceOf("cached/only")) << "overrides still win over the cache";
  EXPECT_EQ("builtin", sourceOf("openai/gpt-4o")) << "built-in models the cache lacks stay";
  EXPECT_EQ(kNow - 5000, catalog_->fetchedAt().value_or(0));
}

TEST_F(ModelCatalogTest, ListJsonIsOrderedFilteredAndShaped) {
  addOverride("local-vllm/*", 0.5, 1.5, 8192);
  make();
  json::Document d;
  ASSERT_TRUE(json::parse(d, catalog_->listJson(""), nullptr));
  ASSERT_TRUE(d["models"].IsArray());
  EXPECT_TRUE(d["fetched_at"].IsNull());
  const auto& models = d["models"];
  ASSERT_GE(models.Size(), 12u);
  std::vector<std::string> ids;
  for (const auto& m : models.GetArray()) {
    ids.push_back(m["id"].GetString());
  }
  EXPECT_EQ("mock/*", ids.back()) << "the mock entry comes last";
  EXPECT_EQ("local-vllm/*", ids[ids.size() - 2]) << "then the config patterns before it";
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end() - 2));
  for (const auto& m : models.GetArray()) {
    if (std::string(m["id"].GetString()) == "anthropic/claude-3.5-sonnet") {
      EXPECT_STREQ("Anthropic: Claude 3.5 Sonnet", m["name"].GetString());
      EXPECT_STREQ("openrouter", m["provider"].GetString());
      EXPECT_EQ(200000, m["context_length"].GetInt64());
      EXPECT_EQ(8192, m["max_completion_tokens"].GetInt64());
      EXPECT_DOUBLE_EQ(3e-6, m["pricing"]["prompt"].GetDouble());
      EXPECT_DOUBLE_EQ(15e-6, m["pricing"]["completion"].GetDouble());
      EXPECT_DOUBLE_EQ(0.3e-6, m["pricing"]["cache_read"].GetDouble());
      EXPECT_DOUBLE_EQ(3.75e-6, m["pricing"]["cache_write"].GetDouble());
      EXPECT_EQ(0.0, m["pricing"]["request"].GetDouble());
      EXPECT_EQ(0.0, m["pricing"]["image"].GetDouble());
      EXPECT_STREQ("builtin", m["source"].GetString());
    }
    if (std::string(m["id"].GetString()) == "mock/*") {
      EXPECT_TRUE(m["context_length"].IsNull()) << "unknown lengths are null";
      EXPECT_STREQ("mock", m["source"].GetString());
    }
    if (std::string(m["id"].GetString()) == "local-vllm/*") {
      EXPECT_STREQ("config", m["source"].GetString());
      EXPECT_EQ(8192, m["context_length"].GetInt64());
    }
  }
  json::Document f;
  ASSERT_TRUE(json::parse(f, catalog_->listJson("GPT-4O"), nullptr));
  ASSERT_EQ(2u, f["models"].Size()) << "a case-insensitive substring of the id";
  EXPECT_STREQ("openai/gpt-4o", f["models"][0]["id"].GetString());
  EXPECT_STREQ("openai/gpt-4o-mini", f["models"][1]["id"].GetString());
  json::Document none;
  ASSERT_TRUE(json::parse(none, catalog_->listJson("no-such-model"), nullptr));
  EXPECT_EQ(0u, none["models"].Size());
}

TEST_F(ModelCatalogTest, RefreshFetchesStoresAndSwitchesToTheList) {
  make();
  EXPECT_EQ(nullptr, catalog_->find("perplexity/sonar"));
  auto r = refreshNow();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(7u, *r);

  ASSERT_EQ(1u, server_->requests().size());
  const std::string& head = server_->requests()[0];
  EXPECT_EQ(0u, head.find("GET /api/v1/models HTTP/1.1")) << head;
  EXPECT_NE(std::string::npos, head.find(std::string("Authorization: Bearer ") + kKey)) << head;
  EXPECT_NE(std::string::npos, head.find("X-Title: llmq")) << head;

  const ModelInfo* sonar = catalog_->find("perplexity/sonar");
  ASSERT_NE(nullptr, sonar);
  EXPECT_EQ("fetched", sourceOf("perplexity/sonar"));
  EXPECT_DOUBLE_EQ(0.005, sonar->pricing.request);
  EXPECT_EQ("fetched", sourceOf("openai/gpt-4o-mini"));
  EXPECT_EQ("builtin", sourceOf("openai/gpt-4o")) << "not in this list: still built in";
  EXPECT_EQ(kNow, catalog_->fetchedAt().value_or(0));
  json::Document d;
  ASSERT_TRUE(json::parse(d, catalog_->listJson("sonar"), nullptr));
  EXPECT_STREQ("2025-11-24T16:00:00.000Z", d["fetched_at"].GetString());
  json::Document unknown;
  ASSERT_TRUE(json::parse(unknown, catalog_->listJson("openrouter/auto"), nullptr));
  ASSERT_EQ(1u, unknown["models"].Size());
  EXPECT_TRUE(unknown["models"][0]["pricing"].IsNull()) << "an unknown price is null, not free";

  // Stored, committed with the turn.
  EXPECT_EQ("7", queryOne(db_.db(), "SELECT count(*) FROM models"));
  EXPECT_EQ(std::to_string(kNow), queryOne(db_.db(), "SELECT max(fetched_at) FROM models"));
}

TEST_F(ModelCatalogTest, ARestartServesTheStoredList) {
  make();
  ASSERT_TRUE(refreshNow().ok());
  catalog_->close();
  server_->close();  // Offline from now on.
  catalog_ = std::make_unique<ModelCatalog>(parts());
  ASSERT_TRUE(catalog_->init().ok());
  EXPECT_EQ("fetched", sourceOf("perplexity/sonar"));
  EXPECT_DOUBLE_EQ(0.005, catalog_->find("perplexity/sonar")->pricing.request);
  EXPECT_EQ(kNow, catalog_->fetchedAt().value_or(0));
}

TEST_F(ModelCatalogTest, ConcurrentRefreshesShareOneFetch) {
  make();
  std::vector<size_t> got;
  for (int i = 0; i < 3; ++i) {
    catalog_->refresh([&](Result<size_t> r) {
      ASSERT_TRUE(r.ok()) << r.error().message;
      got.push_back(*r);
    });
  }
  EXPECT_TRUE(catalog_->refreshing());
  ASSERT_TRUE(runUntil([&] { return got.size() == 3; }));
  EXPECT_EQ((std::vector<size_t>{7, 7, 7}), got);
  EXPECT_EQ(1u, server_->requests().size());
  EXPECT_FALSE(catalog_->refreshing());
}

TEST_F(ModelCatalogTest, AFailedRefreshKeepsThePreviousCatalog) {
  make();
  ASSERT_TRUE(refreshNow().ok());
  const double before = catalog_->find("perplexity/sonar")->pricing.request;

  struct Case {
    int status;
    std::string body;
    const char* expect;
  };
  const Case cases[] = {
      {500, R"({"error":{"code":500,"message":"Internal Server Error"}})", "HTTP 500: Internal Server Error"},
      {200, "<html><body>Bad Gateway</body></html>", "not JSON"},
      {200, R"({"data":[]})", "no usable model"},
      {200, R"({"models":[]})", "no \"data\" array"},
  };
  clock_.now = kNow + 1000;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.expect);
    server_->respond(c.status, c.body);
    auto r = refreshNow();
    ASSERT_FALSE(r.ok());
    EXPECT_NE(std::string::npos, r.error().message.find(c.expect)) << r.error().message;
    EXPECT_NE(std::string::npos, r.error().message.find(server_->url("/api/v1/models"))) << r.error().message;
    EXPECT_EQ(std::string::npos, r.error().message.find(kKey));
    EXPECT_EQ("fetched", sourceOf("perplexity/sonar"));
    EXPECT_EQ(before, catalog_->find("perplexity/sonar")->pricing.request);
    EXPECT_EQ(kNow, catalog_->fetchedAt().value_or(0)) << "still the last good fetch";
    EXPECT_EQ("7", queryOne(db_.db(), "SELECT count(*) FROM models"));
  }
  // Unreachable.
  const std::string url = server_->url("/api/v1/models");
  server_->close();
  auto r = refreshNow();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string::npos, r.error().message.find("GET " + url)) << r.error().message;
  EXPECT_EQ("fetched", sourceOf("perplexity/sonar"));
}

TEST_F(ModelCatalogTest, CloseAnswersAWaitingRefreshOnce) {
  server_->respond(200, "{}");
  make();
  int calls = 0;
  std::string error;
  catalog_->refresh([&](Result<size_t> r) {
    ++calls;
    error = r.ok() ? "" : r.error().message;
  });
  catalog_->close();
  EXPECT_EQ(1, calls);
  EXPECT_NE(std::string::npos, error.find("shutting down")) << error;
  // Nothing more arrives, and new refreshes fail at once.
  for (int i = 0; i < 20; ++i) {
    uv_run(&loop_, UV_RUN_NOWAIT);
  }
  EXPECT_EQ(1, calls);
  catalog_->refresh([&](Result<size_t> r) {
    ++calls;
    EXPECT_FALSE(r.ok());
  });
  EXPECT_EQ(2, calls);
}

TEST_F(ModelCatalogTest, RefreshWhileShuttingDownFailsAtOnce) {
  make();
  run_.shutting_down = true;
  int calls = 0;
  catalog_->refresh([&](Result<size_t> r) {
    ++calls;
    EXPECT_FALSE(r.ok());
  });
  EXPECT_EQ(1, calls);
  EXPECT_TRUE(server_->requests().empty());
}

TEST_F(ModelCatalogTest, WithoutAnOpenRouterProviderRefreshFailsAtOnce) {
  config_.providers.clear();
  make();
  int calls = 0;
  catalog_->refresh([&](Result<size_t> r) {
    ++calls;
    ASSERT_FALSE(r.ok());
    EXPECT_NE(std::string::npos, r.error().message.find("no OpenRouter provider"));
  });
  EXPECT_EQ(1, calls);
}

TEST_F(ModelCatalogTest, TheStartupRefreshRunsFromTheLoopNotFromInit) {
  config_.catalog.refresh_at_start = true;
  make();
  EXPECT_TRUE(server_->requests().empty()) << "init() must not wait for the network";
  ASSERT_TRUE(runUntil([&] { return catalog_->find("perplexity/sonar") != nullptr; }));
  EXPECT_EQ(1u, server_->requests().size());
  cycle_->commit();
}

TEST_F(ModelCatalogTest, PeriodicRefreshes) {
  config_.catalog.refresh_ms = 20;  // The file allows 60 s at least; the struct does not care.
  make();
  ASSERT_TRUE(runUntil([&] { return server_->requests().size() >= 3; }));
  cycle_->commit();
  EXPECT_EQ("fetched", sourceOf("perplexity/sonar"));
}

}  // namespace
}  // namespace llmq::daemon
