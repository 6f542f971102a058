// Integration: the OpenAI-compatible HTTP front of a real llmqd, forwarding to the
// fake upstream over real HTTP: auth, completions plain and streamed, keep-alive,
// pipelining, chunked bodies, limits, timeouts, errors in OpenAI's shape, the
// llmq headers, disconnects, and 500 concurrent connections.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cstring>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/json.h"
#include "tests/support/daemon_process.h"
#include "tests/support/fake_upstream_process.h"
#include "tests/support/http_front_fixture.h"
#include "tests/support/rpc.h"
#include "tests/support/temp_dir.h"

namespace llmq::testing {
namespace {

class HttpFrontTest : public HttpFrontFixture {};

TEST_F(HttpFrontTest, TheTokenFileIsPrivate) {
  struct stat st {};
  ASSERT_EQ(0, ::stat((dir_.path() + "/api.token").c_str(), &st));
  EXPECT_EQ(0600u, st.st_mode & 0777u);
  EXPECT_EQ(std::string::npos, daemon_->log().find(token_)) << "the token must never be logged";
}

TEST_F(HttpFrontTest, ACompletionIsAJobAnsweredWithTheUpstreamObject) {
  HttpResponse r = post(chat("fake/ok", "hello there world", R"(,"max_tokens":5)"));
  ASSERT_EQ(200, r.status) << r.body;
  EXPECT_EQ("application/json", r.header("content-type"));
  const std::string job_id = r.header("x-llmq-job-id");
  ASSERT_FALSE(job_id.empty());
  json::Document body = parseJsonText(r.body);
  EXPECT_EQ("chat.completion", strMember(body, "object"));
  EXPECT_EQ("hello there world hello there", strMember(body["choices"][0]["message"], "content"));
  EXPECT_EQ(5, body["usage"]["completion_tokens"].GetInt());
  // The same job as any socket client's: stored, accounted, labelled "http".
  json::Document j = job(job_id);
  EXPECT_EQ("succeeded", strMember(j, "state"));
  EXPECT_EQ("http", strMember(j, "client"));
  EXPECT_GT(j["usage"]["cost_usd"].GetDouble(), 0.0);
  EXPECT_FALSE(r.header("x-llmq-cost-usd").empty());
  // The body went upstream as sent.
  ASSERT_TRUE(fake_.waitForRequests(1, 10000));
  EXPECT_NE(std::string::npos, fake_.requests().back().body.find("\"max_tokens\":5"));
}

TEST_F(HttpFrontTest, AStreamArrivesAsOpenAIChunksWithUsageAndDone) {
  HttpResponse r = post(
      chat("fake/ok", "one two three", R"(,"max_tokens":4,"stream":true,"stream_options":{"include_usage":true})"));
  ASSERT_EQ(200, r.status) << r.body;
  EXPECT_EQ("text/event-stream", r.header("content-type"));
  EXPECT_EQ("chunked", r.header("transfer-encoding"));
  const std::vector<std::string> ev = events(r.body);
  ASSERT_GE(ev.size(), 4u) << r.body;
  EXPECT_EQ("[DONE]", ev.back());
  std::string text;
  std::string finish;
  for (size_t i = 0; i + 1 < ev.size(); ++i) {
    json::Document c = parseJsonText(ev[i]);
    EXPECT_EQ("chat.completion.chunk", strMember(c, "object"));
    EXPECT_EQ("chatcmpl-" + r.header("x-llmq-job-id"), strMember(c, "id"));
    if (c["choices"].Size() == 0) {
      EXPECT_EQ(i + 2, ev.size()) << "the usage chunk comes last";
      EXPECT_EQ(4, c["usage"]["completion_tokens"].GetInt());
      continue;
    }
    const json::Value& delta = c["choices"][0]["delta"];
    text += strMember(delta, "content");
    if (i == 0) {
      EXPECT_EQ("assistant", strMember(delta, "role"));
    }
    if (c["choices"][0]["finish_reason"].IsString()) {
      finish = c["choices"][0]["finish_reason"].GetString();
    }
  }
  EXPECT_EQ("one two three one", text);
  EXPECT_EQ("stop", finish);
}

TEST_F(HttpFrontTest, WithoutIncludeUsageThereIsNoUsageChunk) {
  HttpResponse r = post(chat("fake/ok", "a b", R"(,"max_tokens":2,"stream":true)"));
  ASSERT_EQ(200, r.status);
  for (const std::string& e : events(r.body)) {
    EXPECT_EQ(std::string::npos, e.find("\"usage\"")) << e;
  }
}

TEST_F(HttpFrontTest, AuthIsRequiredExceptForHealthz) {
  HttpConnection c;
  ASSERT_TRUE(c.connect(port_));
  HttpResponse none = c.request("POST", "/v1/chat/completions", chat("fake/ok", "x"));
  EXPECT_EQ(401, none.status);
  json::Document e = parseJsonText(none.body);
  EXPECT_EQ("invalid_api_key", strMember(e["error"], "code"));
  EXPECT_EQ("invalid_request_error", strMember(e["error"], "type"));
  EXPECT_EQ("close", none.header("connection")) << "a 401 closes the connection";
  HttpConnection c2;
  ASSERT_TRUE(c2.connect(port_));
  HttpResponse wrong = c2.request("GET", "/v1/models", "", {{"Authorization", "Bearer " + token_ + "x"}});
  EXPECT_EQ(401, wrong.status);
  HttpConnection c3;
  ASSERT_TRUE(c3.connect(port_));
  HttpResponse health = c3.request("GET", "/healthz");
  EXPECT_EQ(200, health.status);
  EXPECT_EQ(0u, fake_.stats().total) << "nothing unauthenticated reaches the upstream";
}

TEST_F(HttpFrontTest, ModelsAndMetrics) {
  HttpConnection c;
  ASSERT_TRUE(c.connect(port_));
  HttpResponse models = c.request("GET", "/v1/models", "", auth());
  ASSERT_EQ(200, models.status);
  json::Document m = parseJsonText(models.body);
  EXPECT_EQ("list", strMember(m, "object"));
  ASSERT_TRUE(m["data"].IsArray());
  ASSERT_GT(m["data"].Size(), 0u);
  EXPECT_EQ("model", strMember(m["data"][0], "object"));
  HttpResponse metrics = c.request("GET", "/metrics", "", auth());
  ASSERT_EQ(200, metrics.status);
  EXPECT_NE(std::string::npos, metrics.body.find("llmq_jobs{state=\"queued\"}"));
  HttpResponse missing = c.request("GET", "/v1/nothing", "", auth());
  EXPECT_EQ(404, missing.status);
  HttpResponse wrong_method = c.request("GET", "/v1/chat/completions", "", auth());
  EXPECT_EQ(405, wrong_method.status);
}

TEST_F(HttpFrontTest, KeepAliveAndPipelinedRequestsAreAnsweredInOrder) {
  HttpConnection c;
  ASSERT_TRUE(c.connect(port_));
  // The first is slow upstream; its answer must still come first.
  ASSERT_TRUE(c.sendRequest("POST", "/v1/chat/completions",
                            chat("fake/fault-delay-300", "slow", R"(,"max_tokens":1)"), auth()));
  ASSERT_TRUE(c.sendRequest("POST", "/v1/chat/completions", chat("fake/ok", "fast", R"(,"max_tokens":1)"), auth()));
  ASSERT_TRUE(c.sendRequest("GET", "/healthz"));
  HttpResponse first = c.readResponse(10000);
  HttpResponse second = c.readResponse(10000);
  HttpResponse third = c.readResponse(10000);
  ASSERT_EQ(200, first.status) << first.body;
  ASSERT_EQ(200, second.status) << second.body;
  EXPECT_EQ(200, third.status);
  EXPECT_EQ("slow", strMember(parseJsonText(first.body)["choices"][0]["message"], "content"));
  EXPECT_EQ("fast", strMember(parseJsonText(second.body)["choices"][0]["message"], "content"));
  // Still open for more.
  HttpResponse again = c.request("GET", "/healthz");
  EXPECT_EQ(200, again.status);
  EXPECT_FALSE(again.eof);
}

TEST_F(HttpFrontTest, AChunkedRequestBodyIsReassembled) {
  HttpConnection c;
  ASSERT_TRUE(c.connect(port_));
  const std::string body = chat("fake/ok", "chunked body", R"(,"max_tokens":2)");
  const size_t half = body.size() / 2;
  char a[24];
  char b[24];
  std::snprintf(a, sizeof a, "%zx", half);
  std::snprintf(b, sizeof b, "%zx", body.size() - half);
  const std::string raw = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token_ +
                          "\r\nTransfer-Encoding: chunked\r\n\r\n" + a + "\r\n" + body.substr(0, half) + "\r\n" +
                          b + "\r\n" + body.substr(half) + "\r\n0\r\n\r\n";
  ASSERT_EQ(static_cast<ssize_t>(raw.size()), ::send(c.fd(), raw.data(), raw.size(), MSG_NOSIGNAL));
  HttpResponse r = c.readResponse(10000);
  ASSERT_EQ(200, r.status) << r.body;
  EXPECT_EQ("chunked body", strMember(parseJsonText(r.body)["choices"][0]["message"], "content"));
}

TEST_F(HttpFrontTest, AnOversizeBodyGets413) {
  const std::string big(70000, 'x');
  HttpResponse r = post(chat("fake/ok", big));
  EXPECT_EQ(413, r.status);
  EXPECT_FALSE(strMember(parseJsonText(r.body)["error"], "message").empty());
  // Chunked, with no length announced: cut off as it passes the limit.
  HttpConnection c;
  ASSERT_TRUE(c.connect(port_));
  std::string raw = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token_ +
                    "\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 20; ++i) {
    raw += "1000\r\n" + std::string(4096, 'y') + "\r\n";
  }
  ::send(c.fd(), raw.data(), raw.size(), MSG_NOSIGNAL);
  HttpResponse chunked = c.readResponse(10000);
  EXPECT_EQ(413, chunked.status);
  EXPECT_EQ(0u, fake_.stats().total);
}

TEST_F(HttpFrontTest, SlowHeadersTimeOut) {
  HttpConnection c;
  ASSERT_TRUE(c.connect(port_));
  const std::string partial = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n";
  ASSERT_EQ(static_cast<ssize_t>(partial.size()), ::send(c.fd(), partial.data(), partial.size(), MSG_NOSIGNAL));
  // A byte now and then does not keep it alive: the headers have 0.5 s in all.
  for (int i = 0; i < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    ::send(c.fd(), "X", 1, MSG_NOSIGNAL);
  }
  // A failure guard only: the 408 comes 0.5 s after the first byte; a busy
  // machine may take longer to run the timer.
  HttpResponse r = c.readResponse(30000);
  EXPECT_EQ(408, r.status);
  EXPECT_EQ("close", r.header("connection"));
}

TEST_F(HttpFrontTest, BadInputGets400InOpenAIShape) {
  for (const std::string& body :
       {std::string("{not json"), std::string("[1,2]"), std::string(R"({"model":"fake/ok"})")}) {
    HttpResponse r = post(body);
    EXPECT_EQ(400, r.status) << body << " -> " << r.body;
    json::Document e = parseJsonText(r.body);
    ASSERT_TRUE(e.HasMember("error")) << r.body;
    EXPECT_EQ("invalid_request_error", strMember(e["error"], "type"));
    EXPECT_FALSE(strMember(e["error"], "message").empty());
  }
  HttpResponse priority = post(chat("fake/ok", "x"), {{"X-Llmq-Priority", "urgent"}});
  EXPECT_EQ(400, priority.status);
  EXPECT_EQ(0u, fake_.stats().total);
}

TEST_F(HttpFrontTest, UpstreamFailuresMapToOpenAIStatuses) {
  HttpResponse bad = post(chat("fake/fault-400", "x"));
  EXPECT_EQ(400, bad.status) << bad.body;
  EXPECT_FALSE(bad.header("x-llmq-job-id").empty());
  // A stream that fails before any text is still a proper HTTP error.
  HttpResponse stream = post(chat("fake/fault-403", "x", R"(,"stream":true)"));
  EXPECT_EQ(403, stream.status) << stream.body;
  EXPECT_EQ("application/json", stream.header("content-type"));
  // Last: it leaves the only server key exhausted.
  HttpResponse exhausted = post(chat("fake/fault-402", "x"));
  EXPECT_EQ(503, exhausted.status) << exhausted.body;
  EXPECT_EQ("openrouter_system_key_exhausted", strMember(parseJsonText(exhausted.body)["error"], "code"));
}

TEST_F(HttpFrontTest, ABudgetRefusalIs402) {
  callOk(*client_, "budget.set",
         R"({"scope":"client:http","period":"total","limit_usd":0.0000001,"action":"reject"})");
  HttpResponse r = post(chat("fake/ok", "x", R"(,"max_tokens":100)"));
  EXPECT_EQ(402, r.status) << r.body;
  EXPECT_EQ("budget_exceeded", strMember(parseJsonText(r.body)["error"], "code"));
}

TEST_F(HttpFrontTest, LlmqHeadersSetPriorityClientTagsAndIdempotency) {
  HttpHeaders h{{"X-Llmq-Priority", "7"},
                {"X-Llmq-Client", "agent-7"},
                {"X-Llmq-Tags", "night, batch"},
                {"Idempotency-Key", "req-42"}};
  HttpResponse first = post(chat("fake/ok", "x", R"(,"max_tokens":1)"), h);
  ASSERT_EQ(200, first.status) << first.body;
  HttpResponse again = post(chat("fake/ok", "x", R"(,"max_tokens":1)"), h);
  ASSERT_EQ(200, again.status);
  EXPECT_EQ(first.header("x-llmq-job-id"), again.header("x-llmq-job-id"));
  EXPECT_EQ(1u, fake_.stats().total) << "the repeat was answered from the stored job";
  json::Document j = job(first.header("x-llmq-job-id"));
  EXPECT_EQ(7, j["priority"].GetInt());
  EXPECT_EQ("agent-7", strMember(j, "client"));
  ASSERT_EQ(2u, j["tags"].Size());
  EXPECT_EQ("night", std::string(j["tags"][0].GetString()));
  EXPECT_EQ("batch", std::string(j["tags"][1].GetString()));
  // A streamed repeat of an ended job replays it.
  HttpResponse replay = post(chat("fake/ok", "x", R"(,"max_tokens":1,"stream":true)"), h);
  ASSERT_EQ(200, replay.status);
  EXPECT_EQ("text/event-stream", replay.header("content-type"));
  EXPECT_EQ("[DONE]", events(replay.body).back());
}

TEST_F(HttpFrontTest, AClientThatDisconnectsCancelsItsJob) {
  {
    HttpConnection c;
    ASSERT_TRUE(c.connect(port_));
    ASSERT_TRUE(c.sendRequest("POST", "/v1/chat/completions", chat("fake/fault-hang", "x"), auth()));
    ASSERT_TRUE(fake_.waitForRequests(1, 10000));
  }  // Closed here.
  json::Document list;
  std::string state;
  for (int i = 0; i < 100 && state != "cancelled"; ++i) {
    list = callOk(*client_, "job.list", R"({"client":"http"})");
    ASSERT_EQ(1u, list["jobs"].Size());
    state = strMember(list["jobs"][0], "state");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ("cancelled", state);
  EXPECT_TRUE(fake_.waitForDisconnects(1, 10000)) << "the upstream transfer was aborted";
}

TEST_F(HttpFrontTest, NonUtf8LlmqHeadersGet400) {
  for (const char* name : {"X-Llmq-Client", "X-Llmq-Tags", "Idempotency-Key"}) {
    HttpResponse r = post(chat("fake/ok", "x", R"(,"max_tokens":1)"), {{name, "bad\xff\xfe"}}, 10000);
    ASSERT_EQ(400, r.status) << name << ": " << r.body;
    EXPECT_NE(std::string::npos, r.body.find("not valid UTF-8")) << r.body;
  }
  // Nothing was left behind: the front still answers, and no job was made.
  HttpResponse ok = post(chat("fake/ok", "x", R"(,"max_tokens":1)"));
  EXPECT_EQ(200, ok.status) << ok.body;
  json::Document list = callOk(*client_, "job.list", "{}");
  EXPECT_EQ(1u, list["jobs"].Size());
}

// An SDK that times out and retries with the same Idempotency-Key gets the job's
// answer: the first disconnect did not cancel it.
TEST_F(HttpFrontTest, ARetryWithItsIdempotencyKeyAfterADisconnectGetsTheAnswer) {
  HttpHeaders h{{"Idempotency-Key", "retry-me-1"}};
  {
    HttpConnection c;
    ASSERT_TRUE(c.connect(port_));
    ASSERT_TRUE(c.sendRequest("POST", "/v1/chat/completions", chat("fake/fault-delay-1500", "x"), auth(h)));
    ASSERT_TRUE(fake_.waitForRequests(1, 10000));
  }  // The client gives up (a timeout) and closes.
  // A request on another connection: by the time it is answered, the daemon has
  // seen the first connection go.
  HttpConnection barrier;
  ASSERT_TRUE(barrier.connect(port_));
  ASSERT_EQ(200, barrier.request("GET", "/v1/models", "", auth()).status);
  HttpResponse retry = post(chat("fake/fault-delay-1500", "x"), h, 30000);
  ASSERT_EQ(200, retry.status) << retry.body;
  EXPECT_EQ(1u, fake_.stats().total) << "the retry got the first job, not a new one";
  // A streamed retry of the finished job replays it.
  HttpResponse replay = post(chat("fake/fault-delay-1500", "x", R"(,"stream":true)"), h);
  ASSERT_EQ(200, replay.status) << replay.body;
  EXPECT_EQ("[DONE]", events(replay.body).back());
}

TEST_F(HttpFrontTest, ADetachedJobOutlivesItsClient) {
  {
    HttpConnection c;
    ASSERT_TRUE(c.connect(port_));
    ASSERT_TRUE(c.sendRequest("POST", "/v1/chat/completions", chat("fake/fault-delay-300", "x"),
                              auth({{"X-Llmq-Detach", "true"}})));
    ASSERT_TRUE(fake_.waitForRequests(1, 10000));
  }
  json::Document list = callOk(*client_, "job.list", R"({"client":"http"})");
  ASSERT_EQ(1u, list["jobs"].Size());
  EXPECT_EQ("succeeded", waitTerminal(*client_, strMember(list["jobs"][0], "job_id")));
}

TEST_F(HttpFrontTest, FiveHundredConcurrentConnections) {
  constexpr int kConns = 500;
  std::vector<std::unique_ptr<HttpConnection>> conns;
  for (int i = 0; i < kConns; ++i) {
    conns.push_back(std::make_unique<HttpConnection>());
    ASSERT_TRUE(conns.back()->connect(port_)) << "connection " << i;
  }
  for (int i = 0; i < kConns; ++i) {
    ASSERT_TRUE(conns[i]->sendRequest("POST", "/v1/chat/completions",
                                      chat("fake/ok", "n" + std::to_string(i), R"(,"max_tokens":1)"), auth()));
  }
  int ok = 0;
  for (int i = 0; i < kConns; ++i) {
    HttpResponse r = conns[i]->readResponse(60000);
    if (r.status == 200 &&
        strMember(parseJsonText(r.body)["choices"][0]["message"], "content") == "n" + std::to_string(i)) {
      ++ok;
    }
  }
  EXPECT_EQ(kConns, ok);
}

TEST_F(HttpFrontTest, CurlSeesTheStreamLive) {
  CommandResult r = runCommand(
      {"/usr/bin/curl", "-sN", "--max-time", "20", "-H", "Authorization: Bearer " + token_, "-H",
       "Content-Type: application/json", "-d", chat("fake/ok", "live words", R"(,"max_tokens":3,"stream":true)"),
       "http://127.0.0.1:" + std::to_string(port_) + "/v1/chat/completions"},
      "", {}, 30000, false);
  ASSERT_EQ(0, r.exit_code) << r.output;
  const std::vector<std::string> ev = events(r.output);
  ASSERT_GE(ev.size(), 3u) << r.output;
  EXPECT_EQ("[DONE]", ev.back());
  EXPECT_NE(std::string::npos, r.output.find("\"content\":\"live\""));
}

}  // namespace
}  // namespace llmq::testing
