// Tests for upstream::parseChatResponse and readUsage: a captured-style OpenRouter
// body (tests/data/openrouter_response.json), keep-alive whitespace, content parts,
// `error` with HTTP 200, truncated and non-completion bodies, and usage fields.
#include "upstream/chat_response.h"

#include <gtest/gtest.h>

#include <cmath>

#include <string>

#include "tests/support/temp_dir.h"

namespace llmq::upstream {
namespace {

Completion completionOf(const ChatOutcome& o) {
  if (const auto* e = std::get_if<UpstreamError>(&o)) {
    ADD_FAILURE() << "expected a Completion, got " << e->failure.code << ": " << e->failure.message;
    return {};
  }
  return std::get<Completion>(o);
}

UpstreamError errorOf(const ChatOutcome& o) {
  const auto* e = std::get_if<UpstreamError>(&o);
  EXPECT_NE(nullptr, e) << "expected a failure, got a Completion";
  return e != nullptr ? *e : UpstreamError{};
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
    s.pop_back();
  }
  return s;
}

TEST(ChatResponseTest, OpenRouterBodyBecomesACompletionWithTheBodyVerbatim) {
  const std::string body = llmq::testing::readTestData("openrouter_response.json");
  const Completion c = completionOf(parseChatResponse(body));
  EXPECT_EQ(trimmed(body), c.result_json);
  EXPECT_EQ("Paris is the capital of France.", c.content);
  EXPECT_EQ("stop", c.finish_reason);
  EXPECT_EQ("google/gemini-2.0-flash-001", c.model);
  EXPECT_EQ("Google", c.provider);
  EXPECT_EQ("gen-1741305900-NonStreamedAbCd", c.generation_id);
  EXPECT_EQ(200, c.http_status);
  EXPECT_EQ(9, c.usage.prompt_tokens);
  EXPECT_EQ(8, c.usage.completion_tokens);
  EXPECT_EQ(17, c.usage.total_tokens);
  EXPECT_DOUBLE_EQ(0.0000041, c.usage.cost_usd);
  EXPECT_TRUE(c.usage.cost_reported);
}

TEST(ChatResponseTest, KeepAliveWhitespaceAroundTheBodyIsDropped) {
  const std::string body = trimmed(llmq::testing::readTestData("openrouter_response.json"));
  const Completion c = completionOf(parseChatResponse("\n\n\n  " + body + "\r\n"));
  EXPECT_EQ(body, c.result_json);
  EXPECT_EQ("Paris is the capital of France.", c.content);
}

TEST(ChatResponseTest, ContentPartsAreJoinedAndNullContentIsEmpty) {
  EXPECT_EQ(
      "ab",
      completionOf(
          parseChatResponse(
              R"({"id":"g","choices":[{"index":0,"message":{"role":"assistant","content":[{"type":"text","text":"a"},{"type":"image_url"},{"type":"text","text":"b"}]},"finish_reason":"stop"}]})"))
          .content);
  const Completion tool = completionOf(parseChatResponse(
      R"({"id":"g","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}]})"));
  EXPECT_EQ("", tool.content);
  EXPECT_EQ("tool_calls", tool.finish_reason);
}

TEST(ChatResponseTest, UsageAbsentMeansCostNotReported) {
  const Completion c = completionOf(parseChatResponse(
      R"({"id":"g","model":"m","choices":[{"index":0,"message":{"content":"x"},"finish_reason":"stop"}]})"));
  EXPECT_FALSE(c.usage.cost_reported);
  EXPECT_EQ(0, c.usage.total_tokens);
}

TEST(ChatResponseTest, AnErrorObjectWithHttp200IsAFailure) {
  const std::string body =
      R"({"error":{"code":402,"message":"Insufficient credits. Add more using https://openrouter.ai/credits","metadata":{"x":1}},"user_id":"user_2abc"})";
  const UpstreamError server = errorOf(parseChatResponse(body));
  EXPECT_EQ("OPENROUTER_SYSTEM_KEY_EXHAUSTED", server.failure.code);
  EXPECT_FALSE(server.failure.retryable);
  EXPECT_EQ(402, server.failure.upstream_status);
  EXPECT_EQ("Insufficient credits. Add more using https://openrouter.ai/credits", server.failure.message);
  EXPECT_EQ(
      R"({"code":402,"message":"Insufficient credits. Add more using https://openrouter.ai/credits","metadata":{"x":1}})",
      server.error_json);
  EXPECT_EQ("USER_KEY_EXHAUSTED", errorOf(parseChatResponse(body, /*byok=*/true)).failure.code);

  const UpstreamError overloaded =
      errorOf(parseChatResponse(R"({"error":{"code":"server_error","message":"overloaded"}})"));
  EXPECT_EQ("UPSTREAM_ERROR", overloaded.failure.code);
  EXPECT_TRUE(overloaded.failure.retryable);
  EXPECT_EQ(200, overloaded.failure.upstream_status);
}

TEST(ChatResponseTest, InvalidOrTruncatedJsonIsARetryableUpstreamError) {
  const std::string body = trimmed(llmq::testing::readTestData("openrouter_response.json"));
  for (const std::string& bad :
       {body.substr(0, body.size() / 2), body.substr(0, body.size() - 1), std::string(), std::string("\n\n"),
        std::string("<html>502 Bad Gateway</html>"), body + "garbage"}) {
    const UpstreamError e = errorOf(parseChatResponse(bad));
    EXPECT_EQ("UPSTREAM_ERROR", e.failure.code) << bad;
    EXPECT_TRUE(e.failure.retryable) << bad;
    EXPECT_EQ("upstream", e.failure.source);
    EXPECT_TRUE(e.error_json.empty());
  }
}

TEST(ChatResponseTest, BodiesThatAreNotCompletionsAreRetryableUpstreamErrors) {
  for (const char* bad :
       {"[]", "42", R"({"id":"g"})", R"({"id":"g","choices":[]})", R"({"choices":{}})", R"({"choices":[1]})",
        R"({"choices":[{"index":0,"message":{"content":"x"},"finish_reason":"error"}]})"}) {
    const UpstreamError e = errorOf(parseChatResponse(bad));
    EXPECT_EQ("UPSTREAM_ERROR", e.failure.code) << bad;
    EXPECT_TRUE(e.failure.retryable) << bad;
  }
}

TEST(ChatResponseTest, ReadUsageReadsDetailsAndFallbacks) {
  json::Document doc;
  ASSERT_TRUE(json::parse(doc,
                          R"({"prompt_tokens":100,"completion_tokens":20,"total_tokens":120,"cost":0.5,)"
                          R"("prompt_tokens_details":{"cached_tokens":30,"cache_write_tokens":7},)"
                          R"("completion_tokens_details":{"reasoning_tokens":11}})",
                          nullptr));
  Usage u;
  ASSERT_TRUE(readUsage(doc, &u));
  EXPECT_EQ(100, u.prompt_tokens);
  EXPECT_EQ(20, u.completion_tokens);
  EXPECT_EQ(120, u.total_tokens);
  EXPECT_EQ(30, u.cache_read);
  EXPECT_EQ(7, u.cache_write);
  EXPECT_EQ(11, u.reasoning_tokens);
  EXPECT_DOUBLE_EQ(0.5, u.cost_usd);
  EXPECT_TRUE(u.cost_reported);

  ASSERT_TRUE(json::parse(doc,
                          R"({"prompt_tokens":5,"completion_tokens":2.0,"cache_read_input_tokens":3,)"
                          R"("cache_creation_input_tokens":4,"cost":"0.1"})",
                          nullptr));
  Usage v;
  ASSERT_TRUE(readUsage(doc, &v));
  EXPECT_EQ(2, v.completion_tokens);
  EXPECT_EQ(7, v.total_tokens);  // Computed when absent.
  EXPECT_EQ(3, v.cache_read);
  EXPECT_EQ(4, v.cache_write);
  EXPECT_FALSE(v.cost_reported);  // A string is not a cost.

  ASSERT_TRUE(json::parse(doc, "null", nullptr));
  Usage untouched;
  untouched.prompt_tokens = 9;
  EXPECT_FALSE(readUsage(doc, &untouched));
  EXPECT_EQ(9, untouched.prompt_tokens);
}

// An answer nested past json::kMaxDepth used to crash the daemon (and the job was
// requeued at every start). It fails the attempt, not retryable.
TEST(ChatResponseTest, AnAnswerNestedTooDeepIsANonRetryableFailure) {
  const UpstreamError e = errorOf(parseChatResponse("{\"choices\":" + std::string(200000, '[')));
  EXPECT_EQ("UPSTREAM_ERROR", e.failure.code);
  EXPECT_FALSE(e.failure.retryable);
  EXPECT_EQ("local", e.failure.source);
  EXPECT_NE(std::string::npos, e.failure.message.find("nested deeper than 128 levels")) << e.failure.message;
  // Ordinary malformed JSON stays retryable.
  EXPECT_TRUE(errorOf(parseChatResponse("{\"choices\":[")).failure.retryable);
}

// Hostile figures (docs/operations.md, "Upstream answers"): counts are clamped to
// kMaxAttemptTokens, a cost to kMaxAttemptCostUsd, and a missing total_tokens is
// the sum of two clamped counts, so nothing overflows.
TEST(ChatResponseTest, ReadUsageClampsHostileFigures) {
  json::Document doc;
  ASSERT_TRUE(json::parse(doc,
                          R"({"prompt_tokens":9223372036854775807,"completion_tokens":9223372036854775807,)"
                          R"("cost":1e308,"prompt_tokens_details":{"cached_tokens":18446744073709551615},)"
                          R"("completion_tokens_details":{"reasoning_tokens":1e300}})",
                          nullptr));
  Usage u;
  ASSERT_TRUE(readUsage(doc, &u));
  EXPECT_EQ(kMaxAttemptTokens, u.prompt_tokens);
  EXPECT_EQ(kMaxAttemptTokens, u.completion_tokens);
  EXPECT_EQ(2 * kMaxAttemptTokens, u.total_tokens);  // Absent: the sum, not -2.
  EXPECT_EQ(kMaxAttemptTokens, u.cache_read);
  EXPECT_EQ(kMaxAttemptTokens, u.reasoning_tokens);
  EXPECT_DOUBLE_EQ(kMaxAttemptCostUsd, u.cost_usd);
  EXPECT_TRUE(u.cost_reported);

  ASSERT_TRUE(json::parse(doc, R"({"prompt_tokens":-5,"total_tokens":1e19,"cost":-1})", nullptr));
  Usage v;
  ASSERT_TRUE(readUsage(doc, &v));
  EXPECT_EQ(0, v.prompt_tokens);
  EXPECT_EQ(kMaxAttemptTokens, v.total_tokens);
  EXPECT_FALSE(v.cost_reported);
  EXPECT_EQ(0.0, v.cost_usd);
}

TEST(ChatResponseTest, ClampAttemptCostRejectsNonFiniteAndNegative) {
  EXPECT_EQ(0.0, clampAttemptCost(std::nan("")));
  EXPECT_EQ(0.0, clampAttemptCost(-1));
  EXPECT_EQ(kMaxAttemptCostUsd, clampAttemptCost(HUGE_VAL));
  EXPECT_EQ(0.25, clampAttemptCost(0.25));
}

}  // namespace
}  // namespace llmq::upstream
