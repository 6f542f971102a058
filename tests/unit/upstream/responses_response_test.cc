// Tests for upstream::parseResponsesResponse and readResponsesUsage: a Response
// object becomes a Completion (text, finish, usage); errors, failed and
// malformed bodies are failures.
#include "upstream/responses_response.h"

#include <gtest/gtest.h>

#include <string>

namespace llmq::upstream {
namespace {

TEST(ResponsesResponseTest, ACompletedResponseIsACompletionWithTheBodyVerbatim) {
  const std::string body =
      R"({"id":"resp_1","object":"response","status":"completed","model":"openai/gpt-4o","provider":"P",)"
      R"("output":[{"type":"reasoning","summary":[]},{"type":"message","role":"assistant","content":[)"
      R"({"type":"output_text","text":"hello "},{"type":"output_text","text":"world"}]}],)"
      R"("usage":{"input_tokens":5,"output_tokens":2,"total_tokens":7,"input_tokens_details":{"cached_tokens":3},)"
      R"("output_tokens_details":{"reasoning_tokens":1},"cost":0.001}})";
  ChatOutcome o = parseResponsesResponse("\n " + body + " \n");
  ASSERT_TRUE(std::holds_alternative<Completion>(o));
  const Completion& c = std::get<Completion>(o);
  EXPECT_EQ(body, c.result_json);
  EXPECT_EQ("hello world", c.content);
  EXPECT_EQ("stop", c.finish_reason);
  EXPECT_EQ("openai/gpt-4o", c.model);
  EXPECT_EQ("resp_1", c.generation_id);
  EXPECT_EQ("P", c.provider);
  EXPECT_EQ(5, c.usage.prompt_tokens);
  EXPECT_EQ(2, c.usage.completion_tokens);
  EXPECT_EQ(7, c.usage.total_tokens);
  EXPECT_EQ(3, c.usage.cache_read);
  EXPECT_EQ(1, c.usage.reasoning_tokens);
  EXPECT_TRUE(c.usage.cost_reported);
  EXPECT_DOUBLE_EQ(0.001, c.usage.cost_usd);
}

TEST(ResponsesResponseTest, FunctionCallsAndIncompleteResponsesSayHowTheyEnded) {
  ChatOutcome calls = parseResponsesResponse(
      R"({"status":"completed","output":[{"type":"function_call","call_id":"c","name":"f","arguments":"{}"}]})");
  ASSERT_TRUE(std::holds_alternative<Completion>(calls));
  EXPECT_EQ("tool_calls", std::get<Completion>(calls).finish_reason);
  ChatOutcome cut = parseResponsesResponse(
      R"({"status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"output":[]})");
  ASSERT_TRUE(std::holds_alternative<Completion>(cut));
  EXPECT_EQ("length", std::get<Completion>(cut).finish_reason);
}

TEST(ResponsesResponseTest, HostileUsageFiguresAreClamped) {
  ChatOutcome o = parseResponsesResponse(
      R"({"status":"completed","output":[],"usage":{"input_tokens":-5,"output_tokens":1e300,"cost":1e308}})");
  ASSERT_TRUE(std::holds_alternative<Completion>(o));
  const Usage& u = std::get<Completion>(o).usage;
  EXPECT_EQ(0, u.prompt_tokens);
  EXPECT_EQ(kMaxAttemptTokens, u.completion_tokens);
  EXPECT_DOUBLE_EQ(kMaxAttemptCostUsd, u.cost_usd);
}

TEST(ResponsesResponseTest, ErrorsAndFailedResponsesAreFailures) {
  ChatOutcome e =
      parseResponsesResponse(R"({"status":"failed","error":{"code":429,"message":"slow"},"output":[]})");
  ASSERT_TRUE(std::holds_alternative<UpstreamError>(e));
  EXPECT_EQ("RATE_LIMITED", std::get<UpstreamError>(e).failure.code);
  ChatOutcome f = parseResponsesResponse(R"({"status":"failed","error":null,"output":[]})");
  ASSERT_TRUE(std::holds_alternative<UpstreamError>(f));
  EXPECT_TRUE(std::get<UpstreamError>(f).failure.retryable);
  for (const char* bad : {"", "not json", "[]", R"({"status":"completed"})", R"({"output":{}})"}) {
    ChatOutcome o = parseResponsesResponse(bad);
    ASSERT_TRUE(std::holds_alternative<UpstreamError>(o)) << bad;
    EXPECT_EQ("UPSTREAM_ERROR", std::get<UpstreamError>(o).failure.code) << bad;
  }
}

}  // namespace
}  // namespace llmq::upstream
