// Tests for daemon/policy/request_estimate: a chat request's prompt estimate and cap, and
// an embedding request's input, counted at most (a byte a token) with no completion;
// the facts taken from a parsed request are the same, and a job's facts are the
// ones taken at submit, or worked out from its request when it has none.
#include "daemon/policy/request_estimate.h"

#include <gtest/gtest.h>

#include <string>

#include "common/usage_bounds.h"
#include "daemon/policy/rate_limiter.h"

namespace llmq::daemon {
namespace {

// The facts taken at submit from the parsed request say what requestTokens()
// says of its text, and whether it is deterministic.
TEST(RequestEstimateTest, TheFactsOfAParsedRequestAreThoseOfItsText) {
  struct Case {
    JobKind kind;
    std::string body;
  };
  const Case cases[] = {
      {JobKind::kChat, R"({"model":"m","messages":[{"role":"user","content":"hello"}],"max_tokens":50})"},
      {JobKind::kChat, R"({"model":"m","max_completion_tokens":7,"temperature":0})"},
      {JobKind::kChat, R"({"model":"m","temperature":0.5})"},
      {JobKind::kResponses, R"({"model":"m","input":"hi","max_output_tokens":9,"max_tokens":3})"},
      {JobKind::kEmbedding, R"({"model":"m","input":["abc","d"]})"},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.body);
    json::Document doc;
    ASSERT_TRUE(json::parse(doc, k.body, nullptr));
    const RequestFacts f = requestFacts(k.kind, doc, k.body.size());
    const RequestTokens t = requestTokens(k.kind, k.body);
    EXPECT_EQ(t.prompt, f.prompt_tokens);
    EXPECT_EQ(t.completion, f.completion_cap);
    EXPECT_EQ(k.body.find("\"temperature\":0}") != std::string::npos ||
                  k.body.find("\"temperature\":0,") != std::string::npos,
              f.deterministic);
  }
}

TEST(RequestEstimateTest, AJobReadsItsFactsOrWorksThemOutOnce) {
  store::JobRecord job;
  job.kind = JobKind::kChat;
  job.request_json = R"({"model":"m","max_tokens":40,"temperature":0})";
  // Stored before facts were taken: from the request.
  RequestFacts f = factsOf(job);
  EXPECT_EQ(40, f.completion_cap.value_or(-1));
  EXPECT_TRUE(f.deterministic);
  // Taken at submit: those, whatever the text says.
  job.options.facts = RequestFacts{5, 6, false};
  f = factsOf(job);
  EXPECT_EQ(5, f.prompt_tokens);
  EXPECT_EQ(6, f.completion_cap.value_or(-1));
  EXPECT_FALSE(f.deterministic);
}

TEST(RequestEstimateTest, AChatRequestIsAQuarterOfItsBytesAndItsOwnCap) {
  const std::string body = R"({"model":"m","messages":[{"role":"user","content":"hello"}],"max_tokens":50})";
  RequestTokens t = requestTokens(JobKind::kChat, body);
  EXPECT_EQ(static_cast<int64_t>(body.size() / 4 + 1), t.prompt);
  EXPECT_EQ(50, t.completion.value_or(-1));
  EXPECT_FALSE(requestTokens(JobKind::kChat, R"({"messages":[]})").completion.has_value());
  EXPECT_EQ(7, requestTokens(JobKind::kChat, R"({"max_completion_tokens":7})").completion.value_or(-1));
}

TEST(RequestEstimateTest, AHugeCapIsClampedToWhatOneAttemptMayCount) {
  // 2^63-1 would overflow once the prompt's estimate is added to it.
  const RequestTokens t = requestTokens(JobKind::kChat, R"({"messages":[],"max_tokens":9223372036854775807})");
  EXPECT_EQ(kMaxAttemptTokens, t.completion.value_or(-1));
  json::Document doc;
  ASSERT_TRUE(json::parse(doc, R"({"messages":[],"max_tokens":9223372036854775807})", nullptr));
  const RequestFacts f = requestFacts(JobKind::kChat, doc, 100);
  EXPECT_EQ(kMaxAttemptTokens, f.completion_cap.value_or(-1));
  EXPECT_EQ(f.prompt_tokens + kMaxAttemptTokens, estimateRequestTokens(f));
}

TEST(RequestEstimateTest, AnEmbeddingIsItsInputAtOneTokenAByteAndNoCompletion) {
  RequestTokens t = requestTokens(JobKind::kEmbedding, R"({"model":"m","input":"hello","max_tokens":99})");
  EXPECT_EQ(5, t.prompt);
  EXPECT_EQ(0, t.completion.value_or(-1));
  EXPECT_EQ(6, embeddingInputTokens(R"({"input":["abc","d","ef"]})"));
  EXPECT_EQ(5, embeddingInputTokens(R"({"input":[[1,2,3],[4,5]]})"));
  EXPECT_EQ(3, embeddingInputTokens(R"({"input":[10,20,30]})"));
  // Multi-byte text: bytes, never fewer than a tokenizer could make.
  EXPECT_EQ(4, embeddingInputTokens(R"({"input":"\u00e9\u00e9"})"));
  // Token ids written with one digit are two bytes each in the body: counted
  // by ids, an estimate from bytes would be half the truth.
  std::string ids = R"({"input":[)";
  for (int i = 0; i < 1000; ++i) {
    ids += i > 0 ? ",1" : "1";
  }
  ids += "]}";
  EXPECT_EQ(1000, embeddingInputTokens(ids));
  EXPECT_GT(embeddingInputTokens(ids), estimatePromptTokens(ids) - 1);
  EXPECT_EQ(1, embeddingInputTokens("not json"));
  EXPECT_EQ(1, embeddingInputTokens(R"({"model":"m"})"));
}

}  // namespace
}  // namespace llmq::daemon
