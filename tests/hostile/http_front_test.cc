// Hostile: clients of the HTTP front that hold connections open without a token,
// send bodies without one, buffer slow bodies, and stream one job on several
// connections with one Idempotency-Key. Each test drives a real llmqd
// to one bound of docs/operations.md ("The HTTP front") and checks the
// documented answer, that memory stays bounded, and that a token holder is served.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/daemon_fixture.h"
#include "tests/support/fake_upstream_process.h"
#include "tests/support/proc_status.h"
#include "tests/support/raw_socket.h"

namespace llmq::testing {
namespace {

// Writes raw bytes; false once the peer is gone.
bool sendRaw(HttpConnection& c, const std::string& data) { return sendAll(c.fd(), data); }

class HttpHostileTest : public DaemonFixture {
 protected:
  void start(const std::string& api_toml) {
    ASSERT_NO_FATAL_FAILURE(
        launchDaemon({.config_toml = "[api]\nlisten = \"127.0.0.1:0\"\n" + api_toml}, /*connect=*/false));
    port_ = apiPort();
    ASSERT_NE(0, port_) << daemon_->log();
    token_ = apiToken();
    ASSERT_GE(token_.size(), 16u);
  }
  // A token holder's request on a new connection.
  HttpResponse models() {
    HttpConnection c;
    EXPECT_TRUE(c.connect(port_));
    return c.request("GET", "/v1/models", "", {{"Authorization", "Bearer " + token_}}, 15000);
  }

  int port_ = 0;
  std::string token_;
};

// Connections that never send a byte fill max_connections; a token holder still
// gets in (the oldest idle one without a token makes room).
TEST_F(HttpHostileTest, IdleConnectionsWithoutATokenDoNotLockOutATokenHolder) {
  start("max_connections = 40\n");
  std::vector<std::unique_ptr<HttpConnection>> idle;
  for (int i = 0; i < 60; ++i) {
    idle.push_back(std::make_unique<HttpConnection>());
    ASSERT_TRUE(idle.back()->connect(port_));
  }
  for (int i = 0; i < 3; ++i) {
    HttpResponse r = models();
    EXPECT_EQ(200, r.status) << r.body;
  }
  EXPECT_EQ(0, ::kill(daemon_->pid(), 0));
}

// Bodies without a token are never read: 401 as soon as the headers are in, and
// the connection closes, so 100 of them announcing 4 MB each cost nothing.
TEST_F(HttpHostileTest, BodiesWithoutATokenAreRefusedAtTheHeaders) {
  start("");
  const size_t before = residentBytes(daemon_->pid());
  const std::string chunk(1 << 20, 'x');
  std::vector<std::unique_ptr<HttpConnection>> conns;
  for (int i = 0; i < 100; ++i) {
    conns.push_back(std::make_unique<HttpConnection>());
    ASSERT_TRUE(conns.back()->connect(port_));
    sendRaw(*conns.back(),
            "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Content-Length: 4000000\r\n\r\n");
  }
  int refused = 0;
  for (auto& c : conns) {
    sendRaw(*c, chunk);  // Fails early once the daemon has closed.
    if (c->readUntil("401", 15000)) {
      ++refused;
    }
  }
  EXPECT_EQ(100, refused);
  const size_t after = residentBytes(daemon_->pid());
  EXPECT_LT(after, before + (48u << 20)) << "RSS " << before << " -> " << after;
  conns.clear();
  EXPECT_EQ(200, models().status);
}

// Token holders' slow bodies: over all connections at most
// max_buffered_request_bytes are held; the connection passing it gets 503.
TEST_F(HttpHostileTest, BufferedRequestBytesAreBoundedOverAllConnections) {
  start("max_buffered_request_bytes = 1048576\n");
  const size_t before = residentBytes(daemon_->pid());
  const std::string chunk(256 * 1024, 'x');
  std::vector<std::unique_ptr<HttpConnection>> conns;
  for (int i = 0; i < 20; ++i) {
    conns.push_back(std::make_unique<HttpConnection>());
    ASSERT_TRUE(conns.back()->connect(port_));
    sendRaw(*conns.back(), "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token_ +
                               "\r\nContent-Type: application/json\r\nContent-Length: 4000000\r\n\r\n");
    sendRaw(*conns.back(), chunk);
  }
  int overloaded = 0;
  for (auto& c : conns) {
    if (c->readUntil("503", 3000)) {
      ++overloaded;
    }
  }
  EXPECT_GE(overloaded, 10) << "20 x 256 KiB held against a 1 MiB bound";
  EXPECT_LT(residentBytes(daemon_->pid()), before + (32u << 20));
  conns.clear();
  EXPECT_EQ(200, models().status);
}

// A HEAD answer has the head a GET would get and no body: a body after it was
// read by a keep-alive client as the start of the next response, and every
// answer after it on the connection was misread.
TEST_F(HttpHostileTest, AHeadAnswerHasNoBodyAndTheNextAnswerStaysInStep) {
  start("");
  HttpConnection c;
  ASSERT_TRUE(c.connect(port_));
  const std::string auth = "Authorization: Bearer " + token_ + "\r\n";
  ASSERT_TRUE(sendRaw(c, "HEAD /metrics HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n" +
                             "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n" +
                             "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  ASSERT_TRUE(c.readUntil("{\"status\":\"ok\"}", 30000)) << c.raw();
  const std::string& raw = c.raw();
  // Three heads, one body: the GET's, last.
  size_t heads = 0;
  for (size_t at = raw.find("HTTP/1.1 200"); at != std::string::npos; at = raw.find("HTTP/1.1 200", at + 1)) {
    ++heads;
  }
  EXPECT_EQ(3u, heads) << raw;
  EXPECT_EQ(std::string::npos, raw.find("# TYPE")) << raw;
  EXPECT_EQ(raw.find("{\"status\":\"ok\"}"), raw.rfind("{\"status\":\"ok\"}")) << raw;
  EXPECT_EQ(raw.size(), raw.find("{\"status\":\"ok\"}") + std::strlen("{\"status\":\"ok\"}")) << raw;
}

// An SDK that times out and retries with the same Idempotency-Key may open a
// second (and third) streaming request for one running job while an earlier
// connection is still open, then drop one of them. Each open request must get
// the whole stream to [DONE]. The front routed events by job id: the newest
// request took the job's events from the older ones (they hung), and closing
// any of them unrouted the job for all (the newest hung too).
TEST_F(HttpHostileTest, StreamsOfOneIdempotencyKeyOnSeveralConnectionsEachEnd) {
  start("");
  const std::string body = R"({"model":"mock/x","stream":true,"messages":[{"role":"user","content":"hi"}],)"
                           R"("mock":{"tokens":150,"chunk_delay_ms":100}})";
  const HttpHeaders headers = {{"Authorization", "Bearer " + token_},
                               {"Content-Type", "application/json"},
                               {"Idempotency-Key", "retried-stream-1"}};
  HttpConnection first;
  HttpConnection second;
  HttpConnection third;
  for (HttpConnection* c : {&first, &second, &third}) {
    ASSERT_TRUE(c->connect(port_));
    ASSERT_TRUE(c->sendRequest("POST", "/v1/chat/completions", body, headers));
    // Text of the running job (the newer ones join it and get the text so far).
    ASSERT_TRUE(c->readUntil("\"content\":", 60000)) << c->raw();
  }
  EXPECT_EQ(std::string::npos, second.raw().find("[DONE]")) << "the job ended before the test could join it";
  second.close();  // The client gave up on this one.
  EXPECT_TRUE(first.readUntil("data: [DONE]", 60000)) << first.raw().substr(0, 2000);
  EXPECT_TRUE(third.readUntil("data: [DONE]", 60000)) << third.raw().substr(0, 2000);
  // One job, both streams of it.
  EXPECT_NE(std::string::npos, first.raw().find("X-Llmq-Job-Id: j000000000001"));
  EXPECT_NE(std::string::npos, third.raw().find("X-Llmq-Job-Id: j000000000001"));
  EXPECT_EQ(200, models().status);
}

}  // namespace
}  // namespace llmq::testing
