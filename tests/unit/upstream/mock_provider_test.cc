// Tests for upstream::MockProvider against the Provider callback contract
// (upstream/provider.h): deterministic text, streamed deltas then
// exactly one completion with usage and cost, failures on command, cancel, and
// synchronous start() failures that never reach the sink. Calls are counted;
// "never called" is proven by a later transfer that must finish first.
#include "upstream/mock_provider.h"

#include <gtest/gtest.h>

#include <cctype>
#include <functional>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "common/json.h"
#include "tests/support/loop_test.h"

namespace llmq::upstream {
namespace {

class RecordingSink : public TransferSink {
 public:
  void onDelta(const StreamDelta& d) override {
    deltas.emplace_back(d.content);
    indexes.push_back(d.index);
    ++calls;
    if (on_delta) {
      on_delta();
    }
  }
  void onComplete(Completion&& c) override {
    completion = std::move(c);
    ++completes;
    ++calls;
  }
  void onFailure(Failure&& f) override {
    failure = std::move(f);
    ++failures;
    ++calls;
  }
  bool done() const { return completes + failures > 0; }
  std::string joined() const {
    std::string s;
    for (const auto& d : deltas) {
      s += d;
    }
    return s;
  }

  std::vector<std::string> deltas;
  std::vector<int> indexes;
  Completion completion;
  Failure failure;
  int completes = 0;
  int failures = 0;
  int calls = 0;
  std::function<void()> on_delta;
};

// No pacing unless a request asks for it, so tests run at loop speed.
MockOptions fastOptions() {
  MockOptions o;
  o.chunk_delay_ms = 0;
  o.first_chunk_delay_ms = 0;
  o.prompt_usd_per_mtok = 2.0;
  o.completion_usd_per_mtok = 3.0;
  return o;
}

std::string request(const std::string& model_extra = "", const std::string& content = "hello") {
  return R"({"messages":[{"role":"system","content":"be brief"},{"role":"user","content":")" + content + "\"}]" +
         (model_extra.empty() ? "" : "," + model_extra) + "}";
}

class MockProviderTest : public llmq::testing::LoopTest {
 protected:
  void SetUp() override {
    LoopTest::SetUp();
    provider_ = std::make_unique<MockProvider>(&loop_, fastOptions());
  }
  void TearDown() override {
    provider_.reset();  // Closes its timer; LoopTest then proves it was freed.
    LoopTest::TearDown();
  }

  uint64_t start(const std::string& model, const std::string& body, RecordingSink* sink, bool stream,
                 int attempt = 1) {
    AttemptRequest req;
    req.job_id = "j000000000001";
    req.attempt = attempt;
    req.model = model;
    req.request_json = body;
    req.stream = stream;
    auto h = provider_->start(req, sink);
    EXPECT_TRUE(h.ok()) << h.error().message;
    // Never from inside start().
    EXPECT_EQ(0, sink->calls);
    return h.ok() ? *h : 0;
  }

  std::unique_ptr<MockProvider> provider_;
};

TEST_F(MockProviderTest, StreamsNDeltasThenOneCompletionWithUsageAndCost) {
  RecordingSink sink;
  start("mock/demo", request(R"("mock":{"tokens":6})"), &sink, /*stream=*/true);
  EXPECT_EQ(1u, provider_->active());
  ASSERT_TRUE(runUntil([&] { return sink.done(); }));
  EXPECT_EQ(6u, sink.deltas.size());
  EXPECT_EQ(std::vector<int>(6, 0), sink.indexes);
  EXPECT_EQ(1, sink.completes);
  EXPECT_EQ(0, sink.failures);
  EXPECT_EQ(7, sink.calls);
  EXPECT_EQ(0u, provider_->active());

  const Completion& c = sink.completion;
  EXPECT_EQ(sink.joined(), c.content);  // The deltas add up to the content.
  EXPECT_EQ("stop", c.finish_reason);
  EXPECT_EQ("mock/demo", c.model);
  EXPECT_EQ("mock", c.provider);
  EXPECT_EQ("gen-mock-j000000000001-1", c.generation_id);
  EXPECT_EQ(200, c.http_status);
  // Prompt: 3 + per message 4 + ceil(bytes / 4): "be brief" (8) -> 2, "hello" (5) -> 2.
  EXPECT_EQ(3 + (4 + 2) + (4 + 2), c.usage.prompt_tokens);
  EXPECT_EQ(6, c.usage.completion_tokens);  // One per word.
  EXPECT_EQ(15 + 6, c.usage.total_tokens);
  EXPECT_DOUBLE_EQ((15 * 2.0 + 6 * 3.0) / 1e6, c.usage.cost_usd);
  EXPECT_TRUE(c.usage.cost_reported);

  // The result is a chat.completion object carrying the same text and usage.
  json::Document doc;
  std::string error;
  ASSERT_TRUE(json::parse(doc, c.result_json, &error)) << error << ": " << c.result_json;
  EXPECT_EQ("chat.completion", json::view(doc["object"]));
  EXPECT_EQ(c.generation_id, json::view(doc["id"]));
  EXPECT_EQ(c.content, json::view(doc["choices"][0]["message"]["content"]));
  EXPECT_EQ("assistant", json::view(doc["choices"][0]["message"]["role"]));
  EXPECT_EQ(15, doc["usage"]["prompt_tokens"].GetInt());
  EXPECT_EQ(6, doc["usage"]["completion_tokens"].GetInt());
  EXPECT_EQ(21, doc["usage"]["total_tokens"].GetInt());
  EXPECT_DOUBLE_EQ(c.usage.cost_usd, doc["usage"]["cost"].GetDouble());
}

TEST_F(MockProviderTest, PacedStreamsAndMultiTokenChunks) {
  RecordingSink sink;
  start("mock/demo",
        request(R"("mock":{"tokens":5,"tokens_per_chunk":2,"chunk_delay_ms":1,"first_chunk_delay_ms":1})"), &sink,
        true);
  ASSERT_TRUE(runUntil([&] { return sink.done(); }));
  ASSERT_EQ(3u, sink.deltas.size());  // 2 + 2 + 1 words.
  EXPECT_EQ(1, sink.completes);
  EXPECT_EQ(sink.joined(), sink.completion.content);
  EXPECT_EQ(5, sink.completion.usage.completion_tokens);
  EXPECT_EQ(' ', sink.deltas[1][0]);  // Later deltas carry their separating space.
}

TEST_F(MockProviderTest, TheSamePromptGivesTheSameWords) {
  RecordingSink a;
  RecordingSink b;
  RecordingSink other;
  start("mock/demo", request(R"("mock":{"tokens":12})"), &a, true);
  start("mock/demo", request(R"("mock":{"tokens":12})"), &b, false);
  start("mock/demo", request(R"("mock":{"tokens":12})", "goodbye"), &other, false);
  ASSERT_TRUE(runUntil([&] { return a.done() && b.done() && other.done(); }));
  EXPECT_EQ(a.completion.content, b.completion.content);
  EXPECT_NE(a.completion.content, other.completion.content);
  // Capitalised first word, full stop at the end.
  ASSERT_FALSE(a.completion.content.empty());
  EXPECT_TRUE(std::isupper(static_cast<unsigned char>(a.completion.content.front())));
  EXPECT_EQ('.', a.completion.content.back());
}

TEST_F(MockProviderTest, ANonStreamedAnswerHasNoDeltas) {
  RecordingSink sink;
  start("mock/demo", request(R"("mock":{"tokens":4,"chunk_delay_ms":1})"), &sink, false);
  ASSERT_TRUE(runUntil([&] { return sink.done(); }));
  EXPECT_TRUE(sink.deltas.empty());
  EXPECT_EQ(1, sink.completes);
  EXPECT_EQ(1, sink.calls);
  EXPECT_EQ(4, sink.completion.usage.completion_tokens);
}

TEST_F(MockProviderTest, MaxTokensCapsTheAnswer) {
  RecordingSink capped;
  RecordingSink zero;
  RecordingSink defaulted;
  start("mock/demo", request(R"("mock":{"tokens":50},"max_tokens":3)"), &capped, true);
  start("mock/demo", request(R"("max_tokens":0)"), &zero, true);
  start("mock/demo", request(R"("max_tokens":1000)"), &defaulted, false);
  ASSERT_TRUE(runUntil([&] { return capped.done() && zero.done() && defaulted.done(); }));
  EXPECT_EQ(3u, capped.deltas.size());
  EXPECT_EQ(3, capped.completion.usage.completion_tokens);
  EXPECT_TRUE(zero.deltas.empty());
  EXPECT_EQ(1, zero.completes);
  EXPECT_EQ("", zero.completion.content);
  EXPECT_EQ(0, zero.completion.usage.completion_tokens);
  // max_tokens above the default does not lengthen it.
  EXPECT_EQ(MockOptions{}.default_tokens, defaulted.completion.usage.completion_tokens);
}

TEST_F(MockProviderTest, EchoRepeatsTheLastUserMessage) {
  RecordingSink sink;
  std::string body = R"({"messages":[{"role":"user","content":"first"},{"role":"assistant","content":"x"},)"
                     R"({"role":"user","content":"say  it back"}]})";
  start("mock/echo", body, &sink, true);
  ASSERT_TRUE(runUntil([&] { return sink.done(); }));
  EXPECT_EQ((std::vector<std::string>{"say", " it", " back"}), sink.deltas);
  EXPECT_EQ("say it back", sink.completion.content);
  EXPECT_EQ(3, sink.completion.usage.completion_tokens);
  EXPECT_EQ("mock/echo", sink.completion.model);
}

TEST_F(MockProviderTest, Fail500IsRetryable) {
  RecordingSink sink;
  start("mock/fail-500", request(), &sink, true);
  ASSERT_TRUE(runUntil([&] { return sink.done(); }));
  EXPECT_EQ(1, sink.failures);
  EXPECT_EQ(1, sink.calls);
  EXPECT_TRUE(sink.failure.retryable);
  EXPECT_EQ(500, sink.failure.upstream_status);
  EXPECT_EQ("UPSTREAM_ERROR", sink.failure.code);
  EXPECT_EQ("upstream", sink.failure.source);
  EXPECT_EQ(0u, provider_->active());
}

TEST_F(MockProviderTest, Fail400IsNotRetryable) {
  RecordingSink sink;
  start("mock/fail-400", request(), &sink, false);
  ASSERT_TRUE(runUntil([&] { return sink.done(); }));
  EXPECT_EQ(1, sink.failures);
  EXPECT_EQ(1, sink.calls);
  EXPECT_FALSE(sink.failure.retryable);
  EXPECT_EQ(400, sink.failure.upstream_status);
  EXPECT_EQ("INVALID_REQUEST", sink.failure.code);
}

TEST_F(MockProviderTest, OtherFailureStatuses) {
  RecordingSink rate;
  RecordingSink garbage;
  start("mock/fail-429", request(), &rate, false);
  start("mock/fail-abc", request(), &garbage, false);
  ASSERT_TRUE(runUntil([&] { return rate.done() && garbage.done(); }));
  EXPECT_TRUE(rate.failure.retryable);
  EXPECT_EQ("RATE_LIMITED", rate.failure.code);
  EXPECT_EQ(500, garbage.failure.upstream_status);  // Not a status: a plain 500.
}

TEST_F(MockProviderTest, FlakyFailsTheFirstAttemptOnly) {
  RecordingSink first;
  RecordingSink second;
  start("mock/flaky", request(), &first, true, /*attempt=*/1);
  start("mock/flaky", request(), &second, true, /*attempt=*/2);
  ASSERT_TRUE(runUntil([&] { return first.done() && second.done(); }));
  EXPECT_EQ(1, first.failures);
  EXPECT_EQ(0, first.completes);
  EXPECT_TRUE(first.deltas.empty());
  EXPECT_EQ(503, first.failure.upstream_status);
  EXPECT_TRUE(first.failure.retryable);
  EXPECT_EQ(0, second.failures);
  EXPECT_EQ(1, second.completes);
  EXPECT_EQ("gen-mock-j000000000001-2", second.completion.generation_id);
}

TEST_F(MockProviderTest, CancelBeforeTheFirstChunkStopsEverything) {
  RecordingSink cancelled;
  RecordingSink barrier;
  uint64_t h = start("mock/demo", request(R"("mock":{"first_chunk_delay_ms":5})"), &cancelled, true);
  provider_->cancel(h);
  EXPECT_EQ(0u, provider_->active());
  // Due after the cancelled one would have finished.
  start("mock/demo", request(R"("mock":{"first_chunk_delay_ms":30})"), &barrier, true);
  ASSERT_TRUE(runUntil([&] { return barrier.done(); }));
  EXPECT_EQ(0, cancelled.calls);
  provider_->cancel(h);  // Cancelling twice (or after the end) is harmless.
}

TEST_F(MockProviderTest, CancelMidStreamStopsAllCallbacks) {
  RecordingSink cancelled;
  RecordingSink barrier;
  uint64_t h = start("mock/demo", request(R"("mock":{"tokens":20,"chunk_delay_ms":2})"), &cancelled, true);
  ASSERT_TRUE(runUntil([&] { return cancelled.deltas.size() >= 2; }));
  provider_->cancel(h);
  int calls_at_cancel = cancelled.calls;
  start("mock/demo", request(R"("mock":{"tokens":2,"first_chunk_delay_ms":60})"), &barrier, true);
  ASSERT_TRUE(runUntil([&] { return barrier.done(); }));
  EXPECT_EQ(calls_at_cancel, cancelled.calls);
  EXPECT_EQ(0, cancelled.completes + cancelled.failures);
}

TEST_F(MockProviderTest, CancelFromInsideOnDeltaStopsAtOnce) {
  RecordingSink sink;
  uint64_t h = 0;
  sink.on_delta = [&] {
    if (sink.deltas.size() == 3) {
      provider_->cancel(h);
    }
  };
  RecordingSink barrier;
  // Zero pacing: the whole stream would be emitted inside one timer tick.
  h = start("mock/demo", request(R"("mock":{"tokens":10})"), &sink, true);
  start("mock/demo", request(R"("mock":{"first_chunk_delay_ms":20})"), &barrier, true);
  ASSERT_TRUE(runUntil([&] { return barrier.done(); }));
  EXPECT_EQ(3u, sink.deltas.size());
  EXPECT_EQ(3, sink.calls);
}

TEST_F(MockProviderTest, HangNeverAnswersUntilCancelled) {
  RecordingSink hang;
  RecordingSink barrier;
  uint64_t h = start("mock/hang", request(), &hang, true);
  start("mock/demo", request(R"("mock":{"first_chunk_delay_ms":20})"), &barrier, true);
  ASSERT_TRUE(runUntil([&] { return barrier.done(); }));
  EXPECT_EQ(0, hang.calls);
  EXPECT_EQ(1u, provider_->active());
  provider_->cancel(h);
  EXPECT_EQ(0u, provider_->active());
}

TEST_F(MockProviderTest, InvalidRequestsFailSynchronouslyAndNeverCallTheSink) {
  const std::string bad[] = {
      "not json",
      R"({"messages":[{"role":"user","content":"hi"}]} trailing)",
      "[1,2]",
      R"({"model":"mock/demo"})",
      R"({"messages":"hi"})",
      "{\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]}",
  };
  std::vector<RecordingSink> sinks(std::size(bad));
  for (size_t i = 0; i < std::size(bad); ++i) {
    AttemptRequest req;
    req.job_id = "j000000000002";
    req.model = "mock/demo";
    req.request_json = bad[i];
    req.stream = true;
    auto h = provider_->start(req, &sinks[i]);
    ASSERT_FALSE(h.ok()) << bad[i];
    EXPECT_EQ(ErrorKind::kInvalidArgument, h.error().kind);
    EXPECT_EQ(0, h.error().message.rfind("mock: ", 0)) << h.error().message;
  }
  EXPECT_EQ(0u, provider_->active());
  RecordingSink barrier;
  start("mock/demo", request(R"("mock":{"first_chunk_delay_ms":10})"), &barrier, true);
  ASSERT_TRUE(runUntil([&] { return barrier.done(); }));
  for (const auto& s : sinks) {
    EXPECT_EQ(0, s.calls);
  }
}

TEST_F(MockProviderTest, ManyConcurrentTransfersEachCompleteExactlyOnce) {
  constexpr int kTransfers = 200;
  std::vector<RecordingSink> sinks(kTransfers);
  for (int i = 0; i < kTransfers; ++i) {
    int delay = i % 7;
    start("mock/demo",
          request("\"mock\":{\"tokens\":3,\"chunk_delay_ms\":" + std::to_string(delay % 3) +
                  ",\"first_chunk_delay_ms\":" + std::to_string(delay) + "}"),
          &sinks[static_cast<size_t>(i)], i % 2 == 0);
  }
  EXPECT_EQ(static_cast<size_t>(kTransfers), provider_->active());
  ASSERT_TRUE(runUntil([&] { return provider_->active() == 0; }));
  for (int i = 0; i < kTransfers; ++i) {
    const auto& s = sinks[static_cast<size_t>(i)];
    EXPECT_EQ(1, s.completes) << i;
    EXPECT_EQ(0, s.failures) << i;
    EXPECT_EQ(i % 2 == 0 ? 3u : 0u, s.deltas.size()) << i;
  }
}

TEST_F(MockProviderTest, AModelWithoutTheMockPrefixFailsSynchronously) {
  RecordingSink sink;
  AttemptRequest req;
  req.model = "mock";
  std::string body = request();
  req.request_json = body;
  Result<uint64_t> h = makeError(ErrorKind::kInternal, "not started");
  EXPECT_NO_THROW(h = provider_->start(req, &sink));
  EXPECT_FALSE(h.ok());
  EXPECT_EQ(0, sink.calls);
}

TEST(MockProviderStaticTest, HandlesOnlyMockModels) {
  EXPECT_TRUE(MockProvider::handles("mock/demo"));
  EXPECT_TRUE(MockProvider::handles("mock/"));
  EXPECT_FALSE(MockProvider::handles("mock"));
  EXPECT_FALSE(MockProvider::handles("openai/gpt-4o"));
  EXPECT_FALSE(MockProvider::handles("xmock/demo"));
}

}  // namespace
}  // namespace llmq::upstream
