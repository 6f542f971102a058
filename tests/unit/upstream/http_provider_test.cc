// Tests for upstream::HttpProvider on a real CurlLoop against a canned loopback
// server: a chat completion 200 reaches onComplete with its content, usage and
// finish reason (and the request carries the path and key); an SSE stream calls
// onDelta per content chunk, then onComplete with the assembled text; 429 with
// Retry-After fails RATE_LIMITED, retryable, with retry_after_ms; 500 is
// retryable and 400 is not; cancel() before the answer means the sink is never
// called; an answer over max_body_bytes fails RESPONSE_TOO_LARGE; many
// concurrent attempts each end exactly once. Also: a stream that ends without
// its finish fails retryable after its deltas; an SSE event over
// max_event_bytes fails RESPONSE_TOO_LARGE; cancel() from inside onDelta ends
// the sink's calls; a refused connection is a retryable NETWORK failure; the
// attempt's own key and X-Request-Id are sent; embeddings go to /embeddings;
// bodyFor adds stream_options.include_usage only to streams; a stream request
// answered with plain JSON completes from the body; the CurlLoop's bound on
// buffered bytes fails an answer retryable (UPSTREAM_ERROR, local); the
// attempt's timeout_ms fails TIMEOUT, retryable; start() on a closed loop fails
// synchronously and never calls back; cancel() of an ended attempt is harmless.
#include "upstream/http_provider.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/canned_http_server.h"
#include "tests/support/loop_test.h"

namespace llmq::upstream {
namespace {

constexpr char kChatBody[] = R"({"id":"gen-1","object":"chat.completion","model":"m/one","choices":[{"index":0,)"
                             R"("message":{"role":"assistant","content":"Hi there"},"finish_reason":"stop"}],)"
                             R"("usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}})";

constexpr char kRequest[] = R"({"model":"m/one","messages":[{"role":"user","content":"hi"}]})";

std::string chunk(const std::string& content) {
  return R"(data: {"id":"gen-2","object":"chat.completion.chunk","model":"m/one","choices":[{"index":0,)"
         R"("delta":{"content":")" +
         content +
         R"("},"finish_reason":null}]})"
         "\n\n";
}

class RecordingSink final : public TransferSink {
 public:
  void onDelta(const StreamDelta& d) override { deltas.emplace_back(d.content); }
  void onComplete(Completion&& c) override {
    ++calls;
    completion = std::move(c);
  }
  void onFailure(Failure&& f) override {
    ++calls;
    failure = std::move(f);
  }
  std::vector<std::string> deltas;
  int calls = 0;
  std::optional<Completion> completion;
  std::optional<Failure> failure;
};

class HttpProviderTest : public llmq::testing::LoopTest {
 protected:
  void SetUp() override {
    LoopTest::SetUp();
    server_ = std::make_unique<llmq::testing::CannedHttpServer>(&loop_);
    ASSERT_TRUE(server_->start());
    curl_ = std::make_unique<CurlLoop>(&loop_, CurlLoopOptions{});
    settings_.name = "canned";
    settings_.base_url = server_->url("/v1");
    settings_.api_key = "sk-canned-key";
  }
  void TearDown() override {
    provider_.reset();
    curl_->close();
    server_->close();
    LoopTest::TearDown();
  }
  HttpProvider& provider() {
    if (!provider_) {
      provider_ = std::make_unique<HttpProvider>(*curl_, settings_);
    }
    return *provider_;
  }
  uint64_t start(RecordingSink* sink, bool stream = false) {
    AttemptRequest req;
    req.job_id = "j_1";
    req.model = "m/one";
    req.request_json = kRequest;
    req.stream = stream;
    auto r = provider().start(req, sink);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : 0;
  }
  // Starts one attempt and runs the loop until its sink is called.
  RecordingSink& run(bool stream = false) {
    start(&sink_, stream);
    EXPECT_TRUE(runUntil([&] { return sink_.calls > 0; }));
    return sink_;
  }

  std::unique_ptr<llmq::testing::CannedHttpServer> server_;
  std::unique_ptr<CurlLoop> curl_;
  HttpProviderSettings settings_;
  std::unique_ptr<HttpProvider> provider_;
  RecordingSink sink_;
};

TEST_F(HttpProviderTest, AChatCompletionCompletesWithContentAndUsage) {
  server_->respond(200, kChatBody);
  RecordingSink& s = run();
  ASSERT_TRUE(s.completion.has_value()) << (s.failure ? s.failure->code + ": " + s.failure->message : "");
  EXPECT_EQ(1, s.calls);
  EXPECT_EQ("Hi there", s.completion->content);
  EXPECT_EQ("stop", s.completion->finish_reason);
  EXPECT_EQ(3, s.completion->usage.prompt_tokens);
  EXPECT_EQ(2, s.completion->usage.completion_tokens);
  EXPECT_EQ(5, s.completion->usage.total_tokens);
  EXPECT_EQ(200, s.completion->http_status);
  EXPECT_TRUE(s.deltas.empty());
  EXPECT_EQ(0u, provider().active());
  ASSERT_EQ(1u, server_->requests().size());
  const std::string& head = server_->requests()[0];
  EXPECT_EQ(0u, head.find("POST /v1/chat/completions HTTP/1.1\r\n")) << head;
  EXPECT_NE(std::string::npos, head.find("Authorization: Bearer sk-canned-key")) << head;
}

TEST_F(HttpProviderTest, AStreamCallsOnDeltaPerChunkThenCompletes) {
  server_->respond(
      200,
      chunk("Hel") + chunk("lo") +
          R"(data: {"id":"gen-2","object":"chat.completion.chunk","model":"m/one","choices":[{"index":0,)"
          R"("delta":{},"finish_reason":"stop"}]})"
          "\n\n"
          R"(data: {"id":"gen-2","object":"chat.completion.chunk","model":"m/one","choices":[],)"
          R"("usage":{"prompt_tokens":4,"completion_tokens":2,"total_tokens":6}})"
          "\n\n"
          "data: [DONE]\n\n",
      "text/event-stream");
  RecordingSink& s = run(/*stream=*/true);
  ASSERT_TRUE(s.completion.has_value()) << (s.failure ? s.failure->code + ": " + s.failure->message : "");
  EXPECT_EQ((std::vector<std::string>{"Hel", "lo"}), s.deltas);
  EXPECT_EQ("Hello", s.completion->content);
  EXPECT_EQ("stop", s.completion->finish_reason);
  EXPECT_EQ(4, s.completion->usage.prompt_tokens);
  EXPECT_EQ(2, s.completion->usage.completion_tokens);
  ASSERT_EQ(1u, server_->requests().size());
  EXPECT_NE(std::string::npos, server_->requests()[0].find("Accept: text/event-stream"));
}

TEST_F(HttpProviderTest, A429WithRetryAfterIsRateLimitedAndRetryable) {
  server_->respond(429, R"({"error":{"message":"slow down","code":429}})", "application/json",
                   "Retry-After: 7\r\n");
  RecordingSink& s = run();
  ASSERT_TRUE(s.failure.has_value());
  EXPECT_EQ(1, s.calls);
  EXPECT_EQ("RATE_LIMITED", s.failure->code);
  EXPECT_TRUE(s.failure->retryable);
  EXPECT_EQ(429, s.failure->upstream_status);
  EXPECT_EQ(7000, s.failure->retry_after_ms);
}

TEST_F(HttpProviderTest, A500IsRetryable) {
  server_->respond(500, R"({"error":{"message":"boom","code":500}})");
  RecordingSink& s = run();
  ASSERT_TRUE(s.failure.has_value());
  EXPECT_EQ("UPSTREAM_ERROR", s.failure->code);
  EXPECT_TRUE(s.failure->retryable);
  EXPECT_EQ(500, s.failure->upstream_status);
  EXPECT_EQ(0, s.failure->retry_after_ms);
}

TEST_F(HttpProviderTest, A400IsNotRetryable) {
  server_->respond(400, R"({"error":{"message":"bad messages","code":400}})");
  RecordingSink& s = run();
  ASSERT_TRUE(s.failure.has_value());
  EXPECT_EQ("INVALID_REQUEST", s.failure->code);
  EXPECT_FALSE(s.failure->retryable);
  EXPECT_EQ(400, s.failure->upstream_status);
  EXPECT_NE(std::string::npos, s.failure->message.find("bad messages")) << s.failure->message;
}

TEST_F(HttpProviderTest, CancelBeforeTheAnswerMeansTheSinkIsNeverCalled) {
  server_->respond(200, kChatBody);
  server_->hold();
  const uint64_t handle = start(&sink_);
  ASSERT_TRUE(runUntil([&] { return server_->requests().size() == 1; }));
  provider().cancel(handle);
  EXPECT_EQ(0u, provider().active());
  server_->release();
  runUntil([] { return false; }, 100);  // An answer, if one came, would be delivered.
  EXPECT_EQ(0, sink_.calls);
  EXPECT_EQ(0u, curl_->active());
}

TEST_F(HttpProviderTest, AnAnswerOverMaxBodyBytesFailsResponseTooLarge) {
  settings_.max_body_bytes = 64;
  server_->respond(200, kChatBody);  // Longer than 64 bytes.
  RecordingSink& s = run();
  ASSERT_TRUE(s.failure.has_value());
  EXPECT_EQ(1, s.calls);
  EXPECT_EQ("RESPONSE_TOO_LARGE", s.failure->code);
  EXPECT_FALSE(s.failure->retryable);
  EXPECT_EQ("local", s.failure->source);
  EXPECT_EQ(0u, curl_->buffered());  // What it held is given back.
}

TEST_F(HttpProviderTest, ManyConcurrentAttemptsEachEndOnce) {
  server_->respond(200, kChatBody);
  constexpr int kAttempts = 20;
  std::vector<RecordingSink> sinks(kAttempts);
  for (RecordingSink& s : sinks) {
    start(&s);
  }
  EXPECT_EQ(static_cast<size_t>(kAttempts), provider().active());
  ASSERT_TRUE(runUntil(
      [&] {
        for (const RecordingSink& s : sinks) {
          if (s.calls == 0) {
            return false;
          }
        }
        return true;
      },
      20000));
  for (const RecordingSink& s : sinks) {
    EXPECT_EQ(1, s.calls);
    ASSERT_TRUE(s.completion.has_value());
    EXPECT_EQ("Hi there", s.completion->content);
  }
  EXPECT_EQ(0u, provider().active());
  EXPECT_EQ(0u, curl_->buffered());
}

TEST_F(HttpProviderTest, AStreamThatEndsWithoutItsFinishFailsRetryableAfterItsDeltas) {
  server_->respond(200, chunk("Hel"), "text/event-stream");  // Then the body just ends.
  RecordingSink& s = run(/*stream=*/true);
  EXPECT_EQ((std::vector<std::string>{"Hel"}), s.deltas);
  ASSERT_TRUE(s.failure.has_value()) << (s.completion ? "completed: " + s.completion->content : "");
  EXPECT_TRUE(s.failure->retryable) << s.failure->code << ": " << s.failure->message;
  EXPECT_EQ(1, s.calls);
}

TEST_F(HttpProviderTest, AnSseEventOverMaxEventBytesFailsResponseTooLarge) {
  settings_.max_event_bytes = 64;
  server_->respond(200, chunk(std::string(200, 'x')) + "data: [DONE]\n\n", "text/event-stream");
  RecordingSink& s = run(/*stream=*/true);
  ASSERT_TRUE(s.failure.has_value());
  EXPECT_EQ("RESPONSE_TOO_LARGE", s.failure->code);
  EXPECT_FALSE(s.failure->retryable);
  EXPECT_TRUE(s.deltas.empty());
}

TEST_F(HttpProviderTest, CancelFromInsideOnDeltaEndsTheSinksCalls) {
  server_->respond(200, chunk("one") + chunk("two") + "data: [DONE]\n\n", "text/event-stream");
  class CancellingSink final : public TransferSink {
   public:
    void onDelta(const StreamDelta& d) override {
      deltas.emplace_back(d.content);
      provider->cancel(handle);
    }
    void onComplete(Completion&&) override { ++ends; }
    void onFailure(Failure&&) override { ++ends; }
    HttpProvider* provider = nullptr;
    uint64_t handle = 0;
    std::vector<std::string> deltas;
    int ends = 0;
  } sink;
  sink.provider = &provider();
  AttemptRequest req;
  req.model = "m/one";
  req.request_json = kRequest;
  req.stream = true;
  auto h = provider().start(req, &sink);
  ASSERT_TRUE(h.ok());
  sink.handle = *h;
  ASSERT_TRUE(runUntil([&] { return !sink.deltas.empty(); }));
  EXPECT_EQ(0u, provider().active());
  runUntil([] { return false; }, 50);
  EXPECT_EQ((std::vector<std::string>{"one"}), sink.deltas);
  EXPECT_EQ(0, sink.ends);
  EXPECT_TRUE(runUntil([&] { return curl_->active() == 0; }));
}

TEST_F(HttpProviderTest, ARefusedConnectionIsARetryableNetworkFailure) {
  server_->close();
  runUntil([] { return false; }, 10);
  RecordingSink& s = run();
  ASSERT_TRUE(s.failure.has_value());
  EXPECT_EQ("NETWORK", s.failure->code) << s.failure->message;
  EXPECT_TRUE(s.failure->retryable);
  EXPECT_EQ(0, s.failure->upstream_status);
  EXPECT_EQ(std::string::npos, s.failure->message.find("sk-canned-key"));
}

TEST_F(HttpProviderTest, TheAttemptsOwnKeyAndRequestIdAreSent) {
  server_->respond(200, kChatBody);
  AttemptRequest req;
  req.model = "m/one";
  req.request_json = kRequest;
  req.api_key = "sk-job-own-key";
  req.request_id = "req_abc123";
  ASSERT_TRUE(provider().start(req, &sink_).ok());
  ASSERT_TRUE(runUntil([&] { return sink_.calls > 0; }));
  ASSERT_EQ(1u, server_->requests().size());
  const std::string& head = server_->requests()[0];
  EXPECT_NE(std::string::npos, head.find("Authorization: Bearer sk-job-own-key")) << head;
  EXPECT_EQ(std::string::npos, head.find("sk-canned-key")) << head;
  EXPECT_NE(std::string::npos, head.find("X-Request-Id: req_abc123")) << head;
}

TEST_F(HttpProviderTest, EmbeddingsGoToTheEmbeddingsPath) {
  server_->respond(200, R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5,0.25]}],)"
                        R"("model":"m/emb","usage":{"prompt_tokens":2,"total_tokens":2}})");
  AttemptRequest req;
  req.kind = JobKind::kEmbedding;
  req.model = "m/emb";
  req.request_json = R"({"model":"m/emb","input":"hi"})";
  req.stream = true;  // Never streamed.
  ASSERT_TRUE(provider().start(req, &sink_).ok());
  ASSERT_TRUE(runUntil([&] { return sink_.calls > 0; }));
  ASSERT_TRUE(sink_.completion.has_value()) << (sink_.failure ? sink_.failure->message : "");
  EXPECT_EQ(2, sink_.completion->usage.prompt_tokens);
  ASSERT_EQ(1u, server_->requests().size());
  EXPECT_EQ(0u, server_->requests()[0].find("POST /v1/embeddings HTTP/1.1\r\n")) << server_->requests()[0];
  EXPECT_NE(std::string::npos, server_->requests()[0].find("Accept: application/json"));
}

TEST_F(HttpProviderTest, BodyForAddsIncludeUsageToStreamsOnly) {
  EXPECT_EQ(kRequest, provider().bodyFor(kRequest, false));
  const std::string streamed = provider().bodyFor(kRequest, true);
  EXPECT_NE(std::string::npos, streamed.find(R"("stream_options":{"include_usage":true})")) << streamed;
  EXPECT_NE(std::string::npos, streamed.find(R"("model":"m/one")")) << streamed;
}

TEST_F(HttpProviderTest, AStreamRequestAnsweredWithPlainJsonCompletesFromTheBody) {
  server_->respond(200, kChatBody);
  RecordingSink& s = run(/*stream=*/true);
  ASSERT_TRUE(s.completion.has_value()) << (s.failure ? s.failure->code + ": " + s.failure->message : "");
  EXPECT_EQ("Hi there", s.completion->content);
  EXPECT_TRUE(s.deltas.empty());
}

TEST_F(HttpProviderTest, TheLoopsBufferedBytesBoundFailsAnAnswerRetryable) {
  curl_->close();
  curl_ = std::make_unique<CurlLoop>(&loop_, CurlLoopOptions{.max_buffered_bytes = 64});
  server_->respond(200, kChatBody);  // Under max_body_bytes, over the loop's bound.
  RecordingSink& s = run();
  ASSERT_TRUE(s.failure.has_value());
  EXPECT_EQ("UPSTREAM_ERROR", s.failure->code);
  EXPECT_TRUE(s.failure->retryable);
  EXPECT_EQ("local", s.failure->source);
  EXPECT_EQ(0u, curl_->buffered());
}

TEST_F(HttpProviderTest, TheAttemptsTimeoutFailsRetryable) {
  server_->hold();
  AttemptRequest req;
  req.model = "m/one";
  req.request_json = kRequest;
  req.timeout_ms = 50;
  ASSERT_TRUE(provider().start(req, &sink_).ok());
  ASSERT_TRUE(runUntil([&] { return sink_.calls > 0; }));
  ASSERT_TRUE(sink_.failure.has_value());
  EXPECT_EQ("TIMEOUT", sink_.failure->code) << sink_.failure->message;
  EXPECT_TRUE(sink_.failure->retryable);
  EXPECT_EQ(0u, provider().active());
}

TEST_F(HttpProviderTest, StartOnAClosedLoopFailsSynchronouslyAndNeverCallsBack) {
  curl_->close();
  AttemptRequest req;
  req.model = "m/one";
  req.request_json = kRequest;
  EXPECT_FALSE(provider().start(req, &sink_).ok());
  EXPECT_EQ(0u, provider().active());
  runUntil([] { return false; }, 20);
  EXPECT_EQ(0, sink_.calls);
}

TEST_F(HttpProviderTest, CancelOfAnEndedAttemptIsHarmless) {
  server_->respond(200, kChatBody);
  const uint64_t handle = start(&sink_);
  ASSERT_TRUE(runUntil([&] { return sink_.calls > 0; }));
  provider().cancel(handle);
  provider().cancel(handle + 1000);
  EXPECT_EQ(1, sink_.calls);
  EXPECT_TRUE(sink_.completion.has_value());
}

}  // namespace
}  // namespace llmq::upstream
