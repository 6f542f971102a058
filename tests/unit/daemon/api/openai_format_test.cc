// openai: the HTTP statuses and shapes the front answers in.
#include "daemon/api/openai_format.h"

#include <gtest/gtest.h>

#include <iterator>

#include "ipc/jsonrpc.h"
#include "upstream/mock_provider.h"

namespace llmq::daemon::openai {
namespace {

json::Document parse(const std::string& text) {
  json::Document d;
  std::string error;
  EXPECT_TRUE(json::parse(d, text, &error)) << error << ": " << text;
  return d;
}

TEST(OpenAiFormatTest, ErrorBodyHasOpenAIsShape) {
  json::Document d = parse(errorBody({402, "insufficient_quota", "budget_exceeded", "no \"money\""}));
  EXPECT_STREQ("no \"money\"", d["error"]["message"].GetString());
  EXPECT_STREQ("insufficient_quota", d["error"]["type"].GetString());
  EXPECT_STREQ("budget_exceeded", d["error"]["code"].GetString());
  EXPECT_TRUE(d["error"]["param"].IsNull());
  EXPECT_TRUE(parse(errorBody({500, "server_error", "", "x"}))["error"]["code"].IsNull());
}

TEST(OpenAiFormatTest, RpcErrorsMapToStatuses) {
  EXPECT_EQ(400, fromRpcError(ipc::rpc::kInvalidParams, "", "m").status);
  EXPECT_EQ(400, fromRpcError(ipc::rpc::kParseError, "", "m").status);
  EXPECT_EQ(401, fromRpcError(ipc::rpc::kInvalidParams, "NO_API_KEY", "m").status);
  EXPECT_EQ(402, fromRpcError(ipc::rpc::kBudgetExceeded, "BUDGET_EXCEEDED", "m").status);
  EXPECT_EQ(403, fromRpcError(ipc::rpc::kPermissionDenied, "", "m").status);
  EXPECT_EQ(404, fromRpcError(ipc::rpc::kNotFound, "", "m").status);
  EXPECT_EQ(429, fromRpcError(ipc::rpc::kOverloaded, "", "m").status);
  EXPECT_EQ(503, fromRpcError(ipc::rpc::kStorageFailure, "", "m").status);
  EXPECT_EQ(500, fromRpcError(ipc::rpc::kInternalError, "", "m").status);
}

TEST(OpenAiFormatTest, JobErrorsMapToStatuses) {
  EXPECT_EQ(429, fromJobError("failed", "RATE_LIMITED", "m", 429).status);
  EXPECT_EQ(503, fromJobError("failed", "OPENROUTER_SYSTEM_KEY_EXHAUSTED", "m", 402).status);
  EXPECT_EQ("openrouter_system_key_exhausted",
            fromJobError("failed", "OPENROUTER_SYSTEM_KEY_EXHAUSTED", "m", 402).code);
  EXPECT_EQ(402, fromJobError("failed", "BUDGET_EXCEEDED", "m", 0).status);
  EXPECT_EQ(402, fromJobError("failed", "USER_KEY_EXHAUSTED", "m", 402).status);
  EXPECT_EQ(404, fromJobError("failed", "INVALID_REQUEST", "m", 404).status) << "the upstream's 4xx";
  EXPECT_EQ(400, fromJobError("failed", "INVALID_REQUEST", "m", 0).status);
  EXPECT_EQ(401, fromJobError("failed", "UNAUTHORIZED", "m", 401).status);
  EXPECT_EQ(403, fromJobError("failed", "MODERATION", "m", 403).status);
  EXPECT_EQ(502, fromJobError("failed", "UPSTREAM_ERROR", "m", 502).status);
  EXPECT_EQ(502, fromJobError("failed", "NETWORK", "m", 0).status);
  EXPECT_EQ(504, fromJobError("failed", "TIMEOUT", "m", 0).status);
  EXPECT_EQ(504, fromJobError("expired", "EXPIRED", "m", 0).status);
  EXPECT_EQ(409, fromJobError("cancelled", "CANCELLED", "m", 0).status);
}

TEST(OpenAiFormatTest, ChunksAreChatCompletionChunks) {
  std::string out;
  appendChunkEvent(out, "chatcmpl-j1", 1700000000, "m/x", 0, R"({"content":"hi"})", "");
  ASSERT_EQ(0u, out.rfind("data: ", 0));
  ASSERT_EQ("\n\n", out.substr(out.size() - 2));
  json::Document d = parse(out.substr(6, out.size() - 8));
  EXPECT_STREQ("chat.completion.chunk", d["object"].GetString());
  EXPECT_STREQ("chatcmpl-j1", d["id"].GetString());
  EXPECT_EQ(1700000000, d["created"].GetInt64());
  EXPECT_STREQ("hi", d["choices"][0]["delta"]["content"].GetString());
  EXPECT_TRUE(d["choices"][0]["finish_reason"].IsNull());

  out.clear();
  appendUsageEvent(out, "chatcmpl-j1", 1, "m/x", R"({"prompt_tokens":1})");
  json::Document u = parse(out.substr(6, out.size() - 8));
  EXPECT_EQ(0u, u["choices"].Size());
  EXPECT_EQ(1, u["usage"]["prompt_tokens"].GetInt());
}

TEST(OpenAiFormatTest, UsageUsesOpenAIsNames) {
  json::Document usage =
      parse(R"({"prompt_tokens":3,"completion_tokens":4,"total_tokens":7,"cache_read":2,"reasoning_tokens":1})");
  json::Document d = parse(usageJson(usage));
  EXPECT_EQ(7, d["total_tokens"].GetInt());
  EXPECT_EQ(2, d["prompt_tokens_details"]["cached_tokens"].GetInt());
  EXPECT_EQ(1, d["completion_tokens_details"]["reasoning_tokens"].GetInt());
}

TEST(OpenAiFormatTest, ModelListSkipsPatternsButListsTheMocks) {
  json::Document models =
      parse(R"({"models":[{"id":"a/b","provider":"p","context_length":10,"pricing":null},{"id":"gpt-*"},)"
            R"({"id":"mock/*","provider":"mock"},{"id":"c/d"}]})");
  json::Document d = parse(modelList(models));
  EXPECT_STREQ("list", d["object"].GetString());
  const size_t mocks = std::size(upstream::MockProvider::kListedModels);
  ASSERT_EQ(2u + mocks, d["data"].Size());
  EXPECT_STREQ("a/b", d["data"][0]["id"].GetString());
  EXPECT_STREQ("model", d["data"][0]["object"].GetString());
  EXPECT_STREQ("p", d["data"][0]["owned_by"].GetString());
  EXPECT_EQ(10, d["data"][0]["context_length"].GetInt());
  EXPECT_FALSE(d["data"][0].HasMember("pricing"));
  EXPECT_STREQ("mock/demo", d["data"][1]["id"].GetString());
  EXPECT_STREQ("mock", d["data"][1]["owned_by"].GetString());
  EXPECT_STREQ("c/d", d["data"][1 + mocks]["id"].GetString());
  EXPECT_STREQ("c", d["data"][1 + mocks]["owned_by"].GetString());
}

TEST(OpenAiFormatTest, ModelObjectFindsOneModelOrAnyMock) {
  json::Document models = parse(R"({"models":[{"id":"a/b"},{"id":"gpt-*"},{"id":"mock/*","provider":"mock"}]})");
  auto ab = modelObject(models, "a/b");
  ASSERT_TRUE(ab);
  EXPECT_EQ(R"({"id":"a/b","object":"model","created":0,"owned_by":"a"})", *ab);
  auto mock = modelObject(models, "mock/whatever");
  ASSERT_TRUE(mock);
  EXPECT_STREQ("mock/whatever", parse(*mock)["id"].GetString());
  EXPECT_FALSE(modelObject(models, "gpt-*"));
  EXPECT_FALSE(modelObject(models, "x/y"));
  json::Document without_mock = parse(R"({"models":[{"id":"a/b"}]})");
  EXPECT_FALSE(modelObject(without_mock, "mock/echo"));
}

}  // namespace
}  // namespace llmq::daemon::openai
