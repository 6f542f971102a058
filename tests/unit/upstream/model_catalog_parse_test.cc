// Tests for upstream/model_catalog_parse: a captured OpenRouter /models body
// (tests/data/openrouter_models.json) with the price shapes that occur there,
// malformed entries that are skipped, and bodies that are errors.
#include "upstream/model_catalog_parse.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "tests/support/temp_dir.h"

namespace llmq::upstream {
namespace {

constexpr double kEps = 1e-15;

std::map<std::string, ModelInfo> byId(const ParsedCatalog& c) {
  std::map<std::string, ModelInfo> out;
  for (const ModelInfo& m : c.models) {
    out[m.id] = m;
  }
  return out;
}

class ModelCatalogParseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = parseModelCatalog(llmq::testing::readTestData("openrouter_models.json"), "openrouter");
    ASSERT_TRUE(r.ok()) << r.error().message;
    parsed_ = std::move(r).value();
    models_ = byId(parsed_);
  }
  ParsedCatalog parsed_;
  std::map<std::string, ModelInfo> models_;
};

TEST_F(ModelCatalogParseTest, KeepsGoodEntriesInOrderAndSkipsMalformedOnes) {
  ASSERT_EQ(7u, parsed_.models.size());
  EXPECT_EQ(4u, parsed_.skipped) << "no id, a price that is not a number, pricing not an object, "
                                    "an entry that is not an object";
  EXPECT_EQ("openai/gpt-4o-mini", parsed_.models.front().id);
  EXPECT_EQ("example/without-pricing", parsed_.models.back().id);
  for (const ModelInfo& m : parsed_.models) {
    EXPECT_EQ("openrouter", m.provider);
    EXPECT_NE(0u, m.id.rfind("malformed/", 0)) << m.id << " should have been skipped";
  }
}

TEST_F(ModelCatalogParseTest, StringPricesWithACacheReadPrice) {
  const ModelInfo& m = models_.at("openai/gpt-4o-mini");
  EXPECT_EQ("OpenAI: GPT-4o-mini", m.name);
  EXPECT_EQ(128000, m.context_length);
  EXPECT_EQ(16384, m.max_completion_tokens);
  EXPECT_TRUE(m.pricing.known);
  EXPECT_NEAR(0.15e-6, m.pricing.prompt, kEps);
  EXPECT_NEAR(0.6e-6, m.pricing.completion, kEps);
  EXPECT_NEAR(0.075e-6, m.pricing.cache_read, kEps);
  EXPECT_EQ(0.0, m.pricing.cache_write) << "absent: priced as prompt";
  EXPECT_NEAR(0.000217, m.pricing.image, kEps);
  EXPECT_EQ(0.0, m.pricing.request);
}

TEST_F(ModelCatalogParseTest, CacheReadAndWritePrices) {
  const ModelInfo& m = models_.at("anthropic/claude-3.5-sonnet");
  EXPECT_NEAR(3e-6, m.pricing.prompt, kEps);
  EXPECT_NEAR(15e-6, m.pricing.completion, kEps);
  EXPECT_NEAR(0.3e-6, m.pricing.cache_read, kEps);
  EXPECT_NEAR(3.75e-6, m.pricing.cache_write, kEps);
  EXPECT_EQ(200000, m.context_length);
  EXPECT_EQ(8192, m.max_completion_tokens);
}

TEST_F(ModelCatalogParseTest, FreeModelIsKnownAndZero) {
  const ModelInfo& m = models_.at("meta-llama/llama-3.3-70b-instruct:free");
  EXPECT_TRUE(m.pricing.known) << "zero is a price: free, not unknown";
  EXPECT_EQ(0.0, m.pricing.prompt);
  EXPECT_EQ(0.0, m.pricing.completion);
  EXPECT_EQ(65536, m.context_length);
  EXPECT_EQ(0, m.max_completion_tokens) << "null reads as unknown";
}

TEST_F(ModelCatalogParseTest, PerRequestFee) {
  const ModelInfo& m = models_.at("perplexity/sonar");
  EXPECT_NEAR(0.005, m.pricing.request, kEps);
  EXPECT_NEAR(1e-6, m.pricing.prompt, kEps);
  EXPECT_NEAR(0.0055, costUsd(m.pricing, {200, 300, 0, 0}), 1e-12);
}

TEST_F(ModelCatalogParseTest, MinusOneMeansUnknown) {
  const ModelInfo& m = models_.at("openrouter/auto");
  EXPECT_FALSE(m.pricing.known);
  EXPECT_EQ(0.0, m.pricing.prompt);
  EXPECT_EQ(0.0, m.pricing.completion);
  EXPECT_EQ(2000000, m.context_length);
}

TEST_F(ModelCatalogParseTest, NumericPricesAndTheTopProvidersContextAreTolerated) {
  const ModelInfo& m = models_.at("mistralai/mistral-nemo");
  EXPECT_TRUE(m.pricing.known);
  EXPECT_NEAR(2e-8, m.pricing.prompt, kEps);
  EXPECT_NEAR(4e-8, m.pricing.completion, kEps);
  EXPECT_EQ(131072, m.context_length) << "context_length null: the top provider's";
  EXPECT_EQ(16384, m.max_completion_tokens);
}

TEST_F(ModelCatalogParseTest, AModelWithoutPricingIsListedWithAnUnknownPrice) {
  const ModelInfo& m = models_.at("example/without-pricing");
  EXPECT_FALSE(m.pricing.known);
  EXPECT_EQ(4096, m.context_length);
  EXPECT_EQ(1024, m.max_completion_tokens);
}

TEST(ModelCatalogParseErrorsTest, MalformedBodiesAreErrors) {
  for (const char* body : {"", "<html><body>Bad Gateway</body></html>", "{\"data\":", "[]", "{}", "{\"data\":{}}",
                           "{\"data\":\"models\"}", "null"}) {
    auto r = parseModelCatalog(body, "openrouter");
    EXPECT_FALSE(r.ok()) << "body: " << body;
  }
  auto html = parseModelCatalog("<html>", "openrouter");
  ASSERT_FALSE(html.ok());
  EXPECT_NE(std::string::npos, html.error().message.find("not JSON")) << html.error().message;
}

TEST(ModelCatalogParseErrorsTest, EdgeCasesOfSingleEntries) {
  auto r = parseModelCatalog(
      R"({"data":[)"
      R"({"id":"","pricing":{"prompt":"0","completion":"0"}},)"         // Empty id.
      R"({"id":7},)"                                                    // Id not a string.
      R"({"id":"a/nan","pricing":{"prompt":"nan","completion":"0"}},)"  // Not finite.
      R"({"id":"a/half","pricing":{"prompt":"0.000001"}},)"             // No completion price.
      R"({"id":"a/ctx","context_length":"big"},)"                       // Context not a number.
      R"({"id":"a/neg","pricing":{"prompt":"-0.5","completion":"0.000001"}},)"
      R"({"id":"a/ok","pricing":{"prompt":" 0.000001","completion":"1e-6"}})"  // strtod skips blanks.
      R"(]})",
      "openrouter");
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto models = byId(*r);
  EXPECT_EQ(4u, r->skipped);
  ASSERT_EQ(3u, models.size());
  EXPECT_FALSE(models.at("a/half").pricing.known) << "a missing completion price is unknown";
  EXPECT_NEAR(1e-6, models.at("a/half").pricing.prompt, kEps);
  EXPECT_FALSE(models.at("a/neg").pricing.known);
  EXPECT_TRUE(models.at("a/ok").pricing.known);
  EXPECT_NEAR(1e-6, models.at("a/ok").pricing.completion, kEps);
  auto empty = parseModelCatalog(R"({"data":[]})", "openrouter");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->models.empty());
}

}  // namespace
}  // namespace llmq::upstream
