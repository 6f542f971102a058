// Tests for daemon/config: defaults, the TOML file (unknown keys with their line),
// providers, and the OpenRouter environment variables.
#include "daemon/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "tests/support/temp_dir.h"

namespace llmq::daemon {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"LLMQ_SOCKET", "LLMQ_DB", "LLMQ_CONFIG", "OPENROUTER_API_KEY",
                          "OPEN_ROUTER_API_KEY", "OPENROUTER_BASE_URL", "OPENROUTER_TIMEOUT_MS",
                          "OPENROUTER_MAX_RETRIES", "TEST_VLLM_KEY",
                          "OPENROUTER_API_KEYS", "OPENROUTER_PREFERRED_MODELS"}) {
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

TEST_F(ConfigTest, DefaultsHaveOpenRouterLast) {
  auto c = load("");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(1u, c->providers.size());
  EXPECT_EQ("openrouter", c->providers[0].name);
  EXPECT_EQ("https://openrouter.ai/api/v1", c->providers[0].base_url);
  EXPECT_TRUE(c->providers[0].api_key.empty());
  EXPECT_EQ(4, c->default_max_attempts);
  EXPECT_FALSE(c->default_timeout_ms.has_value());
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
  auto c = load("[[providers]]\nname = \"vllm\"\nbase_url = \"http://127.0.0.1:8000/v1\"\n"
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
