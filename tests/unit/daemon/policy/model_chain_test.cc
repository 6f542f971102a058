// Tests for daemon/policy/model_chain: which models a job tries, and the request body
// of a fallback attempt.
#include "daemon/policy/model_chain.h"

#include <gtest/gtest.h>

#include "common/json.h"
#include "daemon/config.h"

namespace llmq::daemon {
namespace {

TEST(ModelChainTest, OwnFallbacksThenPreferredThenNamedChains) {
  Config config;
  config.preferred_models = {"b/pref", "a/model"};
  config.chains["sturdy"] = {"x/one", "x/two"};
  store::JobRecord job;
  job.model = "a/model";
  EXPECT_EQ((std::vector<std::string>{"a/model", "b/pref"}), modelChain(job, config))
      << "the preferred models, without the job's own model twice";
  job.options.fallback_models = {"c/fb1", "c/fb2"};
  EXPECT_EQ((std::vector<std::string>{"a/model", "c/fb1", "c/fb2"}), modelChain(job, config));
  job.model = "chain:sturdy";
  EXPECT_EQ((std::vector<std::string>{"x/one", "x/two"}), modelChain(job, config));
  job.model = "chain:missing";
  EXPECT_TRUE(modelChain(job, config).empty());
}

TEST(ModelChainTest, WithModelReplacesOnlyTheModel) {
  std::string body = R"({"model":"a/m","messages":[{"role":"user","content":"hi"}],"x":{"y":[1,2]}})";
  json::Document d;
  ASSERT_TRUE(json::parse(d, withModel(body, "b/n"), nullptr));
  EXPECT_STREQ("b/n", d["model"].GetString());
  EXPECT_STREQ("hi", d["messages"][0]["content"].GetString());
  EXPECT_EQ(2u, d["x"]["y"].Size());
  ASSERT_TRUE(json::parse(d, withModel(R"({"messages":[]})", "b/n"), nullptr));
  EXPECT_STREQ("b/n", d["model"].GetString());
}

}  // namespace
}  // namespace llmq::daemon
