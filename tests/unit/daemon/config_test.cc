// Tests for daemon/config: defaults, the TOML file (unknown keys with their line),
// providers, the OpenRouter environment variables, and the money keys ([catalog],
// [[prices]], [budgets], OPENROUTER_COST_BUDGET_USD).
#include "daemon/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <fstream>

#include "tests/support/temp_dir.h"

namespace llmq::daemon {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"LLMQ_SOCKET", "LLMQ_DB", "LLMQ_CONFIG", "OPENROUTER_API_KEY", "OPEN_ROUTER_API_KEY",
                          "OPENROUTER_BASE_URL", "OPENROUTER_TIMEOUT_MS", "OPENROUTER_MAX_RETRIES", "TEST_VLLM_KEY",
                          "OPENROUTER_API_KEYS", "OPENROUTER_PREFERRED_MODELS", "OPENROUTER_COST_BUDGET_USD"}) {
      ::unsetenv(v);
    }
  }
  Result<Config> load(const std::string& toml) {
    std::string path = dir_.file("llmqd.toml");
    std::ofstream(path) << toml;
    CommandLine cli;
    cli.config = path;
    cli.socket = dir_.file("s.sock");
    return loadConfig(cli);
  }
  llmq::testing::TempDir dir_;
};

TEST_F(ConfigTest, ASighupNamesWhatOnlyARestartChangesAndNothingElse) {
  auto running = load("");
  ASSERT_TRUE(running.ok());
  // What SIGHUP applies is not listed.
  auto applied = load("[daemon]\nmax_inflight = 7\n[retry]\ncap_ms = 9000\n[cache]\nenabled = true\n");
  ASSERT_TRUE(applied.ok()) << applied.error().message;
  EXPECT_EQ("", restartOnlyChanges(*running, *applied));
  EXPECT_EQ("", restartOnlyChanges(*running, *running));
  // What needs a restart is, each once, in a fixed order.
  auto fixed = load("[api]\nlisten = \"127.0.0.1:9999\"\n[mock]\nchunk_delay_ms = 1\n[ipc]\nmax_connections = 5\n");
  ASSERT_TRUE(fixed.ok()) << fixed.error().message;
  EXPECT_EQ("[api], [ipc] limits, [mock]", restartOnlyChanges(*running, *fixed));
  Config moved = *running;
  moved.db_path = "/elsewhere.db";
  moved.socket_path = "/elsewhere.sock";
  EXPECT_EQ("the socket, the database", restartOnlyChanges(*running, moved));
}

TEST_F(ConfigTest, DefaultsHaveOpenRouterLast) {
  auto c = load("");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(1u, c->providers.size());
  EXPECT_EQ("openrouter", c->providers[0].name);
  EXPECT_EQ("https://openrouter.ai/api/v1", c->providers[0].base_url);
  EXPECT_TRUE(c->providers[0].api_key.empty());
  EXPECT_EQ(4, c->default_max_attempts);
  // An attempt never runs for ever by default; [http] sets the bounds of an answer.
  EXPECT_EQ(600000, c->default_timeout_ms.value_or(0));
  EXPECT_EQ(size_t{32} << 20, c->http.max_response_bytes);
  EXPECT_EQ(size_t{8} << 20, c->http.max_event_bytes);
}

// toml++ bounds nested arrays and inline tables, not dotted keys or table headers:
// 200,000 parts overflowed the stack (SIGSEGV) while llmqd read its config.
TEST_F(ConfigTest, KeysNestedTooDeepAreRefusedWithTheirLine) {
  std::string deep_key = "a";
  std::string deep_header = "[a";
  for (int i = 0; i < 200000; ++i) {
    deep_key += ".a";
    deep_header += ".a";
  }
  for (const std::string& text : {"[daemon]\n" + deep_key + " = 1\n", "# x\n" + deep_header + "]\nb = 1\n",
                                  "[daemon]\nx = {" + deep_key + " = 1}\n"}) {
    auto c = load(text);
    ASSERT_FALSE(c.ok());
    EXPECT_NE(std::string::npos, c.error().message.find(":2: more than 128 dots")) << c.error().message;
  }
  // Dots inside strings and comments, and 128 of them, are no nesting.
  auto ok = load("# " + std::string(1000, '.') + "\n[openrouter]\ntitle = \"" + std::string(1000, '.') +
                 "\"\nreferer = '''" + std::string(1000, '.') + "'''\n");
  EXPECT_TRUE(ok.ok()) << ok.error().message;
  std::string at_limit = "a";
  for (int i = 0; i < 128; ++i) {
    at_limit += ".a";
  }
  auto unknown = load(at_limit + " = 1\n");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(std::string::npos, unknown.error().message.find("dots")) << unknown.error().message;
}

TEST_F(ConfigTest, UpstreamAnswerBoundsAndTheAttemptTimeoutAreSettings) {
  auto c = load("[http]\nmax_response_bytes = 4096\nmax_event_bytes = 2048\nattempt_timeout_s = 1.5\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(4096u, c->http.max_response_bytes);
  EXPECT_EQ(2048u, c->http.max_event_bytes);
  EXPECT_EQ(1500, c->default_timeout_ms.value_or(0));
  auto off = load("[http]\nattempt_timeout_s = 0\n");
  ASSERT_TRUE(off.ok()) << off.error().message;
  EXPECT_FALSE(off->default_timeout_ms.has_value());
  EXPECT_FALSE(load("[http]\nmax_event_bytes = 10\n").ok());
}

TEST_F(ConfigTest, UnknownKeysAndBadValuesNameTheirLine) {
  auto c = load("[daemon]\nmax_inflight = 8\nmax_infligth = 9\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(std::string::npos, c.error().message.find("llmqd.toml:3: unknown key \"daemon.max_infligth\""))
      << c.error().message;
  auto bad = load("[store]\nsynchronous = \"sometimes\"\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string::npos, bad.error().message.find(":2:")) << bad.error().message;
  auto syntax = load("[daemon\n");
  ASSERT_FALSE(syntax.ok());
}

TEST_F(ConfigTest, ProvidersComeBeforeOpenRouterWithTheirKeys) {
  ::setenv("TEST_VLLM_KEY", "sk-test-local-0123456789", 1);
  ::setenv("OPENROUTER_API_KEY", "sk-or-v1-test0123456789", 1);
  ::setenv("OPENROUTER_BASE_URL", "http://127.0.0.1:9/api/v1/", 1);
  auto c = load(
      "[[providers]]\nname = \"vllm\"\nbase_url = \"http://127.0.0.1:8000/v1\"\n"
      "api_key_env = \"TEST_VLLM_KEY\"\nmodels = [\"llama*\", \"qwen?-*\"]\n"
      "[openrouter]\ntitle = \"my app\"\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(2u, c->providers.size());
  EXPECT_EQ("vllm", c->providers[0].name);
  EXPECT_EQ("sk-test-local-0123456789", c->providers[0].api_key);
  EXPECT_TRUE(c->providers[0].stream_usage);
  EXPECT_EQ("openrouter", c->providers[1].name);
  EXPECT_EQ("http://127.0.0.1:9/api/v1", c->providers[1].base_url) << "trailing slash dropped";
  EXPECT_EQ("sk-or-v1-test0123456789", c->providers[1].api_key);
  EXPECT_EQ("my app", c->providers[1].title);
  // The effective configuration never shows a key in full.
  std::string text = describe(*c);
  EXPECT_EQ(std::string::npos, text.find("sk-or-v1-test0123456789"));
  EXPECT_EQ(std::string::npos, text.find("sk-test-local-0123456789"));
  EXPECT_NE(std::string::npos, text.find("sk-or…6789"));
}

TEST_F(ConfigTest, ProviderNeedsNameUrlAndModels) {
  auto c = load("[[providers]]\nname = \"x\"\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(std::string::npos, c.error().message.find("needs name, base_url and models"));
  auto reserved = load("[[providers]]\nname = \"mock\"\nbase_url = \"http://x\"\nmodels = [\"*\"]\n");
  ASSERT_FALSE(reserved.ok());
}

TEST_F(ConfigTest, ABaseUrlThatIsNotHttpRefusesToStart) {
  for (const char* url : {"file:///etc/passwd", "gopher://127.0.0.1/", "ftp://x/v1", "http://", "https:///v1",
                          "http://host/v1\r\nX-Evil: 1", "127.0.0.1:8000/v1"}) {
    ::setenv("OPENROUTER_BASE_URL", url, 1);
    auto c = load("");
    ASSERT_FALSE(c.ok()) << url;
    EXPECT_NE(std::string::npos, c.error().message.find("OPENROUTER_BASE_URL")) << c.error().message;
    ::unsetenv("OPENROUTER_BASE_URL");
    auto provider =
        load(std::string("[[providers]]\nname = \"vllm\"\nbase_url = \"") + url + "\"\nmodels = [\"*\"]\n");
    ASSERT_FALSE(provider.ok()) << url;
  }
  ::setenv("OPENROUTER_BASE_URL", "HTTPS://openrouter.example/api/v1", 1);
  auto upper = load("");
  EXPECT_TRUE(upper.ok()) << upper.error().message;
}

TEST_F(ConfigTest, NamedChains) {
  auto c = load("[chains]\nsturdy = [\"a/one\", \"b/two\"]\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ((std::vector<std::string>{"a/one", "b/two"}), c->chains["sturdy"]);
  auto empty = load("[chains]\nnone = []\n");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(std::string::npos, empty.error().message.find(":2:")) << empty.error().message;
}

TEST_F(ConfigTest, OpenRouterEnvironment) {
  ::setenv("OPEN_ROUTER_API_KEY", "sk-or-v1-test-alias-0123456789", 1);
  ::setenv("OPENROUTER_TIMEOUT_MS", "1500", 1);
  ::setenv("OPENROUTER_MAX_RETRIES", "2", 1);
  ::setenv("OPENROUTER_PREFERRED_MODELS", "[\"x/a\",\"x/b\"]", 1);
  auto c = load("");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ("sk-or-v1-test-alias-0123456789", c->providers[0].api_key);
  EXPECT_EQ(1500, c->default_timeout_ms.value_or(0));
  EXPECT_EQ(3, c->default_max_attempts);
  EXPECT_EQ((std::vector<std::string>{"x/a", "x/b"}), c->preferred_models);
  ::setenv("OPENROUTER_MAX_RETRIES", "lots", 1);
  EXPECT_FALSE(load("").ok());
}

TEST_F(ConfigTest, TheKeyPoolIsAJsonArrayOrACommaList) {
  ::setenv("OPENROUTER_API_KEYS", " [\"sk-or-v1-testa01\", \"sk-or-v1-testb02\"]\n", 1);
  auto c = load("");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ((std::vector<std::string>{"sk-or-v1-testa01", "sk-or-v1-testb02"}), c->openrouter_pool);
  ::setenv("OPENROUTER_API_KEYS", "sk-or-v1-testa01, sk-or-v1-testb02,,", 1);
  c = load("");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ((std::vector<std::string>{"sk-or-v1-testa01", "sk-or-v1-testb02"}), c->openrouter_pool);
}

// A malformed key setting refuses to start, naming the variable and never the key:
// before, a JSON array missing its "]" was split as a comma list and the upstream
// got `Bearer ["sk-or-...`.
TEST_F(ConfigTest, AMalformedKeySettingRefusesToStart) {
  const std::string secret = "sk-or-v1-testsecret9f8e7d";
  for (const std::string& bad :
       {"[\"" + secret + "\", \"sk-or-v1-testb02\"", "[\"" + secret + "\", 7]", "[\"" + secret + "\", \"\"]",
        "\"" + secret + "\"", secret + " sk-or-v1-testb02", secret + ",sk-or-v1-te\x01st",
        secret + ",sk-or-v1-t\xc3\xa9st", "{" + secret + "}", std::string(2000, 'k')}) {
    SCOPED_TRACE(bad);
    ::setenv("OPENROUTER_API_KEYS", bad.c_str(), 1);
    auto c = load("");
    ASSERT_FALSE(c.ok()) << "accepted";
    EXPECT_NE(std::string::npos, c.error().message.find("OPENROUTER_API_KEYS")) << c.error().message;
    EXPECT_EQ(std::string::npos, c.error().message.find(secret)) << c.error().message;
  }
  ::unsetenv("OPENROUTER_API_KEYS");
  for (const std::string& bad : {secret + "\n", "\"" + secret + "\"", secret + " x", "[" + secret + "]"}) {
    SCOPED_TRACE(bad);
    ::setenv("OPENROUTER_API_KEY", bad.c_str(), 1);
    auto c = load("");
    ASSERT_FALSE(c.ok()) << "accepted";
    EXPECT_NE(std::string::npos, c.error().message.find("OPENROUTER_API_KEY ")) << c.error().message;
    EXPECT_EQ(std::string::npos, c.error().message.find(secret)) << c.error().message;
  }
}

}  // namespace
}  // namespace llmq::daemon

namespace llmq::daemon {
namespace {

class LimitsConfigTest : public ConfigTest {};

TEST_F(LimitsConfigTest, FreeModelsGetTwentyRequestsPerMinuteByDefault) {
  auto c = load("");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(1u, c->limits.rules.size());
  EXPECT_EQ("*:free", c->limits.rules[0].match);
  EXPECT_EQ(20, c->limits.rules[0].rpm);
  EXPECT_EQ(LimitScope::kModel, c->limits.rules[0].scope);
}

TEST_F(LimitsConfigTest, KeyAndModelRulesFromTheFile) {
  auto c = load(
      "[limits]\nguard_ms = 5\n"
      "[[limits.key]]\nmatch = \"pool-*\"\nrps = 50\nconcurrency = 8\n"
      "[[limits.model]]\nmatch = \"openai/*\"\nrpm = 500\ntpm = 90000\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(5, c->limits.guard_ms);
  ASSERT_EQ(2u, c->limits.rules.size()) << "model rules replace the built-in one";
  EXPECT_EQ(LimitScope::kKey, c->limits.rules[0].scope);
  EXPECT_EQ(50, c->limits.rules[0].rps);
  EXPECT_EQ(8, c->limits.rules[0].concurrency);
  EXPECT_EQ("openai/*", c->limits.rules[1].match);
  EXPECT_EQ(90000, c->limits.rules[1].tpm);
  EXPECT_NE(std::string::npos, describe(*c).find("[[limits.key]]\nmatch = \"pool-*\"\nrps = 50"));

  auto keys_only = load("[[limits.key]]\nmatch = \"*\"\nrpm = 60\n");
  ASSERT_TRUE(keys_only.ok()) << keys_only.error().message;
  EXPECT_EQ(2u, keys_only->limits.rules.size()) << "key rules keep the free-model default";
}

TEST_F(LimitsConfigTest, BadRulesNameTheirLine) {
  auto unknown = load("[[limits.key]]\nmatch = \"*\"\nrpn = 5\n");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(std::string::npos, unknown.error().message.find(":3: unknown key \"limits.key.rpn\""))
      << unknown.error().message;
  auto empty = load("[[limits.model]]\nmatch = \"*\"\n");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(std::string::npos, empty.error().message.find("needs rpm, rps, tpm or concurrency"));
  auto no_match = load("[[limits.model]]\nrpm = 5\n");
  ASSERT_FALSE(no_match.ok());
  auto negative = load("[[limits.model]]\nmatch = \"*\"\nrpm = -1\n");
  ASSERT_FALSE(negative.ok());
  auto scope = load("[[limits.client]]\nmatch = \"*\"\nrpm = 1\n");
  ASSERT_FALSE(scope.ok());
}

}  // namespace
}  // namespace llmq::daemon

namespace llmq::daemon {
namespace {

class MoneyConfigTest : public ConfigTest {};

TEST_F(MoneyConfigTest, Defaults) {
  auto c = load("");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(3600000, c->catalog.refresh_ms);
  EXPECT_TRUE(c->catalog.refresh_at_start);
  EXPECT_TRUE(c->prices.empty());
  EXPECT_EQ("UTC", c->budget_time_zone);
  EXPECT_FALSE(c->cost_budget_usd.has_value());
  std::string text = describe(*c);
  EXPECT_NE(std::string::npos, text.find("[catalog]\nrefresh_s = 3600\nrefresh_at_start = true\n"));
  EXPECT_NE(std::string::npos, text.find("[budgets]\ntime_zone = \"UTC\"\n"));
  EXPECT_NE(std::string::npos, text.find("# OPENROUTER_COST_BUDGET_USD: not set"));
}

TEST_F(MoneyConfigTest, CatalogRefresh) {
  auto c = load("[catalog]\nrefresh_s = 0\nrefresh_at_start = false\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(0, c->catalog.refresh_ms);
  EXPECT_FALSE(c->catalog.refresh_at_start);
  auto daily = load("[catalog]\nrefresh_s = 86400\n");
  ASSERT_TRUE(daily.ok()) << daily.error().message;
  EXPECT_EQ(86400000, daily->catalog.refresh_ms);

  auto hammering = load("[catalog]\nrefresh_s = 5\n");
  ASSERT_FALSE(hammering.ok());
  EXPECT_NE(std::string::npos, hammering.error().message.find(":2: catalog.refresh_s must be 0"))
      << hammering.error().message;
  auto typo = load("[catalog]\nrefresh = 60\n");
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(std::string::npos, typo.error().message.find(":2: unknown key \"catalog.refresh\""))
      << typo.error().message;
  auto not_bool = load("[catalog]\nrefresh_at_start = \"yes\"\n");
  ASSERT_FALSE(not_bool.ok());
  EXPECT_NE(std::string::npos, not_bool.error().message.find("must be true or false"));
}

TEST_F(MoneyConfigTest, PriceOverridesInFileOrder) {
  auto c = load(
      "[[prices]]\nmatch = \"local-vllm/*\"\nprompt_usd_per_mtok = 0.5\ncompletion_usd_per_mtok = 1.5\n"
      "request_usd = 0.001\ncache_read_usd_per_mtok = 0.05\ncache_write_usd_per_mtok = 0.625\n"
      "context_length = 32768\nmax_completion_tokens = 4096\n"
      "[[prices]]\nmatch = \"*\"\nprompt_usd_per_mtok = 0\ncompletion_usd_per_mtok = 0\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(2u, c->prices.size());
  const PriceOverride& o = c->prices[0];
  EXPECT_EQ("local-vllm/*", o.match);
  EXPECT_TRUE(o.pricing.known);
  EXPECT_DOUBLE_EQ(0.5e-6, o.pricing.prompt) << "per million tokens in the file, per token inside";
  EXPECT_DOUBLE_EQ(1.5e-6, o.pricing.completion);
  EXPECT_DOUBLE_EQ(0.001, o.pricing.request) << "per request, as written";
  EXPECT_DOUBLE_EQ(0.05e-6, o.pricing.cache_read);
  EXPECT_DOUBLE_EQ(0.625e-6, o.pricing.cache_write);
  EXPECT_EQ(32768, o.context_length);
  EXPECT_EQ(4096, o.max_completion_tokens);
  EXPECT_EQ("*", c->prices[1].match);
  EXPECT_EQ(0.0, c->prices[1].pricing.prompt);
  EXPECT_EQ(0, c->prices[1].context_length);
  std::string text = describe(*c);
  EXPECT_NE(std::string::npos, text.find("[[prices]]\nmatch = \"local-vllm/*\"\nprompt_usd_per_mtok = 0.5\n"
                                         "completion_usd_per_mtok = 1.5\nrequest_usd = 0.001\n"))
      << text;
  EXPECT_NE(std::string::npos, text.find("context_length = 32768\nmax_completion_tokens = 4096\n"));
}

TEST_F(MoneyConfigTest, BadPriceOverridesNameTheirLine) {
  auto unknown = load(
      "[[prices]]\nmatch = \"*\"\nprompt_usd_per_mtok = 1\ncompletion_usd_per_mtok = 1\n"
      "image_usd = 1\n");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(std::string::npos, unknown.error().message.find(":5: unknown key \"prices.image_usd\""))
      << unknown.error().message;
  auto no_match = load("[[prices]]\nprompt_usd_per_mtok = 1\ncompletion_usd_per_mtok = 1\n");
  ASSERT_FALSE(no_match.ok());
  EXPECT_NE(std::string::npos, no_match.error().message.find("needs match"));
  // A forgotten price must never make a model free.
  auto half = load("[[prices]]\nmatch = \"x/*\"\nprompt_usd_per_mtok = 1\n");
  ASSERT_FALSE(half.ok());
  EXPECT_NE(std::string::npos, half.error().message.find("completion_usd_per_mtok"));
  auto negative = load("[[prices]]\nmatch = \"x\"\nprompt_usd_per_mtok = -1\ncompletion_usd_per_mtok = 1\n");
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(std::string::npos, negative.error().message.find(":3:")) << negative.error().message;
  auto table = load("[prices]\nmatch = \"x\"\n");
  ASSERT_FALSE(table.ok());
  EXPECT_NE(std::string::npos, table.error().message.find("[[prices]]"));
  auto zero_context = load(
      "[[prices]]\nmatch = \"x\"\nprompt_usd_per_mtok = 1\n"
      "completion_usd_per_mtok = 1\ncontext_length = 0\n");
  ASSERT_FALSE(zero_context.ok());
}

TEST_F(MoneyConfigTest, BudgetTimeZone) {
  auto utc = load("[budgets]\ntime_zone = \"UTC\"\n");
  ASSERT_TRUE(utc.ok()) << utc.error().message;
  EXPECT_EQ("UTC", utc->budget_time_zone);
  // A zone with a file under /usr/share/zoneinfo (tzdata is a build dependency of
  // nothing here, so the test only insists when the file is there).
  if (FILE* f = std::fopen("/usr/share/zoneinfo/Europe/Paris", "r")) {
    std::fclose(f);
    auto paris = load("[budgets]\ntime_zone = \"Europe/Paris\"\n");
    ASSERT_TRUE(paris.ok()) << paris.error().message;
    EXPECT_EQ("Europe/Paris", paris->budget_time_zone);
    EXPECT_NE(std::string::npos, describe(*paris).find("time_zone = \"Europe/Paris\""));
  }
  for (const char* bad :
       {"Mars/Olympus_Mons", "", "../../../etc/passwd", "/etc/localtime", "Europe", "Europe/Paris; rm", "utc"}) {
    SCOPED_TRACE(bad);
    auto c = load(std::string("[budgets]\ntime_zone = \"") + bad + "\"\n");
    ASSERT_FALSE(c.ok());
    EXPECT_NE(std::string::npos, c.error().message.find(":2: budgets.time_zone must be \"UTC\""))
        << c.error().message;
  }
  auto typo = load("[budgets]\ntimezone = \"UTC\"\n");
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(std::string::npos, typo.error().message.find("unknown key \"budgets.timezone\""));
}

TEST_F(MoneyConfigTest, CostBudgetFromTheEnvironment) {
  ::setenv("OPENROUTER_COST_BUDGET_USD", "25.50", 1);
  auto c = load("");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_TRUE(c->cost_budget_usd.has_value());
  EXPECT_DOUBLE_EQ(25.5, *c->cost_budget_usd);
  EXPECT_NE(std::string::npos, describe(*c).find("# OPENROUTER_COST_BUDGET_USD: 25.5"));
  ::setenv("OPENROUTER_COST_BUDGET_USD", "1e3", 1);
  ASSERT_TRUE(load("").ok());
  for (const char* bad : {"0", "-5", "ten", "10$", "nan", "inf", "1e999"}) {
    SCOPED_TRACE(bad);
    ::setenv("OPENROUTER_COST_BUDGET_USD", bad, 1);
    auto r = load("");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(std::string::npos, r.error().message.find("OPENROUTER_COST_BUDGET_USD must be a positive number"))
        << r.error().message;
  }
  ::setenv("OPENROUTER_COST_BUDGET_USD", "", 1);
  auto unset = load("");
  ASSERT_TRUE(unset.ok()) << "empty is as good as unset";
  EXPECT_FALSE(unset->cost_budget_usd.has_value());
}

}  // namespace
}  // namespace llmq::daemon

namespace llmq::daemon {
namespace {

class RoutingConfigTest : public ConfigTest {};

TEST_F(RoutingConfigTest, AliasesKeepFileOrderAndRoutesTheirStrategy) {
  // toml++ sorts a table's keys; the aliases must still come out in file order.
  auto c = load(
      "[aliases]\n\"zeta-*\" = \"z/one\"\n\"claude-sonnet-*\" = \"anthropic/claude-3.5-sonnet\"\n"
      "mini = \"openai/gpt-4o-mini\"\n\"gpt-4.1\" = \"openai/gpt-4.1\"\n"
      "[[routes]]\nname = \"coding\"\nmodels = [\"claude-sonnet-latest\", \"openai/gpt-4o\"]\n"
      "[[routes]]\nname = \"cheap\"\nmodels = [\"mini\", \"meta-llama/llama-3.1-8b-instruct:free\"]\n"
      "strategy = \"cost-optimized\"\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(4u, c->aliases.size());
  EXPECT_EQ("zeta-*", c->aliases[0].match);
  EXPECT_EQ("z/one", c->aliases[0].model);
  EXPECT_EQ("claude-sonnet-*", c->aliases[1].match);
  EXPECT_EQ("mini", c->aliases[2].match);
  EXPECT_EQ("gpt-4.1", c->aliases[3].match);
  ASSERT_EQ(2u, c->routes.size());
  EXPECT_EQ("coding", c->routes[0].name);
  EXPECT_EQ(RouteStrategy::kOrdered, c->routes[0].strategy) << "the default";
  EXPECT_EQ((std::vector<std::string>{"claude-sonnet-latest", "openai/gpt-4o"}), c->routes[0].models);
  EXPECT_EQ(RouteStrategy::kCostOptimized, c->routes[1].strategy);
  std::string text = describe(*c);
  EXPECT_NE(std::string::npos,
            text.find("\"zeta-*\" = \"z/one\"\n\"claude-sonnet-*\" = \"anthropic/claude-3.5-sonnet\"\n"))
      << text;
  EXPECT_NE(std::string::npos,
            text.find("[[routes]]\nname = \"cheap\"\nmodels = [\"mini\", "
                      "\"meta-llama/llama-3.1-8b-instruct:free\"]\nstrategy = \"cost-optimized\"\n"))
      << text;
}

TEST_F(RoutingConfigTest, ARouteMayGiveItsJobsAResponseFormatAndASystemPrompt) {
  auto c = load(
      "[[routes]]\nname = \"extract\"\nmodels = [\"a/b\"]\nsystem_prompt = \"Answer in JSON.\"\n"
      "response_format = '{\"type\": \"json_schema\", \"json_schema\": {\"name\": \"x\", \"strict\": true,"
      " \"schema\": {\"type\": \"object\"}}}'\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(1u, c->routes.size());
  EXPECT_EQ("Answer in JSON.", c->routes[0].system_prompt);
  EXPECT_EQ(R"({"type":"json_schema","json_schema":{"name":"x","strict":true,"schema":{"type":"object"}}})",
            c->routes[0].response_format);
  const std::string text = describe(*c);
  EXPECT_NE(std::string::npos, text.find("system_prompt = \"Answer in JSON.\"\n")) << text;
  // Not JSON, not an object with a type, or a schema llmqd would refuse each job for.
  for (const char* bad : {"'{\"type\": '", "'[1]'", "'{\"json_schema\": {}}'",
                          "'{\"type\": \"json_schema\", \"json_schema\": {\"strict\": true, \"schema\": "
                          "{\"$ref\": \"http://example.com/s\"}}}'"}) {
    auto refused =
        load("[[routes]]\nname = \"x\"\nmodels = [\"a/b\"]\nresponse_format = " + std::string(bad) + "\n");
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_NE(std::string::npos, refused.error().message.find(":4: routes.response_format"))
        << refused.error().message;
  }
}

TEST_F(RoutingConfigTest, BadAliasesNameTheirLine) {
  auto wildcard_target = load("[aliases]\n\"a-*\" = \"b/*\"\n");
  ASSERT_FALSE(wildcard_target.ok());
  EXPECT_NE(std::string::npos, wildcard_target.error().message.find(":2: aliases.\"a-*\" must name a concrete"))
      << wildcard_target.error().message;
  auto chain_target = load("[aliases]\nx = \"chain:sturdy\"\n");
  ASSERT_FALSE(chain_target.ok());
  auto not_string = load("[aliases]\n\nx = 3\n");
  ASSERT_FALSE(not_string.ok());
  EXPECT_NE(std::string::npos, not_string.error().message.find(":3: aliases.\"x\" must be a string"))
      << not_string.error().message;
  // An unquoted name with a dot is a dotted key, i.e. a table: say how to write it.
  auto dotted = load("[aliases]\ngpt-4.1 = \"openai/gpt-4.1\"\n");
  ASSERT_FALSE(dotted.ok());
  EXPECT_NE(std::string::npos, dotted.error().message.find("quote alias names")) << dotted.error().message;
  auto route_name = load("[aliases]\n\"route:x\" = \"a/b\"\n");
  ASSERT_FALSE(route_name.ok());
  auto not_table = load("aliases = \"x\"\n");
  ASSERT_FALSE(not_table.ok());
}

TEST_F(RoutingConfigTest, BadRoutesNameTheirLine) {
  auto unknown = load("[[routes]]\nname = \"x\"\nmodels = [\"a/b\"]\nfallbacks = [\"c/d\"]\n");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(std::string::npos, unknown.error().message.find(":4: unknown key \"routes.fallbacks\""))
      << unknown.error().message;
  auto empty = load("[[routes]]\nname = \"x\"\nmodels = []\n");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(std::string::npos, empty.error().message.find("route \"x\" needs a non-empty models list"))
      << empty.error().message;
  auto no_models = load("[[routes]]\nname = \"x\"\n");
  ASSERT_FALSE(no_models.ok());
  auto no_name = load("[[routes]]\nmodels = [\"a/b\"]\n");
  ASSERT_FALSE(no_name.ok());
  EXPECT_NE(std::string::npos, no_name.error().message.find("a route needs a name"));
  auto strategy = load("[[routes]]\nname = \"x\"\nmodels = [\"a/b\"]\nstrategy = \"cheapest\"\n");
  ASSERT_FALSE(strategy.ok());
  EXPECT_NE(std::string::npos, strategy.error().message.find(
                                   ":4: routes.strategy must be ordered, cost-optimized, round-robin, random, "
                                   "weighted, least-used, fastest or most-reliable, not \"cheapest\""))
      << strategy.error().message;
  // Weights: a weighted route has them, one per model, each above 0; no other route has them.
  auto weighted =
      load("[[routes]]\nname = \"x\"\nmodels = [\"a/b\", \"c/d\"]\nstrategy = \"weighted\"\nweights = [3, 1.5]\n");
  ASSERT_TRUE(weighted.ok()) << weighted.error().message;
  EXPECT_EQ(RouteStrategy::kWeighted, weighted->routes[0].strategy);
  EXPECT_EQ((std::vector<double>{3, 1.5}), weighted->routes[0].weights);
  for (const char* bad :
       {"strategy = \"weighted\"\n", "strategy = \"weighted\"\nweights = [1]\n",
        "strategy = \"weighted\"\nweights = [1, 0]\n", "strategy = \"weighted\"\nweights = [1, -2]\n",
        "strategy = \"weighted\"\nweights = [1, \"a\"]\n", "weights = [1, 1]\n",
        "strategy = \"weighted\"\nweights = [1, 1e7]\n", "strategy = \"weighted\"\nweights = 1\n"}) {
    EXPECT_FALSE(load(std::string("[[routes]]\nname = \"x\"\nmodels = [\"a/b\", \"c/d\"]\n") + bad).ok()) << bad;
  }
  for (const char* name : {"round-robin", "random", "least-used", "fastest", "most-reliable"}) {
    auto ok = load(std::string("[[routes]]\nname = \"x\"\nmodels = [\"a/b\"]\nstrategy = \"") + name + "\"\n");
    ASSERT_TRUE(ok.ok()) << name;
    EXPECT_STREQ(name, routeStrategyName(ok->routes[0].strategy));
  }
  auto twice =
      load("[[routes]]\nname = \"x\"\nmodels = [\"a/b\"]\n\n[[routes]]\nname = \"x\"\nmodels = [\"c/d\"]\n");
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(std::string::npos, twice.error().message.find(":5: route \"x\" is already defined at line 1"))
      << twice.error().message;
  auto repeated = load("[[routes]]\nname = \"x\"\nmodels = [\"a/b\", \"a/b\"]\n");
  ASSERT_FALSE(repeated.ok());
  EXPECT_NE(std::string::npos, repeated.error().message.find("lists \"a/b\" twice"));
  auto chain = load("[[routes]]\nname = \"x\"\nmodels = [\"chain:sturdy\"]\n");
  ASSERT_FALSE(chain.ok());
  auto table = load("[routes]\nname = \"x\"\n");
  ASSERT_FALSE(table.ok());
  EXPECT_NE(std::string::npos, table.error().message.find("[[routes]]"));
}

}  // namespace
}  // namespace llmq::daemon
