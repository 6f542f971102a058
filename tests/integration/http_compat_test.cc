// Integration: what SDKs and plain HTTP clients expect of an OpenAI-compatible
// server, beyond chat completions: models.retrieve (GET /v1/models/{id}), the
// mock's models in the list, X-Request-Id both ways, a base URL with a trailing
// slash, HEAD on the model list, and a stream to an HTTP/1.0 client
// (docs/http-api.md).
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "common/json.h"
#include "tests/support/http_front_fixture.h"
#include "tests/support/rpc.h"

namespace llmq::testing {
namespace {

class HttpCompatTest : public HttpFrontFixture {
 protected:
  HttpResponse get(const std::string& path, HttpHeaders headers = {}) {
    return request("GET", path, "", std::move(headers));
  }
};

TEST_F(HttpCompatTest, AModelIsRetrievedByItsId) {
  HttpResponse list = get("/v1/models");
  ASSERT_EQ(200, list.status) << list.body;
  json::Document all = parseJsonText(list.body);
  ASSERT_GT(all["data"].Size(), 0u);
  const std::string id = strMember(all["data"][0], "id");
  HttpResponse one = get("/v1/models/" + id);
  ASSERT_EQ(200, one.status) << one.body;
  json::Document m = parseJsonText(one.body);
  EXPECT_EQ(id, strMember(m, "id"));
  EXPECT_EQ("model", strMember(m, "object"));
  // The same object as in the list.
  EXPECT_EQ(json::toString(all["data"][0]), one.body);
}

TEST_F(HttpCompatTest, IdsWithSlashesAndEscapedSlashesAreFound) {
  HttpResponse list = get("/v1/models");
  json::Document all = parseJsonText(list.body);
  std::string with_slash;
  for (const auto& m : all["data"].GetArray()) {
    const std::string id = strMember(m, "id");
    if (id.find('/') != std::string::npos && id.rfind("mock/", 0) != 0) {
      with_slash = id;
      break;
    }
  }
  ASSERT_FALSE(with_slash.empty()) << list.body;
  EXPECT_EQ(200, get("/v1/models/" + with_slash).status);
  std::string escaped = with_slash;
  escaped.replace(escaped.find('/'), 1, "%2F");
  HttpResponse e = get("/v1/models/" + escaped);
  EXPECT_EQ(200, e.status) << e.body;
  EXPECT_EQ(with_slash, strMember(parseJsonText(e.body), "id"));
}

TEST_F(HttpCompatTest, AnUnknownModelIs404ModelNotFound) {
  for (const std::string& id : {std::string("no-such/model"), std::string(300, 'x'), std::string("%ff%fe")}) {
    HttpResponse r = get("/v1/models/" + id);
    EXPECT_EQ(404, r.status) << id << ": " << r.body;
    EXPECT_EQ("model_not_found", strMember(parseJsonText(r.body)["error"], "code")) << r.body;
  }
  EXPECT_EQ(405, request("POST", "/v1/models/mock/echo", "{}").status);
}

TEST_F(HttpCompatTest, TheMockModelsAreListedAndRetrieved) {
  json::Document all = parseJsonText(get("/v1/models").body);
  std::vector<std::string> mocks;
  for (const auto& m : all["data"].GetArray()) {
    const std::string id = strMember(m, "id");
    EXPECT_EQ(std::string::npos, id.find('*')) << "a pattern is not a model: " << id;
    if (id.rfind("mock/", 0) == 0) {
      mocks.push_back(id);
    }
  }
  EXPECT_NE(mocks.end(), std::find(mocks.begin(), mocks.end(), "mock/echo"));
  EXPECT_NE(mocks.end(), std::find(mocks.begin(), mocks.end(), "mock/demo"));
  // Any mock/ name runs, so any is retrieved, listed or not.
  for (const char* id : {"mock/echo", "mock/anything-at-all"}) {
    HttpResponse r = get(std::string("/v1/models/") + id);
    EXPECT_EQ(200, r.status) << id << ": " << r.body;
    EXPECT_EQ(id, strMember(parseJsonText(r.body), "id"));
  }
  // And a listed one answers.
  EXPECT_EQ(200, post(chat("mock/demo", "hello")).status);
}

TEST_F(HttpCompatTest, TheClientsRequestIdComesBackAndGoesUpstream) {
  HttpResponse r = post(chat("fake/ok", "x"), {{"X-Request-Id", "trace-42.a:b_c"}});
  ASSERT_EQ(200, r.status) << r.body;
  EXPECT_EQ("trace-42.a:b_c", r.header("x-request-id"));
  ASSERT_TRUE(fake_.waitForRequests(1, 10000));
  EXPECT_EQ("trace-42.a:b_c", fake_.requests().back().headers["x-request-id"]);
}

TEST_F(HttpCompatTest, EveryAnswerHasARequestIdAndABadOneIsReplaced) {
  HttpResponse ok = post(chat("fake/ok", "x"));
  EXPECT_EQ(0u, ok.header("x-request-id").rfind("req_", 0)) << ok.header("x-request-id");
  HttpResponse bad = post("{not json", {{"X-Request-Id", "abc"}});
  EXPECT_EQ(400, bad.status);
  EXPECT_EQ("abc", bad.header("x-request-id"));
  // Not a header value that may travel on: a fresh id, and nothing of it upstream.
  HttpResponse odd = post(chat("fake/ok", "y"), {{"X-Request-Id", "has space"}});
  EXPECT_EQ(200, odd.status);
  EXPECT_EQ(0u, odd.header("x-request-id").rfind("req_", 0));
  HttpResponse stream = post(chat("fake/ok", "z", R"(,"stream":true)"), {{"X-Request-Id", "s-1"}});
  EXPECT_EQ(200, stream.status);
  EXPECT_EQ("s-1", stream.header("x-request-id"));
  // The other endpoints answer with it too.
  for (const std::string& path :
       {std::string("/v1/models"), std::string("/v1/models/mock/echo"), std::string("/v1/models/no-such"),
        std::string("/v1/nothing-here"), std::string("/healthz")}) {
    EXPECT_EQ("m-1", get(path, {{"X-Request-Id", "m-1"}}).header("x-request-id")) << path;
  }
  // Two requests, two ids.
  EXPECT_NE(post(chat("fake/ok", "w")).header("x-request-id"), post(chat("fake/ok", "w")).header("x-request-id"));
}

TEST_F(HttpCompatTest, ABaseUrlWithATrailingSlashWorks) {
  HttpResponse r = request("POST", "/v1//chat/completions", chat("fake/ok", "x"));
  EXPECT_EQ(200, r.status) << r.body;
  EXPECT_EQ(200, get("/v1//models").status);
  EXPECT_EQ(200, get("//v1/models/mock/echo").status);
}

TEST_F(HttpCompatTest, HeadOnTheModelListHasNoBodyAndKeepsTheConnection) {
  HttpConnection c;
  ASSERT_TRUE(c.connect(port_));
  const std::string auth_line = "Authorization: Bearer " + token_ + "\r\n";
  const std::string req = "HEAD /v1/models HTTP/1.1\r\nHost: x\r\n" + auth_line + "\r\n" +
                          "GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + auth_line + "\r\n";
  ASSERT_EQ(static_cast<ssize_t>(req.size()), ::send(c.fd(), req.data(), req.size(), MSG_NOSIGNAL));
  c.readUntil("\x01never", 30000);  // To the end of the connection.
  const std::string& raw = c.raw();
  // Two heads and one body, the GET's, right after the second head.
  const size_t second = raw.find("HTTP/1.1 200", 1);
  EXPECT_EQ(0u, raw.find("HTTP/1.1 200")) << raw;
  ASSERT_NE(std::string::npos, second) << raw;
  EXPECT_EQ(raw.find("\r\n\r\n") + 4, second) << "the HEAD answer has no body: " << raw;
  EXPECT_EQ(raw.find("{\"object\":\"list\""), raw.rfind("{\"object\":\"list\""));
  EXPECT_NE(std::string::npos, raw.find("{\"object\":\"list\"", second)) << raw;
}

TEST_F(HttpCompatTest, AStreamToAnHttp10ClientIsNotChunked) {
  HttpConnection c;
  ASSERT_TRUE(c.connect(port_));
  const std::string body = chat("fake/ok", "alpha beta", R"(,"stream":true,"max_tokens":3)");
  const std::string req = "POST /v1/chat/completions HTTP/1.0\r\nAuthorization: Bearer " + token_ +
                          "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                          "\r\n\r\n" + body;
  ASSERT_EQ(static_cast<ssize_t>(req.size()), ::send(c.fd(), req.data(), req.size(), MSG_NOSIGNAL));
  // The body ends where the connection does.
  c.readUntil("\x01never", 30000);
  const std::string& raw = c.raw();
  EXPECT_EQ(0u, raw.find("HTTP/1.1 200")) << raw;
  const size_t head_end = raw.find("\r\n\r\n");
  ASSERT_NE(std::string::npos, head_end) << raw;
  const std::string head = raw.substr(0, head_end);
  EXPECT_EQ(std::string::npos, head.find("Transfer-Encoding")) << head;
  EXPECT_NE(std::string::npos, head.find("Connection: close")) << head;
  const std::string rest = raw.substr(head_end + 4);
  EXPECT_EQ(0u, rest.find("data: {")) << rest;
  EXPECT_NE(std::string::npos, rest.find("data: [DONE]\n\n")) << rest;
  EXPECT_EQ(rest.size(), rest.find("data: [DONE]\n\n") + std::strlen("data: [DONE]\n\n")) << rest;
}

class HttpQueuedStreamTest : public HttpFrontFixture {
 protected:
  std::string extraConfig() const override { return "stream_head_after_s = 0.3\nkeepalive_s = 0.3\n"; }
};

// A stream that waits in the queue gets its headers and then SSE comments, so a
// client's headers timeout (undici's is 300 s) does not end it; its data
// follows once the job runs.
TEST_F(HttpQueuedStreamTest, AStreamWaitingInAPausedQueueGetsHeadersAndKeepAlives) {
  callOk(*client_, "queue.pause", "{}");
  HttpConnection c;
  ASSERT_TRUE(c.connect(port_));
  ASSERT_TRUE(c.sendRequest("POST", "/v1/chat/completions", chat("fake/ok", "wait for me", R"(,"stream":true)"),
                            auth({{"X-Request-Id", "q-1"}})));
  ASSERT_TRUE(c.readUntil(": keep-alive\n\n", 30000)) << c.raw();
  const std::string waiting = c.raw();
  EXPECT_EQ(0u, waiting.find("HTTP/1.1 200")) << waiting;
  EXPECT_NE(std::string::npos, waiting.find("text/event-stream")) << waiting;
  EXPECT_NE(std::string::npos, waiting.find("X-Request-Id: q-1")) << waiting;
  EXPECT_NE(std::string::npos, waiting.find(": llmq: job ")) << waiting;
  EXPECT_EQ(std::string::npos, waiting.find("data:")) << "nothing ran yet: " << waiting;
  EXPECT_EQ(0u, fake_.stats().total);
  callOk(*client_, "queue.resume", "{}");
  ASSERT_TRUE(c.readUntil("data: [DONE]", 30000)) << c.raw();
  EXPECT_NE(std::string::npos, c.raw().find("\"content\":\"wait")) << c.raw();
}

TEST_F(HttpQueuedStreamTest, AFailureAfterTheHeadersIsAnErrorEvent) {
  callOk(*client_, "queue.pause", "{}");
  HttpConnection c;
  ASSERT_TRUE(c.connect(port_));
  ASSERT_TRUE(
      c.sendRequest("POST", "/v1/chat/completions", chat("fake/fault-400", "x", R"(,"stream":true)"), auth()));
  ASSERT_TRUE(c.readUntil(": llmq: job ", 30000)) << c.raw();
  callOk(*client_, "queue.resume", "{}");
  ASSERT_TRUE(c.readUntil("\"error\"", 30000)) << c.raw();
  EXPECT_EQ(0u, c.raw().find("HTTP/1.1 200"));
  EXPECT_NE(std::string::npos, c.raw().find("data: {\"error\":")) << c.raw();
}

class HttpStalledClientTest : public HttpFrontFixture {
 protected:
  std::string extraConfig() const override {
    return "[ipc]\nmax_pending_output_bytes = 262144\n[http]\nmax_response_bytes = 1073741824\n";
  }
};

// A client that stops reading an endless stream is cut off once what earlier
// turns left unread passes max_pending_output_bytes, and its job is cancelled.
TEST_F(HttpStalledClientTest, AClientThatStopsReadingAStreamIsCutOff) {
  HttpConnection c;
  ASSERT_TRUE(c.connect(port_));
  ASSERT_TRUE(
      c.sendRequest("POST", "/v1/chat/completions", chat("fake/fault-endless", "x", R"(,"stream":true)"), auth()));
  // Never read. The job ends cancelled (bounded wait).
  std::string state;
  for (int i = 0; i < 1200 && state != "cancelled"; ++i) {
    json::Document list = callOk(*client_, "job.list", "{}");
    state = list["jobs"].Size() == 1 ? strMember(list["jobs"][0], "state") : "";
    if (state != "cancelled") {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  EXPECT_EQ("cancelled", state) << daemon_->log();
  EXPECT_NE(std::string::npos, daemon_->log().find("is not reading")) << daemon_->log();
}

}  // namespace
}  // namespace llmq::testing
