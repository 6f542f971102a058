// Tests for upstream::parseEmbeddingResponse: an OpenAI embeddings list becomes a
// Completion with the body verbatim and input-only usage; error objects, bodies
// without vectors and bodies that are not JSON are failures.
#include "upstream/embedding_response.h"

#include <gtest/gtest.h>

#include <string>

namespace llmq::upstream {
namespace {

TEST(EmbeddingResponseTest, AListBecomesACompletionWithTheBodyVerbatim) {
  const std::string body =
      R"({"object":"list","id":"gen-1","provider":"P","model":"openai/text-embedding-3-small",)"
      R"("data":[{"object":"embedding","index":0,"embedding":[0.5,-0.25]}],)"
      R"("usage":{"prompt_tokens":7,"total_tokens":7,"cost":0.0000014}})";
  ChatOutcome o = parseEmbeddingResponse("  " + body + "\n", false, 200);
  ASSERT_TRUE(std::holds_alternative<Completion>(o));
  const Completion& c = std::get<Completion>(o);
  EXPECT_EQ(body, c.result_json);
  EXPECT_EQ("openai/text-embedding-3-small", c.model);
  EXPECT_EQ("P", c.provider);
  EXPECT_EQ("gen-1", c.generation_id);
  EXPECT_EQ(7, c.usage.prompt_tokens);
  EXPECT_EQ(0, c.usage.completion_tokens);
  EXPECT_EQ(7, c.usage.total_tokens);
  EXPECT_TRUE(c.usage.cost_reported);
  EXPECT_DOUBLE_EQ(0.0000014, c.usage.cost_usd);
  EXPECT_TRUE(c.content.empty());
}

TEST(EmbeddingResponseTest, CompletionTokensAnUpstreamClaimsAreNotCounted) {
  // Budgets reserved the input only: an embedding answers no completion.
  ChatOutcome o = parseEmbeddingResponse(
      R"({"data":[],"usage":{"prompt_tokens":3,"completion_tokens":1000000,"total_tokens":1000003}})");
  ASSERT_TRUE(std::holds_alternative<Completion>(o));
  EXPECT_EQ(3, std::get<Completion>(o).usage.prompt_tokens);
  EXPECT_EQ(0, std::get<Completion>(o).usage.completion_tokens);
  EXPECT_EQ(3, std::get<Completion>(o).usage.total_tokens);
  EXPECT_FALSE(std::get<Completion>(o).usage.cost_reported);
}

TEST(EmbeddingResponseTest, HugeCountsAndCostsAreClamped) {
  ChatOutcome o = parseEmbeddingResponse(R"({"data":[],"usage":{"prompt_tokens":1e300,"cost":1e308}})");
  ASSERT_TRUE(std::holds_alternative<Completion>(o));
  EXPECT_EQ(kMaxAttemptTokens, std::get<Completion>(o).usage.prompt_tokens);
  EXPECT_DOUBLE_EQ(kMaxAttemptCostUsd, std::get<Completion>(o).usage.cost_usd);
}

TEST(EmbeddingResponseTest, AnErrorObjectIsAFailureWhateverTheStatus) {
  ChatOutcome o = parseEmbeddingResponse(R"({"error":{"code":429,"message":"slow down"}})", false, 200);
  ASSERT_TRUE(std::holds_alternative<UpstreamError>(o));
  EXPECT_EQ("RATE_LIMITED", std::get<UpstreamError>(o).failure.code);
}

TEST(EmbeddingResponseTest, BodiesWithoutVectorsAreRetryableUpstreamErrors) {
  for (const char* body :
       {"", "   ", "{\"data\":[", "[1,2]", "{\"object\":\"list\"}", "{\"data\":{}}", "{\"choices\":[]}"}) {
    ChatOutcome o = parseEmbeddingResponse(body);
    ASSERT_TRUE(std::holds_alternative<UpstreamError>(o)) << body;
    EXPECT_EQ("UPSTREAM_ERROR", std::get<UpstreamError>(o).failure.code) << body;
    EXPECT_TRUE(std::get<UpstreamError>(o).failure.retryable) << body;
  }
}

TEST(EmbeddingResponseTest, TooDeepABodyIsNotRetried) {
  ChatOutcome o = parseEmbeddingResponse("{\"data\":" + std::string(100000, '['));
  ASSERT_TRUE(std::holds_alternative<UpstreamError>(o));
  EXPECT_FALSE(std::get<UpstreamError>(o).failure.retryable);
}

}  // namespace
}  // namespace llmq::upstream
