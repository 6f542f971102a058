// Tests for daemon::HttpFront on the engine fixture (a real Engine, a
// ScriptedProvider serving test/*), listening on 127.0.0.1:0 and flushed at
// the end of every turn as the Daemon does, with a raw TCP client read between
// loop iterations: POST /v1/chat/completions with the bearer token answers the
// scripted text as an OpenAI chat.completion; a missing or wrong token is 401
// before anything is submitted; a streamed request answers SSE chunks then
// [DONE], the same pieces a socket subscriber hears as text; GET /v1/models answers a list; a job that fails
// without retry answers OpenAI's error shape with the status the failure maps to (400 for INVALID_REQUEST, 502 for
// UPSTREAM_ERROR). Also: /healthz needs no token; an unknown path is 404 and GET on a POST endpoint 405; a body
// that is not JSON and a bad X-Llmq-Priority are 400 and submit nothing; two requests on one keep-alive connection;
// a stream that fails before any content answers an HTTP error; include_usage adds a usage chunk; a client that
// goes away cancels its job unless it sent X-Llmq-Detach; one Idempotency-Key is one job, and a streamed retry of
// it replays the stored answer as SSE; POST /v1/responses answers a Response with the scripted text; a stream whose
// job waits past stream_head_after_ms gets its head and a comment, then keep-alive comments, and a failure after
// that is an error event ending the stream; an HTTP/1.0 client's stream comes unchunked and ends with the
// connection; a stream and a plain request still waiting at shutdown end cleanly. Shutdown follows the Daemon's
// order: engine stop, front flush and close, engine close.
#include "daemon/api/http_front.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/engine_fixture.h"
#include "tests/support/raw_client.h"

namespace llmq::daemon {
namespace {

using llmq::testing::RawClient;

constexpr char kToken[] = "llmq-test-token-0123456789abcdef";

// The first HTTP response of `wire` (Content-Length or chunked); `complete`
// says whether all of it has arrived.
struct Reply {
  bool complete = false;
  int status = 0;
  std::string head;
  std::string body;
};

Reply firstReply(const std::string& wire) {
  Reply r;
  const size_t end = wire.find("\r\n\r\n");
  if (end == std::string::npos) {
    return r;
  }
  r.head = wire.substr(0, end);
  r.status = std::atoi(r.head.c_str() + 9);
  size_t pos = end + 4;
  if (r.head.find("Transfer-Encoding: chunked") != std::string::npos) {
    for (;;) {
      const size_t line = wire.find("\r\n", pos);
      if (line == std::string::npos) {
        return r;
      }
      const size_t size = std::strtoul(wire.c_str() + pos, nullptr, 16);
      if (wire.size() < line + 2 + size + 2) {
        return r;
      }
      if (size == 0) {
        r.complete = true;
        return r;
      }
      r.body.append(wire, line + 2, size);
      pos = line + 2 + size + 2;
    }
  }
  const size_t cl = r.head.find("Content-Length: ");
  if (cl == std::string::npos) {
    r.body = wire.substr(pos);  // Until the connection ends (the caller says when).
    return r;
  }
  const size_t len = cl == std::string::npos ? 0 : std::strtoul(r.head.c_str() + cl + 16, nullptr, 10);
  if (wire.size() >= pos + len) {
    r.body = wire.substr(pos, len);
    r.complete = true;
  }
  return r;
}

// The value of the header `name` in a response head ("" when absent).
std::string headerOf(const std::string& head, const std::string& name) {
  const size_t at = head.find("\r\n" + name + ": ");
  if (at == std::string::npos) {
    return "";
  }
  const size_t from = at + 2 + name.size() + 2;
  return head.substr(from, head.find("\r\n", from) - from);
}

// The data: payloads of an SSE body, in order.
std::vector<std::string> sseData(const std::string& body) {
  std::vector<std::string> out;
  size_t pos = 0;
  while ((pos = body.find("data: ", pos)) != std::string::npos) {
    const size_t end = body.find("\n\n", pos);
    out.push_back(body.substr(pos + 6, end == std::string::npos ? std::string::npos : end - pos - 6));
    pos = end == std::string::npos ? body.size() : end + 2;
  }
  return out;
}

class HttpFrontTest : public llmq::testing::EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    start();
    HttpFrontOptions options;
    options.token = kToken;
    options.http.header_timeout_ms = 30'000;
    adjust(options);
    front_ = std::make_unique<HttpFront>(*engine_, options);
    auto port = front_->listen("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.error().message;
    port_ = *port;
  }
  // A suite's own front options.
  virtual void adjust(HttpFrontOptions& /*options*/) {}
  // As Daemon::endOfTurn: the front's answers go out after the engine's turn.
  void afterTurn() override {
    if (front_) {
      front_->flush();
    }
  }
  // As Daemon::finishShutdown: after Engine::stop(), before Engine::close().
  void beforeEngineClose() override {
    if (front_) {
      front_->flush();
      front_->close();
    }
  }
  void afterLoopDrained() override { front_.reset(); }

  // Sends `raw` on a new connection and runs the loop until its first answer is
  // complete (a test failure and what came so far when it is not).
  Reply exchange(const std::string& raw) {
    RawClient c;
    EXPECT_TRUE(c.connectTcp(port_)) << c.error();
    EXPECT_TRUE(c.write(raw));
    Reply r;
    const bool got = runUntil(
        [&] {
          c.poll();
          r = firstReply(c.received());
          return r.complete || c.eof();
        },
        kWaitMs);
    EXPECT_TRUE(got && r.complete) << "no complete answer; got: " << c.received();
    return r;
  }
  static std::string post(const std::string& path, const std::string& body, const std::string& auth) {
    return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + auth +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  }
  static std::string bearer(const std::string& token = kToken) { return "Authorization: Bearer " + token + "\r\n"; }
  static std::string chatBody(const std::string& extra = "") {
    return R"({"model":"test/echo","messages":[{"role":"user","content":"hi"}])" + extra + "}";
  }

  std::unique_ptr<HttpFront> front_;
  int port_ = 0;
  std::vector<std::unique_ptr<RawClient>> kept_;  // Closed after TearDown.
};

TEST_F(HttpFrontTest, AChatCompletionWithTheTokenAnswersTheScriptedText) {
  const Reply r = exchange(post("/v1/chat/completions", chatBody(), bearer()));
  ASSERT_EQ(200, r.status) << r.head << "\n" << r.body;
  EXPECT_NE(std::string::npos, r.head.find("Content-Type: application/json")) << r.head;
  const std::string job_id = headerOf(r.head, "X-Llmq-Job-Id");
  ASSERT_FALSE(job_id.empty()) << r.head;
  EXPECT_EQ(store::JobState::kSucceeded, stateOf(job_id));
  EXPECT_EQ("\"chat.completion\"", field(r.body, "object")) << r.body;
  EXPECT_EQ("\"Hello there\"", field(r.body, "choices.0.message.content")) << r.body;
  EXPECT_EQ("\"assistant\"", field(r.body, "choices.0.message.role")) << r.body;
  EXPECT_EQ("\"stop\"", field(r.body, "choices.0.finish_reason")) << r.body;
  EXPECT_EQ("10", field(r.body, "usage.prompt_tokens")) << r.body;
  EXPECT_EQ("2", field(r.body, "usage.completion_tokens")) << r.body;
  ASSERT_EQ(1u, upstream_->seen().size());
  EXPECT_EQ("test/echo", upstream_->seen()[0].model);
  EXPECT_FALSE(upstream_->seen()[0].stream);
}

TEST_F(HttpFrontTest, AMissingOrWrongTokenIs401AndSubmitsNothing) {
  for (const std::string& auth : {std::string(), bearer("not-the-token-0123456789abcdef")}) {
    const Reply r = exchange(post("/v1/chat/completions", chatBody(), auth));
    EXPECT_EQ(401, r.status) << auth << "\n" << r.head << "\n" << r.body;
    EXPECT_EQ("\"invalid_api_key\"", field(r.body, "error.code")) << r.body;
    EXPECT_EQ("\"invalid_request_error\"", field(r.body, "error.type")) << r.body;
  }
  EXPECT_TRUE(upstream_->seen().empty());
}

TEST_F(HttpFrontTest, AStreamedRequestAnswersSseChunksThenDone) {
  const Reply r = exchange(post("/v1/chat/completions", chatBody(R"(,"stream":true)"), bearer()));
  ASSERT_EQ(200, r.status) << r.head << "\n" << r.body;
  EXPECT_NE(std::string::npos, r.head.find("Content-Type: text/event-stream")) << r.head;
  const std::vector<std::string> events = sseData(r.body);
  ASSERT_GE(events.size(), 3u) << r.body;
  EXPECT_EQ("[DONE]", events.back()) << r.body;
  std::string text;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    EXPECT_EQ("\"chat.completion.chunk\"", field(events[i], "object")) << events[i];
    const std::string content = field(events[i], "choices.0.delta.content");
    if (content.size() >= 2) {
      text += content.substr(1, content.size() - 2);
    }
  }
  EXPECT_EQ("Hello there", text) << r.body;
  EXPECT_EQ("\"stop\"", field(events[events.size() - 2], "choices.0.finish_reason")) << r.body;
  ASSERT_EQ(1u, upstream_->seen().size());
  EXPECT_TRUE(upstream_->seen()[0].stream);
}

TEST_F(HttpFrontTest, AStreamAndASocketSubscriberReadTheSameChunks) {
  // The front's events come as values, a socket subscriber's as JSON-RPC text:
  // both carry every piece as the upstream sent it.
  llmq::testing::ScriptedProvider::Answer a;
  a.deltas = {"H\u00e9 \"q\"", " \\ there\n"};
  upstream_->push(a);
  const uint64_t watcher = admin();
  ASSERT_FALSE(isError(call(watcher, "events.subscribe", R"({"all":true})")));
  const Reply r = exchange(post("/v1/chat/completions", chatBody(R"(,"stream":true)"), bearer()));
  ASSERT_EQ(200, r.status) << r.head << "\n" << r.body;
  std::string streamed;
  for (const std::string& e : sseData(r.body)) {
    json::Document d;
    if (e == "[DONE]" || !json::parse(d, e, nullptr)) {
      continue;
    }
    const json::Value* choices = json::member(d, "choices");
    const json::Value* delta = choices != nullptr && choices->IsArray() && !choices->Empty()
                                   ? json::member((*choices)[0], "delta")
                                   : nullptr;
    const json::Value* content = delta != nullptr ? json::member(*delta, "content") : nullptr;
    if (content != nullptr && content->IsString()) {
      streamed += json::view(*content);
    }
  }
  EXPECT_EQ("H\u00e9 \"q\" \\ there\n", streamed) << r.body;
  std::string heard;
  ASSERT_TRUE(runUntil(
      [&] {
        heard.clear();
        bool final_seen = false;
        for (const std::string& line : lines(watcher)) {
          json::Document d;
          if (!json::parse(d, line, nullptr) || json::member(d, "params") == nullptr) {
            continue;
          }
          const json::Value& params = d["params"];
          const std::string_view event = json::view(params["event"]);
          if (event == "message_chunk") {
            heard += json::view(params["data"]["delta"]);
          }
          final_seen = final_seen || event == "final_response";
        }
        return final_seen;
      },
      kWaitMs));
  EXPECT_EQ(streamed, heard);
}

TEST_F(HttpFrontTest, ModelsAnswersAList) {
  const Reply r = exchange("GET /v1/models HTTP/1.1\r\nHost: x\r\n" + bearer() + "\r\n");
  ASSERT_EQ(200, r.status) << r.head << "\n" << r.body;
  EXPECT_EQ("\"list\"", field(r.body, "object")) << r.body;
  EXPECT_EQ('[', field(r.body, "data").front()) << r.body;
}

TEST_F(HttpFrontTest, ANonRetryableInvalidRequestIs400InOpenAisErrorShape) {
  upstream_->push(llmq::testing::ScriptedProvider::fails("INVALID_REQUEST", 400, false));
  const Reply r = exchange(post("/v1/chat/completions", chatBody(), bearer()));
  ASSERT_EQ(400, r.status) << r.head << "\n" << r.body;
  EXPECT_EQ("\"invalid_request_error\"", field(r.body, "error.type")) << r.body;
  EXPECT_EQ("\"invalid_request\"", field(r.body, "error.code")) << r.body;
  EXPECT_NE(std::string::npos, field(r.body, "error.message").find("scripted failure")) << r.body;
  EXPECT_EQ("false", headerOf(r.head, "X-Should-Retry")) << r.head;
  const std::string job_id = headerOf(r.head, "X-Llmq-Job-Id");
  ASSERT_FALSE(job_id.empty()) << r.head;
  EXPECT_EQ(store::JobState::kFailed, stateOf(job_id));
  EXPECT_EQ(1u, upstream_->seen().size());  // Not retried.
}

TEST_F(HttpFrontTest, ANonRetryableUpstreamErrorIs502InOpenAisErrorShape) {
  upstream_->push(llmq::testing::ScriptedProvider::fails("UPSTREAM_ERROR", 500, false));
  const Reply r = exchange(post("/v1/chat/completions", chatBody(), bearer()));
  ASSERT_EQ(502, r.status) << r.head << "\n" << r.body;
  EXPECT_EQ("\"api_error\"", field(r.body, "error.type")) << r.body;
  EXPECT_EQ("\"upstream_error\"", field(r.body, "error.code")) << r.body;
  EXPECT_EQ(1u, upstream_->seen().size());
}

TEST_F(HttpFrontTest, HealthzNeedsNoToken) {
  const Reply r = exchange("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(200, r.status) << r.head;
  EXPECT_EQ("\"ok\"", field(r.body, "status")) << r.body;
}

TEST_F(HttpFrontTest, AnUnknownPathIs404AndAGetOfAPostEndpoint405) {
  Reply r = exchange("GET /v1/nothing HTTP/1.1\r\nHost: x\r\n" + bearer() + "\r\n");
  EXPECT_EQ(404, r.status) << r.head;
  EXPECT_EQ("\"not_found\"", field(r.body, "error.code")) << r.body;
  r = exchange("GET /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + bearer() + "\r\n");
  EXPECT_EQ(405, r.status) << r.head;
  EXPECT_EQ("\"method_not_allowed\"", field(r.body, "error.code")) << r.body;
}

TEST_F(HttpFrontTest, ABodyThatIsNotJsonOrABadPriorityIs400AndSubmitsNothing) {
  Reply r = exchange(post("/v1/chat/completions", "{not json", bearer()));
  EXPECT_EQ(400, r.status) << r.head << "\n" << r.body;
  EXPECT_EQ("\"invalid_request_error\"", field(r.body, "error.type")) << r.body;
  r = exchange(post("/v1/chat/completions", chatBody(), bearer() + "X-Llmq-Priority: high\r\n"));
  EXPECT_EQ(400, r.status) << r.head << "\n" << r.body;
  EXPECT_TRUE(upstream_->seen().empty());
}

TEST_F(HttpFrontTest, AHeaderOfThousandsOfTagsIs400AndSubmitsNothing) {
  // 8,000 tags in one header: refused as more than a job may have, the header
  // split no further than one past that bound.
  std::string tags;
  for (int i = 0; i < 8000; ++i) {
    tags += (i == 0 ? "t" : ",t") + std::to_string(i);
  }
  Reply r = exchange(post("/v1/chat/completions", chatBody(), bearer() + "X-Llmq-Tags: " + tags + "\r\n"));
  EXPECT_EQ(400, r.status) << r.head << "\n" << r.body;
  EXPECT_NE(std::string::npos, r.body.find("more than 32")) << r.body;
  EXPECT_TRUE(upstream_->seen().empty());
}

TEST_F(HttpFrontTest, TwoRequestsOnOneKeepAliveConnection) {
  RawClient c;
  ASSERT_TRUE(c.connectTcp(port_));
  for (int i = 1; i <= 2; ++i) {
    c.clearReceived();
    ASSERT_TRUE(c.write(post("/v1/chat/completions", chatBody(), bearer())));
    Reply r;
    ASSERT_TRUE(runUntil(
        [&] {
          c.poll();
          r = firstReply(c.received());
          return r.complete || c.eof();
        },
        kWaitMs));
    ASSERT_TRUE(r.complete) << c.received();
    EXPECT_EQ(200, r.status);
    EXPECT_EQ("\"Hello there\"", field(r.body, "choices.0.message.content")) << r.body;
  }
  EXPECT_FALSE(c.eof());
  EXPECT_EQ(1u, front_->connectionCount());
  EXPECT_EQ(2u, upstream_->seen().size());
}

TEST_F(HttpFrontTest, AStreamThatFailsBeforeAnyContentAnswersAnHttpError) {
  upstream_->push(llmq::testing::ScriptedProvider::fails("INVALID_REQUEST", 400, false));
  const Reply r = exchange(post("/v1/chat/completions", chatBody(R"(,"stream":true)"), bearer()));
  EXPECT_EQ(400, r.status) << r.head << "\n" << r.body;
  EXPECT_EQ("\"invalid_request\"", field(r.body, "error.code")) << r.body;
}

TEST_F(HttpFrontTest, IncludeUsageAddsAUsageChunkBeforeDone) {
  const Reply r = exchange(post("/v1/chat/completions",
                                chatBody(R"(,"stream":true,"stream_options":{"include_usage":true})"), bearer()));
  ASSERT_EQ(200, r.status) << r.head << "\n" << r.body;
  const std::vector<std::string> events = sseData(r.body);
  ASSERT_GE(events.size(), 2u) << r.body;
  EXPECT_EQ("[DONE]", events.back());
  const std::string& usage = events[events.size() - 2];
  EXPECT_EQ("10", field(usage, "usage.prompt_tokens")) << usage;
  EXPECT_EQ("12", field(usage, "usage.total_tokens")) << usage;
  EXPECT_EQ("[]", field(usage, "choices")) << usage;
}

TEST_F(HttpFrontTest, AClientThatGoesAwayCancelsItsJob) {
  upstream_->push(llmq::testing::ScriptedProvider::held());
  RawClient c;
  ASSERT_TRUE(c.connectTcp(port_));
  ASSERT_TRUE(c.write(post("/v1/chat/completions", chatBody(), bearer())));
  ASSERT_TRUE(runUntil([&] { return upstream_->holding() == 1; }, kWaitMs));
  const std::string job_id = upstream_->seen()[0].job_id;
  c.close();
  ASSERT_TRUE(reaches(job_id, store::JobState::kCancelled));
  EXPECT_EQ(1u, upstream_->cancelled());
}

TEST_F(HttpFrontTest, ADetachedJobOutlivesItsClient) {
  upstream_->push(llmq::testing::ScriptedProvider::held());
  RawClient c;
  ASSERT_TRUE(c.connectTcp(port_));
  ASSERT_TRUE(c.write(post("/v1/chat/completions", chatBody(), bearer() + "X-Llmq-Detach: true\r\n")));
  ASSERT_TRUE(runUntil([&] { return upstream_->holding() == 1; }, kWaitMs));
  const std::string job_id = upstream_->seen()[0].job_id;
  c.close();
  ASSERT_TRUE(runUntil([&] { return front_->connectionCount() == 0; }, kWaitMs));
  EXPECT_EQ(store::JobState::kRunning, stateOf(job_id));
  upstream_->release();
  ASSERT_TRUE(reaches(job_id, store::JobState::kSucceeded));
  EXPECT_EQ(0u, upstream_->cancelled());
}

TEST_F(HttpFrontTest, OneIdempotencyKeyIsOneJob) {
  const std::string key = "Idempotency-Key: same-key-1\r\n";
  const Reply first = exchange(post("/v1/chat/completions", chatBody(), bearer() + key));
  const Reply second = exchange(post("/v1/chat/completions", chatBody(), bearer() + key));
  ASSERT_EQ(200, first.status) << first.body;
  ASSERT_EQ(200, second.status) << second.body;
  EXPECT_EQ(headerOf(first.head, "X-Llmq-Job-Id"), headerOf(second.head, "X-Llmq-Job-Id"));
  EXPECT_EQ(field(first.body, "choices.0.message.content"), field(second.body, "choices.0.message.content"));
  EXPECT_EQ(1u, upstream_->seen().size());
}

TEST_F(HttpFrontTest, AStreamedRetryOfAnEndedIdempotentJobReplaysItsAnswer) {
  const std::string key = "Idempotency-Key: replay-key-1\r\n";
  const Reply first = exchange(post("/v1/chat/completions", chatBody(), bearer() + key));
  ASSERT_EQ(200, first.status) << first.body;
  const Reply again = exchange(post("/v1/chat/completions", chatBody(R"(,"stream":true)"), bearer() + key));
  ASSERT_EQ(200, again.status) << again.head << "\n" << again.body;
  EXPECT_EQ(headerOf(first.head, "X-Llmq-Job-Id"), headerOf(again.head, "X-Llmq-Job-Id"));
  const std::vector<std::string> events = sseData(again.body);
  ASSERT_GE(events.size(), 2u) << again.body;
  EXPECT_EQ("[DONE]", events.back());
  std::string text;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    const std::string content = field(events[i], "choices.0.delta.content");
    if (content.size() >= 2) {
      text += content.substr(1, content.size() - 2);
    }
  }
  EXPECT_EQ("Hello there", text) << again.body;
  EXPECT_EQ(1u, upstream_->seen().size());
}

TEST_F(HttpFrontTest, ResponsesAnswersAResponseWithTheScriptedText) {
  const Reply r = exchange(post("/v1/responses", R"({"model":"test/echo","input":"hi"})", bearer()));
  ASSERT_EQ(200, r.status) << r.head << "\n" << r.body;
  EXPECT_EQ("\"response\"", field(r.body, "object")) << r.body;
  EXPECT_EQ("\"completed\"", field(r.body, "status")) << r.body;
  EXPECT_NE(std::string::npos, r.body.find("Hello there")) << r.body;
  ASSERT_EQ(1u, upstream_->seen().size());
}

// The stream's head goes out at once (the tick's shortest period), keep-alives
// every 50 ms.
class HttpFrontEarlyHeadTest : public HttpFrontTest {
 protected:
  void adjust(HttpFrontOptions& options) override {
    options.stream_head_after_ms = 1;
    options.keepalive_ms = 50;
  }
};

TEST_F(HttpFrontEarlyHeadTest, AFailureAfterTheHeadIsAnErrorEventEndingTheStream) {
  auto failing = llmq::testing::ScriptedProvider::fails("INVALID_REQUEST", 400, false);
  failing.hold = true;
  upstream_->push(failing);
  RawClient c;
  ASSERT_TRUE(c.connectTcp(port_));
  ASSERT_TRUE(c.write(post("/v1/chat/completions", chatBody(R"(,"stream":true)"), bearer())));
  ASSERT_TRUE(runUntil(
      [&] {
        c.poll();
        return c.received().find(": keep-alive\n\n") != std::string::npos;
      },
      kWaitMs))
      << c.received();
  EXPECT_EQ(0u, c.received().find("HTTP/1.1 200 ")) << c.received();
  EXPECT_NE(std::string::npos, c.received().find("is waiting\n\n")) << c.received();
  upstream_->release();
  Reply r;
  ASSERT_TRUE(runUntil(
      [&] {
        c.poll();
        r = firstReply(c.received());
        return r.complete;
      },
      kWaitMs))
      << c.received();
  const std::vector<std::string> events = sseData(r.body);
  ASSERT_FALSE(events.empty()) << r.body;
  EXPECT_EQ("\"invalid_request\"", field(events.front(), "error.code")) << r.body;
  EXPECT_EQ(std::string::npos, r.body.find("\"content\"")) << r.body;
}

TEST_F(HttpFrontTest, AnHttp10StreamComesUnchunkedAndEndsWithTheConnection) {
  const std::string body = chatBody(R"(,"stream":true)");
  RawClient c;
  ASSERT_TRUE(c.connectTcp(port_));
  ASSERT_TRUE(c.write("POST /v1/chat/completions HTTP/1.0\r\nContent-Type: application/json\r\n" + bearer() +
                      "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body));
  ASSERT_TRUE(runUntil(
      [&] {
        c.poll();
        return c.eof();
      },
      kWaitMs))
      << c.received();
  const Reply r = firstReply(c.received());
  EXPECT_EQ(200, r.status) << r.head;
  EXPECT_EQ(std::string::npos, r.head.find("chunked")) << r.head;
  const std::vector<std::string> events = sseData(r.body);
  ASSERT_FALSE(events.empty()) << r.body;
  EXPECT_EQ("[DONE]", events.back()) << r.body;
  EXPECT_NE(std::string::npos, r.body.find("Hello")) << r.body;
}

TEST_F(HttpFrontTest, RequestsStillWaitingAtShutdownEndCleanly) {
  upstream_->push(llmq::testing::ScriptedProvider::held());
  upstream_->push(llmq::testing::ScriptedProvider::held());
  // Kept open past TearDown: the daemon shuts down under them.
  auto& plain = *kept_.emplace_back(std::make_unique<RawClient>());
  auto& stream = *kept_.emplace_back(std::make_unique<RawClient>());
  ASSERT_TRUE(plain.connectTcp(port_));
  ASSERT_TRUE(stream.connectTcp(port_));
  ASSERT_TRUE(plain.write(post("/v1/chat/completions", chatBody(), bearer())));
  ASSERT_TRUE(stream.write(post("/v1/chat/completions", chatBody(R"(,"stream":true)"), bearer())));
  ASSERT_TRUE(runUntil([&] { return upstream_->holding() == 2; }, kWaitMs));
  // TearDown stops the engine, flushes and closes the front, closes the engine,
  // and checks that no handle is left open; then the clients see the end.
}

}  // namespace
}  // namespace llmq::daemon

namespace llmq::daemon {
namespace {

// OmniRoute deduplicates on X-Request-Id as on Idempotency-Key: a request that
// names itself and comes again gets the same job.
TEST_F(HttpFrontTest, AnXRequestIdIsAnIdempotencyKey) {
  const std::string rid = "X-Request-Id: trace-42\r\n";
  const Reply first = exchange(post("/v1/chat/completions", chatBody(), bearer() + rid));
  const Reply second = exchange(post("/v1/chat/completions", chatBody(), bearer() + rid));
  ASSERT_EQ(200, first.status) << first.body;
  ASSERT_EQ(200, second.status) << second.body;
  EXPECT_EQ(headerOf(first.head, "X-Llmq-Job-Id"), headerOf(second.head, "X-Llmq-Job-Id"));
  EXPECT_EQ("trace-42", headerOf(second.head, "X-Request-Id"));
  EXPECT_EQ(1u, upstream_->seen().size());
  // Without one, two requests are two jobs.
  const Reply third = exchange(post("/v1/chat/completions", chatBody(), bearer()));
  ASSERT_EQ(200, third.status) << third.body;
  EXPECT_NE(headerOf(first.head, "X-Llmq-Job-Id"), headerOf(third.head, "X-Llmq-Job-Id"));
}

// A key sent again with another request would get another request's answer:
// refused with 422 (not 409, which SDKs retry), and nothing runs.
TEST_F(HttpFrontTest, AKeyReusedForAnotherRequestIs422) {
  const std::string key = "Idempotency-Key: reused-1\r\n";
  const Reply first = exchange(post("/v1/chat/completions", chatBody(), bearer() + key));
  ASSERT_EQ(200, first.status) << first.body;
  const std::string other = R"({"model":"test/echo","messages":[{"role":"user","content":"bye"}]})";
  const Reply second = exchange(post("/v1/chat/completions", other, bearer() + key));
  EXPECT_EQ(422, second.status) << second.body;
  EXPECT_EQ("\"idempotency_conflict\"", field(second.body, "error.code")) << second.body;
  EXPECT_EQ(1u, upstream_->seen().size());
}

class HttpFrontCacheTest : public HttpFrontTest {
 protected:
  void SetUp() override {
    config_.cache_enabled = true;  // Every eligible job uses the cache unless it opts out.
    HttpFrontTest::SetUp();
  }
};

// Cache-Control: no-cache (or no-store) and X-Llmq-No-Cache keep a request out
// of the response cache: not answered from it, not stored in it. daemon.status
// shows the cache's figures.
TEST_F(HttpFrontCacheTest, NoCacheHeadersKeepARequestOutOfTheCache) {
  const std::string body = chatBody(R"(,"temperature":0)");
  ASSERT_EQ(200, exchange(post("/v1/chat/completions", body, bearer())).status);
  const Reply cached = exchange(post("/v1/chat/completions", body, bearer()));
  ASSERT_EQ(200, cached.status) << cached.body;
  EXPECT_NE(std::string::npos, cached.body.find("Hello there")) << cached.body;
  EXPECT_EQ(1u, upstream_->seen().size()) << "the second is answered from the cache";
  ASSERT_EQ(
      200,
      exchange(post("/v1/chat/completions", body, bearer() + "Cache-Control: max-age=0, No-Cache\r\n")).status);
  EXPECT_EQ(2u, upstream_->seen().size());
  ASSERT_EQ(200, exchange(post("/v1/chat/completions", body, bearer() + "Cache-Control: no-store\r\n")).status);
  ASSERT_EQ(200, exchange(post("/v1/chat/completions", body, bearer() + "X-Llmq-No-Cache: true\r\n")).status);
  EXPECT_EQ(4u, upstream_->seen().size());
  // Not no-cache: a directive that only contains the word.
  ASSERT_EQ(200, exchange(post("/v1/chat/completions", body, bearer() + "Cache-Control: x-no-cache-y\r\n")).status);
  EXPECT_EQ(4u, upstream_->seen().size());

  const std::string status = call(admin(), "daemon.status");
  EXPECT_EQ("true", field(status, "result.cache.enabled")) << status;
  EXPECT_EQ("1", field(status, "result.cache.entries")) << status;
  EXPECT_EQ("2", field(status, "result.cache.hits")) << status;
  EXPECT_EQ("1", field(status, "result.cache.misses")) << status;
  EXPECT_NEAR(2.0 / 3.0, number(status, "result.cache.hit_rate"), 1e-9) << status;
  EXPECT_EQ("1", field(status, "result.cache.stored")) << status;
  EXPECT_LT(0, number(status, "result.cache.stored_bytes")) << status;
}

}  // namespace
}  // namespace llmq::daemon

namespace llmq::daemon {
namespace {

// /v1/providers/NAME/...: the request runs only at that provider; a model it
// does not serve is a 400 before anything is queued, an unknown provider a 404.
TEST_F(HttpFrontTest, AProviderPinnedRouteRunsThereOrRefusesTheModel) {
  const Reply ok = exchange(post("/v1/providers/scripted/chat/completions", chatBody(), bearer()));
  ASSERT_EQ(200, ok.status) << ok.body;
  EXPECT_EQ(1u, upstream_->seen().size());
  const std::string job_id = headerOf(ok.head, "X-Llmq-Job-Id");
  EXPECT_EQ("scripted", job(job_id).options.provider.value_or("")) << "stored with the job";

  const std::string mock = R"({"model":"mock/echo","messages":[{"role":"user","content":"hi"}]})";
  const Reply unserved = exchange(post("/v1/providers/scripted/chat/completions", mock, bearer()));
  EXPECT_EQ(400, unserved.status) << unserved.body;
  EXPECT_EQ("\"model_not_served\"", field(unserved.body, "error.code")) << unserved.body;
  const Reply unknown = exchange(post("/v1/providers/nowhere/chat/completions", chatBody(), bearer()));
  EXPECT_EQ(404, unknown.status) << unknown.body;
  EXPECT_EQ("\"unknown_provider\"", field(unknown.body, "error.code")) << unknown.body;
  EXPECT_EQ(404, exchange(post("/v1/providers//chat/completions", chatBody(), bearer())).status);
  EXPECT_EQ(1u, upstream_->seen().size()) << "nothing refused reached the upstream";
  // The mock serves its own models when pinned, without /v1 too.
  const Reply at_mock = exchange(post("/providers/mock/chat/completions", mock, bearer()));
  EXPECT_EQ(200, at_mock.status) << at_mock.body;
}

}  // namespace
}  // namespace llmq::daemon
