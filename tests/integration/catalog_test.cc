// Integration: the model catalog of a real llmqd against the fake upstream's
// GET /models: models.list with refresh:true fetches (with the key) and prices
// from the list, a restart serves the stored list with the fake gone, a failed
// fetch keeps the old data, [[prices]] overrides win, the startup fetch never
// holds up readiness, and the key never reaches the log.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/daemon_fixture.h"
#include "tests/support/rpc.h"

namespace llmq::testing {
namespace {

constexpr char kKey[] = "sk-or-v1-catalog7e1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a7f8e9d0c1b2a";

class CatalogTest : public DaemonFixture {
 protected:
  void SetUp() override { startFake(); }
  void startDaemon(const std::string& toml = "", bool catalog_fetch = false) {
    launchDaemon({.config_toml = toml, .catalog_fetch = catalog_fetch, .extra_env = fakeEnv(kKey)});
  }
  // models.list, by id.
  std::map<std::string, json::Document> models(const std::string& params = "{}",
                                               std::string* fetched_at = nullptr) {
    json::Document r = callOk(*client_, "models.list", params, 30000);
    std::map<std::string, json::Document> out;
    if (!r.IsObject() || !r["models"].IsArray()) {
      ADD_FAILURE() << "no models array";
      return out;
    }
    for (const auto& m : r["models"].GetArray()) {
      json::Document d;
      d.CopyFrom(m, d.GetAllocator());
      out[m["id"].GetString()] = std::move(d);
    }
    if (fetched_at != nullptr) {
      *fetched_at = r["fetched_at"].IsString() ? r["fetched_at"].GetString() : "";
    }
    return out;
  }
  std::vector<FakeRequest> modelGets() {
    std::vector<FakeRequest> out;
    for (FakeRequest& r : fake_.requests()) {
      if (r.method == "GET" && r.path == fake_.path("/models")) {
        out.push_back(std::move(r));
      }
    }
    return out;
  }
};

TEST_F(CatalogTest, RefreshFetchesTheListWithTheKeyAndPricesFromIt) {
  startDaemon();
  std::string fetched_at;
  auto before = models("{}", &fetched_at);
  EXPECT_TRUE(fetched_at.empty()) << "nothing fetched before being asked (tests turn the startup fetch off)";
  EXPECT_STREQ("builtin", before.at("openai/gpt-4o-mini")["source"].GetString());
  EXPECT_EQ(0u, before.count("fake/ok"));
  EXPECT_TRUE(modelGets().empty());

  auto after = models(R"({"refresh":true})", &fetched_at);
  EXPECT_FALSE(fetched_at.empty());
  auto gets = modelGets();
  ASSERT_EQ(1u, gets.size());
  EXPECT_EQ(std::string("Bearer ") + kKey, gets[0].header("authorization"));
  EXPECT_EQ("llmq", gets[0].header("x-title"));

  // The fake's list, at its prices (USD per token, numbers now).
  const json::Document& ok = after.at("fake/ok");
  EXPECT_STREQ("fetched", ok["source"].GetString());
  EXPECT_STREQ("openrouter", ok["provider"].GetString());
  EXPECT_STREQ("Fake: OK", ok["name"].GetString());
  EXPECT_EQ(32768, ok["context_length"].GetInt64());
  EXPECT_EQ(4096, ok["max_completion_tokens"].GetInt64());
  EXPECT_DOUBLE_EQ(1e-6, ok["pricing"]["prompt"].GetDouble());
  EXPECT_DOUBLE_EQ(2e-6, ok["pricing"]["completion"].GetDouble());
  const json::Document& mini = after.at("openai/gpt-4o-mini");
  EXPECT_STREQ("fetched", mini["source"].GetString());
  EXPECT_DOUBLE_EQ(0.15e-6, mini["pricing"]["prompt"].GetDouble());
  EXPECT_DOUBLE_EQ(0.075e-6, mini["pricing"]["cache_read"].GetDouble());
  EXPECT_DOUBLE_EQ(0.000217, mini["pricing"]["image"].GetDouble());
  const json::Document& claude = after.at("anthropic/claude-3.5-sonnet");
  EXPECT_DOUBLE_EQ(3.75e-6, claude["pricing"]["cache_write"].GetDouble());
  const json::Document& free = after.at("meta-llama/llama-3.1-8b-instruct:free");
  EXPECT_EQ(0.0, free["pricing"]["prompt"].GetDouble());
  EXPECT_EQ(0.0, free["pricing"]["completion"].GetDouble());
  EXPECT_STREQ("fetched", free["source"].GetString());
  EXPECT_STREQ("builtin", after.at("openai/gpt-4o")["source"].GetString()) << "not in the fake's list";
  EXPECT_STREQ("mock", after.at("mock/*")["source"].GetString());

  // Without refresh, the same list, and no second GET.
  auto again = models(R"({"filter":"fake/"})");
  ASSERT_EQ(1u, again.size());
  EXPECT_STREQ("fetched", again.at("fake/ok")["source"].GetString());
  EXPECT_EQ(1u, modelGets().size());
  EXPECT_EQ(std::string::npos, daemon_->log().find(kKey)) << "the key must never be logged";
}

TEST_F(CatalogTest, ARestartServesTheStoredListWithTheUpstreamGone) {
  startDaemon();
  std::string fetched_at;
  models(R"({"refresh":true})", &fetched_at);
  ASSERT_FALSE(fetched_at.empty());
  ASSERT_TRUE(daemon_->stop());
  ASSERT_TRUE(fake_.stop());

  startDaemon();
  std::string after_restart;
  auto list = models("{}", &after_restart);
  EXPECT_EQ(fetched_at, after_restart) << "the stored fetch, with its time";
  ASSERT_EQ(1u, list.count("fake/ok"));
  EXPECT_STREQ("fetched", list.at("fake/ok")["source"].GetString());
  EXPECT_DOUBLE_EQ(2e-6, list.at("fake/ok")["pricing"]["completion"].GetDouble());

  // Asking for a fresh list now fails, clearly, and changes nothing.
  std::string message;
  EXPECT_EQ(-32603, callError(*client_, "models.list", R"({"refresh":true})", &message, 30000));
  EXPECT_NE(std::string::npos, message.find("refreshing the model catalog failed")) << message;
  EXPECT_NE(std::string::npos, message.find(fake_.path("/models"))) << message;
  EXPECT_STREQ("fetched", models().at("fake/ok")["source"].GetString());
}

TEST_F(CatalogTest, AFailedRefreshKeepsTheOldData) {
  startDaemon();
  std::string fetched_at;
  models(R"({"refresh":true})", &fetched_at);
  ASSERT_FALSE(fetched_at.empty());

  for (const char* fault : {"500", "malformed", "drop"}) {
    SCOPED_TRACE(fault);
    ASSERT_TRUE(fake_.setFault(fault, -1, "/models"));
    std::string message;
    EXPECT_EQ(-32603, callError(*client_, "models.list", R"({"refresh":true})", &message, 30000));
    EXPECT_NE(std::string::npos, message.find("the previous one stays in use")) << message;
    if (std::string(fault) == "500") {
      EXPECT_NE(std::string::npos, message.find("HTTP 500")) << message;
    }
    std::string still;
    auto list = models("{}", &still);
    EXPECT_EQ(fetched_at, still);
    EXPECT_STREQ("fetched", list.at("fake/ok")["source"].GetString());
  }
  EXPECT_NE(std::string::npos,
            daemon_->log().find("refreshing the model catalog failed, keeping the previous prices"));

  // And once the upstream is well again, a refresh succeeds.
  ASSERT_TRUE(fake_.setFault("", -1, "/models"));
  std::string later;
  models(R"({"refresh":true})", &later);
  EXPECT_GT(later, fetched_at);
}

TEST_F(CatalogTest, ConfigPriceOverridesWin) {
  startDaemon(
      "[[prices]]\nmatch = \"fake/*\"\nprompt_usd_per_mtok = 10\ncompletion_usd_per_mtok = 20\n"
      "context_length = 1000\n"
      "[[prices]]\nmatch = \"local/only-here\"\nprompt_usd_per_mtok = 0.25\ncompletion_usd_per_mtok = 0.5\n");
  auto list = models(R"({"refresh":true})");
  const json::Document& ok = list.at("fake/ok");
  EXPECT_STREQ("config", ok["source"].GetString());
  EXPECT_DOUBLE_EQ(10e-6, ok["pricing"]["prompt"].GetDouble());
  EXPECT_DOUBLE_EQ(20e-6, ok["pricing"]["completion"].GetDouble());
  EXPECT_EQ(1000, ok["context_length"].GetInt64());
  EXPECT_EQ(4096, ok["max_completion_tokens"].GetInt64()) << "what the override leaves out stays fetched";
  EXPECT_STREQ("fetched", list.at("openai/gpt-4o-mini")["source"].GetString());
  EXPECT_STREQ("config", list.at("fake/*")["source"].GetString()) << "the pattern itself is listed";
  EXPECT_STREQ("config", list.at("local/only-here")["source"].GetString());
  EXPECT_DOUBLE_EQ(0.25e-6, list.at("local/only-here")["pricing"]["prompt"].GetDouble());
}

TEST_F(CatalogTest, TheStartupFetchDoesNotHoldUpReadiness) {
  // The fake sits on GET /models for 1.5 s; llmqd is ready (and answering) first.
  ASSERT_TRUE(fake_.setFault("delay-1500", 1, "/models"));
  startDaemon("", /*catalog_fetch=*/true);
  std::string fetched_at;
  models("{}", &fetched_at);
  EXPECT_TRUE(fetched_at.empty()) << "ready before the list arrived";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (fetched_at.empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    models("{}", &fetched_at);
  }
  EXPECT_FALSE(fetched_at.empty()) << "the startup fetch never completed";
  EXPECT_EQ(1u, modelGets().size());
  EXPECT_STREQ("fetched", models().at("fake/ok")["source"].GetString());
}

TEST_F(CatalogTest, BadParamsAreRefused) {
  startDaemon();
  EXPECT_EQ(-32602, callError(*client_, "models.list", R"({"refresh":"yes"})"));
  EXPECT_EQ(-32602, callError(*client_, "models.list", R"({"filter":7})"));
  EXPECT_EQ(-32602, callError(*client_, "models.list", R"({"refresh":true,"bogus":1})"));
  EXPECT_TRUE(modelGets().empty());
}

}  // namespace
}  // namespace llmq::testing
