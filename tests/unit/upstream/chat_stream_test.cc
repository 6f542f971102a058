// Tests for upstream::ChatStreamAssembler and ChatStreamDecoder on captured-style
// OpenRouter streams (tests/data/): live deltas equal the final content, usage and
// cost from the `choices: []` chunk, tool-call merging, mid-stream errors,
// malformed chunks, a missing [DONE], absent usage, and the assembled result object.
#include "upstream/chat_stream.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/json.h"

#include "tests/support/temp_dir.h"

namespace llmq::upstream {
namespace {

struct Recorded {
  std::string content;  // Index-0 content deltas, concatenated.
  std::vector<int> indexes;
  std::vector<std::string> tool_calls;
  size_t calls = 0;
};

DeltaCallback recorder(Recorded& r) {
  return [&r](const StreamDelta& d) {
    ++r.calls;
    r.indexes.push_back(d.index);
    if (d.index == 0) {
      r.content += d.content;
    }
    if (!d.tool_calls_json.empty()) {
      r.tool_calls.emplace_back(d.tool_calls_json);
    }
  };
}

// By value: callers often pass a temporary outcome.
Completion completionOf(const ChatOutcome& o) {
  if (const auto* e = std::get_if<UpstreamError>(&o)) {
    ADD_FAILURE() << "expected a Completion, got " << e->failure.code << ": " << e->failure.message;
    return {};
  }
  return std::get<Completion>(o);
}

Failure failureOf(const ChatOutcome& o) {
  const auto* e = std::get_if<UpstreamError>(&o);
  EXPECT_NE(nullptr, e) << "expected a failure, got a Completion";
  return e != nullptr ? e->failure : Failure{};
}

json::Document parsed(const std::string& text) {
  json::Document doc;
  std::string err;
  EXPECT_TRUE(json::parse(doc, text, &err)) << err << ": " << text;
  return doc;
}

// obj.a.b... as a string, or "<missing>".
std::string stringAt(const json::Value& root, std::initializer_list<const char*> keys) {
  const json::Value* v = &root;
  for (const char* k : keys) {
    v = json::member(*v, k);
    if (v == nullptr) {
      return "<missing>";
    }
  }
  return v->IsString() ? std::string(json::view(*v)) : "<not a string>";
}

const json::Value& choice0(const json::Value& result) {
  static const json::Value kNull;
  const json::Value* choices = json::member(result, "choices");
  if (choices == nullptr || !choices->IsArray() || choices->Empty()) {
    ADD_FAILURE() << "no choices in " << json::toString(result);
    return kNull;
  }
  return (*choices)[0];
}

constexpr char kFinalContent[] =
    "The capital of France is \"Paris\"\n\xE2\x80\x94 na\xC3\xAFve caf\xC3\xA9 \xE2\x98\x95.";

TEST(ChatStreamTest, HappyPathDeltasEqualContentAndUsageComesFromTheChoicelessChunk) {
  ChatStreamDecoder decoder;
  Recorded r;
  EXPECT_FALSE(decoder.feed(llmq::testing::readTestData("openrouter_stream.txt"), recorder(r)));  // [DONE] decides.
  EXPECT_EQ(StreamState::kDone, decoder.assembler().state());
  EXPECT_EQ(1u, decoder.sse().comments());
  const ChatOutcome outcome = decoder.finish();
  const Completion& c = completionOf(outcome);

  EXPECT_EQ(kFinalContent, c.content);
  EXPECT_EQ(r.content, c.content);
  EXPECT_EQ(3u, r.calls);
  EXPECT_EQ((std::vector<int>{0, 0, 0}), r.indexes);
  EXPECT_EQ("stop", c.finish_reason);
  EXPECT_EQ("openai/gpt-4o-mini", c.model);
  EXPECT_EQ("OpenAI", c.provider);
  EXPECT_EQ("gen-1741305600-Xq3LbZ8mN2pR7tYc", c.generation_id);
  EXPECT_EQ(200, c.http_status);
  EXPECT_EQ(14, c.usage.prompt_tokens);
  EXPECT_EQ(12, c.usage.completion_tokens);
  EXPECT_EQ(26, c.usage.total_tokens);
  EXPECT_EQ(4, c.usage.cache_read);
  EXPECT_EQ(2, c.usage.cache_write);
  EXPECT_EQ(3, c.usage.reasoning_tokens);
  EXPECT_DOUBLE_EQ(0.0000093, c.usage.cost_usd);
  EXPECT_TRUE(c.usage.cost_reported);
}

TEST(ChatStreamTest, ResultJsonIsTheEquivalentNonStreamedObject) {
  ChatStreamDecoder decoder;
  decoder.feed(llmq::testing::readTestData("openrouter_stream.txt"), nullptr);
  const ChatOutcome outcome = decoder.finish();
  const Completion& c = completionOf(outcome);
  const json::Document doc = parsed(c.result_json);
  ASSERT_TRUE(doc.IsObject());
  EXPECT_EQ("gen-1741305600-Xq3LbZ8mN2pR7tYc", stringAt(doc, {"id"}));
  EXPECT_EQ("chat.completion", stringAt(doc, {"object"}));
  EXPECT_EQ("openai/gpt-4o-mini", stringAt(doc, {"model"}));
  EXPECT_EQ("OpenAI", stringAt(doc, {"provider"}));
  EXPECT_EQ("fp_06737a9306", stringAt(doc, {"system_fingerprint"}));
  const json::Value* created = json::member(doc, "created");
  ASSERT_NE(nullptr, created);
  ASSERT_TRUE(created->IsInt64());
  EXPECT_EQ(1741305600, created->GetInt64());

  const json::Value& ch = choice0(doc);
  const json::Value* index = json::member(ch, "index");
  ASSERT_NE(nullptr, index);
  EXPECT_TRUE(index->IsInt() && index->GetInt() == 0);
  EXPECT_EQ("assistant", stringAt(ch, {"message", "role"}));
  EXPECT_EQ(kFinalContent, stringAt(ch, {"message", "content"}));
  EXPECT_EQ(nullptr, json::member(*json::member(ch, "message"), "tool_calls"));
  EXPECT_EQ("stop", stringAt(ch, {"finish_reason"}));
  EXPECT_EQ("stop", stringAt(ch, {"native_finish_reason"}));

  // usage is passed through as received, extra fields included.
  const json::Value* usage = json::member(doc, "usage");
  ASSERT_NE(nullptr, usage);
  const json::Value* cost = json::member(*usage, "cost");
  ASSERT_NE(nullptr, cost);
  ASSERT_TRUE(cost->IsNumber());
  EXPECT_DOUBLE_EQ(0.0000093, cost->GetDouble());
  const json::Value* byok = json::member(*usage, "is_byok");
  ASSERT_NE(nullptr, byok);
  EXPECT_TRUE(byok->IsBool());
  EXPECT_NE(nullptr, json::member(*usage, "cost_details"));
}

TEST(ChatStreamTest, EverySplitOfTheBodyGivesTheSameDeltasAndResult) {
  const std::string body = llmq::testing::readTestData("openrouter_stream.txt");
  ChatStreamDecoder whole_decoder;
  whole_decoder.feed(body, nullptr);
  const std::string expected = completionOf(whole_decoder.finish()).result_json;
  ASSERT_FALSE(expected.empty());
  for (size_t i = 0; i <= body.size(); ++i) {
    ChatStreamDecoder decoder;
    Recorded r;
    decoder.feed(std::string_view(body).substr(0, i), recorder(r));
    decoder.feed(std::string_view(body).substr(i), recorder(r));
    const ChatOutcome outcome = decoder.finish();
    ASSERT_TRUE(std::holds_alternative<Completion>(outcome)) << i;
    ASSERT_EQ(kFinalContent, r.content) << i;
    ASSERT_EQ(expected, std::get<Completion>(outcome).result_json) << i;
  }
}

TEST(ChatStreamTest, ToolCallDeltasMergeByIndexWithArgumentsConcatenated) {
  ChatStreamDecoder decoder;
  Recorded r;
  decoder.feed(llmq::testing::readTestData("openrouter_tool_calls_stream.txt"), recorder(r));
  EXPECT_EQ(2u, decoder.sse().comments());
  const ChatOutcome outcome = decoder.finish();
  const Completion& c = completionOf(outcome);
  EXPECT_EQ("", c.content);
  EXPECT_EQ("tool_calls", c.finish_reason);
  EXPECT_EQ("gen-1741305700-ToolCallsAbCdEf", c.generation_id);
  EXPECT_DOUBLE_EQ(0.0006125, c.usage.cost_usd);

  // Each tool-call delta was reported raw, as it arrived.
  ASSERT_EQ(5u, r.tool_calls.size());
  EXPECT_EQ(R"([{"index":0,"function":{"arguments":"{\"city\":"}}])", r.tool_calls[1]);
  EXPECT_EQ("", r.content);

  const json::Document doc = parsed(c.result_json);
  const json::Value& ch = choice0(doc);
  const json::Value* message = json::member(ch, "message");
  ASSERT_NE(nullptr, message);
  const json::Value* content = json::member(*message, "content");
  ASSERT_NE(nullptr, content);
  EXPECT_TRUE(content->IsNull());
  const json::Value* calls = json::member(*message, "tool_calls");
  ASSERT_NE(nullptr, calls);
  ASSERT_TRUE(calls->IsArray());
  ASSERT_EQ(2u, calls->Size());
  const json::Value& weather = (*calls)[0];
  const json::Value& time = (*calls)[1];
  EXPECT_EQ("call_weather_paris", stringAt(weather, {"id"}));
  EXPECT_EQ("function", stringAt(weather, {"type"}));
  EXPECT_EQ("get_weather", stringAt(weather, {"function", "name"}));
  EXPECT_EQ(R"({"city": "Paris"})", stringAt(weather, {"function", "arguments"}));
  EXPECT_EQ("call_time_paris", stringAt(time, {"id"}));
  EXPECT_EQ("get_time", stringAt(time, {"function", "name"}));
  EXPECT_EQ(R"({"tz":"Europe/Paris"})", stringAt(time, {"function", "arguments"}));
  // The merged arguments are the JSON the model meant.
  parsed(stringAt(weather, {"function", "arguments"}));
  parsed(stringAt(time, {"function", "arguments"}));
}

TEST(ChatStreamTest, ToolCallsWithoutIndexStartANewCallOnANewId) {
  ChatStreamAssembler a;
  a.consume(
      R"({"id":"g","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\""}}]}}]})",
      nullptr);
  a.consume(R"({"choices":[{"index":0,"delta":{"tool_calls":[{"function":{"arguments":":1}"}}]}}]})", nullptr);
  a.consume(
      R"({"choices":[{"index":0,"delta":{"tool_calls":[{"id":"c2","function":{"name":"g","arguments":"{}"}}]},"finish_reason":"tool_calls"}]})",
      nullptr);
  a.consume("[DONE]", nullptr);
  const ChatOutcome outcome = a.finish();
  const json::Document doc = parsed(completionOf(outcome).result_json);
  const json::Value* calls = json::member(*json::member(choice0(doc), "message"), "tool_calls");
  ASSERT_NE(nullptr, calls);
  ASSERT_EQ(2u, calls->Size());
  EXPECT_EQ(R"({"a":1})", stringAt((*calls)[0], {"function", "arguments"}));
  EXPECT_EQ("c2", stringAt((*calls)[1], {"id"}));
  EXPECT_EQ("function", stringAt((*calls)[1], {"type"}));  // Defaulted.
  EXPECT_EQ("{}", stringAt((*calls)[1], {"function", "arguments"}));
}

TEST(ChatStreamTest, ANameRepeatedInLaterDeltasIsNotConcatenated) {
  ChatStreamAssembler a;
  a.consume(
      R"({"id":"g","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"f","arguments":"{"}}]}}]})",
      nullptr);
  a.consume(
      R"({"id":"g","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"f","arguments":"}"}}]}}]})",
      nullptr);
  a.consume("[DONE]", nullptr);
  const ChatOutcome outcome = a.finish();
  const json::Document doc = parsed(completionOf(outcome).result_json);
  const json::Value* calls = json::member(*json::member(choice0(doc), "message"), "tool_calls");
  ASSERT_NE(nullptr, calls);
  ASSERT_EQ(1u, calls->Size());
  EXPECT_EQ("c1", stringAt((*calls)[0], {"id"}));
  EXPECT_EQ("f", stringAt((*calls)[0], {"function", "name"}));
  EXPECT_EQ("{}", stringAt((*calls)[0], {"function", "arguments"}));
}

TEST(ChatStreamTest, MidStreamErrorChunkFailsWithTheUpstreamCodeAndStops) {
  ChatStreamDecoder decoder;
  Recorded r;
  EXPECT_FALSE(decoder.feed(llmq::testing::readTestData("openrouter_stream_error.txt"), recorder(r)));
  EXPECT_EQ(StreamState::kFailed, decoder.assembler().state());
  EXPECT_EQ("Once upon", r.content);  // What came before the error was delivered live.
  const ChatOutcome outcome = decoder.finish();
  const auto* e = std::get_if<UpstreamError>(&outcome);
  ASSERT_NE(nullptr, e);
  EXPECT_EQ("UPSTREAM_ERROR", e->failure.code);
  EXPECT_EQ("Provider disconnected unexpectedly", e->failure.message);
  EXPECT_EQ(502, e->failure.upstream_status);
  EXPECT_TRUE(e->failure.retryable);
  EXPECT_EQ("upstream", e->failure.source);
  // The upstream's own error object is kept, metadata included.
  const json::Document err = parsed(e->error_json);
  EXPECT_EQ("overloaded_error", stringAt(err, {"metadata", "raw"}));
}

TEST(ChatStreamTest, MidStreamErrorWithAStringCode) {
  {
    ChatStreamAssembler a;
    a.consume(R"({"id":"g","choices":[{"index":0,"delta":{"content":"x"}}]})", nullptr);
    EXPECT_FALSE(a.consume(
        R"({"id":"g","error":{"code":"server_error","message":"Provider disconnected"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]})",
        nullptr));
    EXPECT_FALSE(a.consume("[DONE]", nullptr));  // Ignored: the stream already failed.
    const Failure& f = failureOf(a.finish());
    EXPECT_EQ("UPSTREAM_ERROR", f.code);
    EXPECT_EQ("Provider disconnected", f.message);
    EXPECT_EQ(200, f.upstream_status);
    EXPECT_TRUE(f.retryable);
  }
  {
    ChatStreamAssembler a;
    a.consume(R"({"error":{"code":"rate_limit_exceeded","message":"slow down"}})", nullptr);
    const Failure& f = failureOf(a.finish());
    EXPECT_EQ("RATE_LIMITED", f.code);
    EXPECT_TRUE(f.retryable);
  }
  {
    ChatStreamAssembler byok(/*byok=*/true);
    byok.consume(R"({"error":{"code":402,"message":"Insufficient credits"}})", nullptr);
    const Failure& f = failureOf(byok.finish());
    EXPECT_EQ("USER_KEY_EXHAUSTED", f.code);
    EXPECT_FALSE(f.retryable);
  }
}

TEST(ChatStreamTest, MalformedChunkIsARetryableProtocolError) {
  ChatStreamAssembler a;
  Recorded r;
  EXPECT_TRUE(a.consume(R"({"id":"g","choices":[{"index":0,"delta":{"content":"Hi"}}]})", recorder(r)));
  EXPECT_FALSE(a.consume(R"({"id":"g","choices":[{"index":0,"delta":{"content":"the)", recorder(r)));
  EXPECT_EQ(StreamState::kFailed, a.state());
  EXPECT_FALSE(a.consume("[DONE]", recorder(r)));
  EXPECT_EQ("Hi", r.content);
  const Failure& f = failureOf(a.finish());
  EXPECT_EQ("UPSTREAM_ERROR", f.code);
  EXPECT_TRUE(f.retryable);
  EXPECT_NE(std::string::npos, f.message.find("malformed")) << f.message;
}

TEST(ChatStreamTest, NonObjectChunksAndBadIndexesAreProtocolErrors) {
  for (const char* chunk : {"[1,2]", "\"text\"", "42", "", R"({"choices":[{"index":-1,"delta":{"content":"x"}}]})",
                            R"({"choices":[{"index":100000,"delta":{"content":"x"}}]})",
                            R"({"choices":[{"index":"0","delta":{"content":"x"}}]})",
                            R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":99999}]}}]})"}) {
    ChatStreamAssembler a;
    EXPECT_FALSE(a.consume(chunk, nullptr)) << chunk;
    a.consume("[DONE]", nullptr);
    const Failure& f = failureOf(a.finish());
    EXPECT_EQ("UPSTREAM_ERROR", f.code) << chunk;
    EXPECT_TRUE(f.retryable) << chunk;
  }
}

TEST(ChatStreamTest, AStreamWithoutDoneIsNeverASuccess) {
  const std::string body = llmq::testing::readTestData("openrouter_stream.txt");
  const size_t done = body.rfind("data: [DONE]");
  ASSERT_NE(std::string::npos, done);
  // Cut anywhere after the usage chunk: everything is there but [DONE].
  for (size_t cut : {done, done + 5, body.size() - 1}) {
    ChatStreamDecoder decoder;
    Recorded r;
    EXPECT_TRUE(decoder.feed(std::string_view(body).substr(0, cut), recorder(r))) << cut;
    EXPECT_EQ(kFinalContent, r.content);
    const Failure& f = failureOf(decoder.finish());
    EXPECT_EQ("UPSTREAM_ERROR", f.code);
    EXPECT_EQ("the stream ended without [DONE]", f.message);
    EXPECT_TRUE(f.retryable);
  }
  // Cut mid-way through a content chunk.
  ChatStreamDecoder decoder;
  decoder.feed(std::string_view(body).substr(0, body.size() / 2), nullptr);
  const Failure& f = failureOf(decoder.finish());
  EXPECT_EQ("the stream ended without [DONE]", f.message);
  EXPECT_TRUE(f.retryable);
  // Nothing at all.
  ChatStreamAssembler empty;
  EXPECT_EQ("the stream ended without [DONE]", failureOf(empty.finish()).message);
}

TEST(ChatStreamTest, UsageAbsentMeansCostNotReported) {
  ChatStreamAssembler a;
  a.consume(
      R"({"id":"gen-1","model":"m/x","created":1,"choices":[{"index":0,"delta":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]})",
      nullptr);
  a.consume("[DONE]", nullptr);
  EXPECT_FALSE(a.usage().has_value());
  const ChatOutcome outcome = a.finish();
  const Completion& c = completionOf(outcome);
  EXPECT_EQ("ok", c.content);
  EXPECT_FALSE(c.usage.cost_reported);
  EXPECT_EQ(0, c.usage.total_tokens);
  EXPECT_DOUBLE_EQ(0.0, c.usage.cost_usd);
  const json::Document doc = parsed(c.result_json);
  EXPECT_EQ(nullptr, json::member(doc, "usage"));
  EXPECT_EQ(nullptr, json::member(doc, "provider"));
}

TEST(ChatStreamTest, UsageWithoutCostIsNotReportedCost) {
  ChatStreamAssembler a;
  a.consume(
      R"({"id":"g","choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}})",
      nullptr);
  a.consume("[DONE]", nullptr);
  const ChatOutcome outcome = a.finish();
  const Completion& c = completionOf(outcome);
  EXPECT_EQ(3, c.usage.prompt_tokens);
  EXPECT_EQ(4, c.usage.total_tokens);  // Computed when absent.
  EXPECT_FALSE(c.usage.cost_reported);
}

TEST(ChatStreamTest, SeveralChoicesAreAssembledSeparately) {
  ChatStreamAssembler a;
  Recorded r;
  a.consume(
      R"({"id":"g","model":"m","choices":[{"index":0,"delta":{"content":"A"}},{"index":1,"delta":{"content":"B"}}]})",
      recorder(r));
  a.consume(R"({"id":"g","model":"m","choices":[{"index":1,"delta":{"content":"b"},"finish_reason":"length"}]})",
            recorder(r));
  a.consume(R"({"id":"g","model":"m","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":"stop"}]})",
            recorder(r));
  a.consume("[DONE]", recorder(r));
  EXPECT_EQ((std::vector<int>{0, 1, 1, 0}), r.indexes);
  const ChatOutcome outcome = a.finish();
  const Completion& c = completionOf(outcome);
  EXPECT_EQ("Aa", c.content);
  EXPECT_EQ("stop", c.finish_reason);
  const json::Document doc = parsed(c.result_json);
  const json::Value* choices = json::member(doc, "choices");
  ASSERT_NE(nullptr, choices);
  ASSERT_EQ(2u, choices->Size());
  EXPECT_EQ("Bb", stringAt((*choices)[1], {"message", "content"}));
  EXPECT_EQ("length", stringAt((*choices)[1], {"finish_reason"}));
}

TEST(ChatStreamTest, ReasoningIsReportedAndAssembled) {
  ChatStreamAssembler a;
  std::string reasoning;
  auto on_delta = [&](const StreamDelta& d) { reasoning += d.reasoning; };
  a.consume(R"({"id":"g","choices":[{"index":0,"delta":{"content":"","reasoning":"think "}}]})", on_delta);
  a.consume(R"({"id":"g","choices":[{"index":0,"delta":{"content":"","reasoning":"hard"}}]})", on_delta);
  a.consume(R"({"id":"g","choices":[{"index":0,"delta":{"content":"42"},"finish_reason":"stop"}]})", on_delta);
  a.consume("[DONE]", on_delta);
  EXPECT_EQ("think hard", reasoning);
  const ChatOutcome outcome = a.finish();
  const Completion& c = completionOf(outcome);
  EXPECT_EQ("42", c.content);
  EXPECT_EQ("think hard", stringAt(choice0(parsed(c.result_json)), {"message", "reasoning"}));
}

TEST(ChatStreamTest, DoneWithoutAnyChoiceOrWithAnErrorFinishIsAFailure) {
  {
    ChatStreamAssembler a;
    a.consume("[DONE]", nullptr);
    EXPECT_TRUE(failureOf(a.finish()).retryable);
  }
  {
    ChatStreamAssembler a;
    a.consume(R"({"id":"g","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":0,"total_tokens":1}})",
              nullptr);
    a.consume("[DONE]", nullptr);
    EXPECT_EQ("UPSTREAM_ERROR", failureOf(a.finish()).code);
  }
  {
    ChatStreamAssembler a;
    a.consume(R"({"id":"g","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":"error"}]})", nullptr);
    a.consume("[DONE]", nullptr);
    const Failure& f = failureOf(a.finish());
    EXPECT_EQ("UPSTREAM_ERROR", f.code);
    EXPECT_TRUE(f.retryable);
  }
}

TEST(ChatStreamTest, AnOversizedEventIsALocalNonRetryableFailure) {
  ChatStreamDecoder decoder(/*byok=*/false, /*max_event_bytes=*/256);
  Recorded r;
  EXPECT_TRUE(decoder.feed("data: {\"id\":\"g\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ok\"}}]}\n\n",
                           recorder(r)));
  EXPECT_FALSE(decoder.feed("data: {\"id\":\"g\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" +
                                std::string(1000, 'x') + "\"}}]}\n\n",
                            recorder(r)));
  EXPECT_EQ("ok", r.content);
  EXPECT_TRUE(decoder.tooLarge());
  const Failure& f = failureOf(decoder.finish());
  EXPECT_EQ("RESPONSE_TOO_LARGE", f.code);
  EXPECT_NE(std::string::npos, f.message.find("max_event_bytes")) << f.message;
  EXPECT_FALSE(f.retryable);
  EXPECT_EQ("local", f.source);
}

TEST(ChatStreamTest, EventsAfterDoneInTheSameFeedAreIgnored) {
  ChatStreamDecoder decoder;
  Recorded r;
  EXPECT_FALSE(decoder.feed(
      "data: "
      "{\"id\":\"g\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"},\"finish_reason\":\"stop\"}]}\n\n"
      "data: [DONE]\n\n"
      "data: {\"id\":\"g\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"}}]}\n\n",
      recorder(r)));
  EXPECT_EQ("a", r.content);
  EXPECT_EQ("a", completionOf(decoder.finish()).content);
}

// A stream that never ends used to grow the assembled text without limit: past
// max_content_bytes it fails, not retryable, and stops taking input.
TEST(ChatStreamTest, ContentPastTheCapFailsAsTooLarge) {
  ChatStreamDecoder decoder(/*byok=*/false, /*max_event_bytes=*/4096, /*max_content_bytes=*/1000);
  Recorded r;
  const std::string chunk = "data: {\"id\":\"g\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" +
                            std::string(100, 'x') + "\"}}]}\n\n";
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(decoder.feed(chunk, recorder(r))) << i;  // Exactly 1000 bytes fit.
  }
  EXPECT_EQ(1000u, decoder.assembler().contentBytes());
  EXPECT_EQ(std::string(1000, 'x'), std::string(decoder.assembler().textSoFar()));
  EXPECT_FALSE(decoder.feed(chunk, recorder(r)));
  EXPECT_TRUE(decoder.tooLarge());
  EXPECT_FALSE(decoder.feed(chunk, recorder(r)));  // Ignored from now on.
  EXPECT_EQ(1000u, r.content.size());
  const Failure& f = failureOf(decoder.finish());
  EXPECT_EQ("RESPONSE_TOO_LARGE", f.code);
  EXPECT_FALSE(f.retryable);
  EXPECT_EQ("local", f.source);
  EXPECT_NE(std::string::npos, f.message.find("max_response_bytes")) << f.message;
}

TEST(ChatStreamTest, ReasoningAndToolArgumentsCountTowardsTheCap) {
  ChatStreamAssembler a(/*byok=*/false, /*max_content_bytes=*/10);
  EXPECT_TRUE(a.consume(R"({"choices":[{"index":0,"delta":{"reasoning":"12345"}}]})", nullptr));
  EXPECT_TRUE(
      a.consume(R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"1234"}}]}}]})",
                nullptr));
  EXPECT_FALSE(a.consume(
      R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"12"}}]}}]})", nullptr));
  EXPECT_TRUE(a.tooLarge());
  EXPECT_EQ("RESPONSE_TOO_LARGE", failureOf(a.finish()).code);
}

// A chunk nested past json::kMaxDepth fails the stream (and does not crash).
TEST(ChatStreamTest, ADeeplyNestedChunkIsMalformed) {
  ChatStreamDecoder decoder;
  Recorded r;
  EXPECT_FALSE(decoder.feed("data: {\"x\":" + std::string(200000, '[') + "\n\n", recorder(r)));
  const Failure& f = failureOf(decoder.finish());
  EXPECT_NE(std::string::npos, f.message.find("nested deeper than 128")) << f.message;
  EXPECT_FALSE(f.retryable);
}

}  // namespace
}  // namespace llmq::upstream
