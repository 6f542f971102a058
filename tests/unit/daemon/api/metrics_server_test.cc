// Tests for daemon::MetricsServer on the engine fixture (a real Engine), listening
// on 127.0.0.1:0 and flushed at the end of every turn as the Daemon does, with
// raw TCP clients read between loop iterations: GET /metrics (with or without a
// query string) answers the Prometheus page, HEAD its head alone; another path
// is 404 and another method on /metrics 405 with Allow; past kMaxConnections a
// new connection gets 503 and none of the open ones is evicted; the bounds of
// http::HttpServer hold for the route: a small body on GET is read and ignored,
// a larger one is 413, a head past kMaxRequestBytes 431, a half-sent head 408
// at the timeout (shortened here) while a silent connection is closed without
// a word, pipelined scrapes are answered in order on one connection, and a
// client that pipelines scrapes without reading the answers is cut off. Waits
// are bounded runUntil loops.
#include "daemon/api/metrics_server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/engine_fixture.h"
#include "tests/support/http_responses.h"
#include "tests/support/raw_client.h"

namespace llmq::daemon {
namespace {

using llmq::testing::RawClient;

using Response = llmq::testing::HttpResponse;

// The complete responses at the start of `wire` (tests/support/http_responses.h).
std::vector<Response> responses(const std::string& wire, const std::vector<bool>& heads = {}) {
  return llmq::testing::httpResponses(wire, heads);
}

class MetricsServerTest : public llmq::testing::EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    start();
    metrics_ = std::make_unique<MetricsServer>(*engine_);
    auto port = metrics_->listen("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.error().message;
    port_ = *port;
  }
  // As Daemon::endOfTurn: the answers go out after the engine's turn.
  void afterTurn() override {
    if (metrics_) {
      metrics_->flush();
    }
  }
  // As Daemon::finishShutdown.
  void beforeEngineClose() override {
    if (metrics_) {
      metrics_->close();
    }
  }
  void afterLoopDrained() override { metrics_.reset(); }

  // Listens anew, with `timeout_ms` for every timeout (no connection may be open).
  void relisten(uint64_t timeout_ms) {
    metrics_->close();
    metrics_ = std::make_unique<MetricsServer>(*engine_, timeout_ms);
    auto port = metrics_->listen("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.error().message;
    port_ = *port;
  }
  std::unique_ptr<RawClient> connect() {
    auto c = std::make_unique<RawClient>();
    EXPECT_TRUE(c->connectTcp(port_)) << c->error();
    return c;
  }
  // Runs the loop, reading every client, until `done()` (bounded).
  template <class Pred>
  bool until(const std::vector<RawClient*>& clients, Pred done) {
    return runUntil(
        [&] {
          for (RawClient* c : clients) {
            c->poll();
          }
          return done();
        },
        kWaitMs);
  }
  // Sends `raw` on a new connection and runs the loop until `n` answers are in.
  std::vector<Response> exchange(const std::string& raw, size_t n = 1, std::vector<bool> heads = {}) {
    auto c = connect();
    EXPECT_TRUE(c->write(raw));
    EXPECT_TRUE(until({c.get()}, [&] { return responses(c->received(), heads).size() >= n || c->eof(); }))
        << c->received();
    return responses(c->received(), heads);
  }
  static std::string request(const std::string& method, const std::string& target, const std::string& extra = "") {
    return method + " " + target + " HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n";
  }

  std::unique_ptr<MetricsServer> metrics_;
  int port_ = 0;
};

TEST_F(MetricsServerTest, GetMetricsAnswersThePage) {
  for (const char* target : {"/metrics", "/metrics?name=llmq_jobs"}) {
    const auto r = exchange(request("GET", target));
    ASSERT_EQ(1u, r.size()) << target;
    EXPECT_EQ(200, r[0].status) << r[0].head;
    EXPECT_NE(std::string::npos, r[0].head.find("Content-Type: text/plain; version=0.0.4")) << r[0].head;
    EXPECT_NE(std::string::npos, r[0].body.find("# TYPE llmq_jobs gauge")) << r[0].body;
    EXPECT_NE(std::string::npos, r[0].body.find("llmq_max_inflight")) << r[0].body;
  }
}

TEST_F(MetricsServerTest, HeadAnswersTheHeadAloneAndTheConnectionStaysOpen) {
  const auto r = exchange(request("HEAD", "/metrics") + request("GET", "/metrics"), 2, {true, false});
  ASSERT_EQ(2u, r.size());
  EXPECT_EQ(200, r[0].status);
  EXPECT_TRUE(r[0].body.empty());
  EXPECT_NE(std::string::npos, r[0].head.find("Content-Length: ")) << r[0].head;
  EXPECT_EQ(200, r[1].status);
  EXPECT_NE(std::string::npos, r[1].body.find("# TYPE llmq_jobs gauge")) << r[1].body;
}

TEST_F(MetricsServerTest, AnotherPathIs404) {
  for (const char* target : {"/", "/metricsx", "/v1/models"}) {
    const auto r = exchange(request("GET", target));
    ASSERT_EQ(1u, r.size()) << target;
    EXPECT_EQ(404, r[0].status) << target;
    EXPECT_EQ("not found: try GET /metrics\n", r[0].body);
  }
}

TEST_F(MetricsServerTest, AnotherMethodOnMetricsIs405) {
  for (const char* method : {"POST", "PUT", "DELETE"}) {
    const auto r = exchange(request(method, "/metrics", "Content-Length: 2\r\n") + "{}");
    ASSERT_EQ(1u, r.size()) << method;
    EXPECT_EQ(405, r[0].status) << method;
    EXPECT_NE(std::string::npos, r[0].head.find("\r\nAllow: GET, HEAD")) << r[0].head;
  }
}

TEST_F(MetricsServerTest, PastMaxConnectionsTheNewOneGets503AndNoneIsEvicted) {
  std::vector<std::unique_ptr<RawClient>> idle;
  std::vector<RawClient*> all;
  for (size_t i = 0; i < MetricsServer::kMaxConnections; ++i) {
    idle.push_back(connect());
    all.push_back(idle.back().get());
  }
  ASSERT_TRUE(until(all, [&] { return metrics_->connectionCount() == MetricsServer::kMaxConnections; }));
  auto extra = connect();
  all.push_back(extra.get());
  ASSERT_TRUE(until(all, [&] { return extra->eof(); }));
  const auto r = responses(extra->received());
  ASSERT_EQ(1u, r.size()) << extra->received();
  EXPECT_EQ(503, r[0].status);
  EXPECT_NE(std::string::npos, r[0].body.find("at most 8")) << r[0].body;
  for (size_t i = 0; i < idle.size(); ++i) {
    EXPECT_FALSE(idle[i]->eof()) << "connection " << i << " was evicted";
    EXPECT_TRUE(idle[i]->received().empty()) << idle[i]->received();
  }
  // The open ones are still served, and a freed slot takes a new scrape.
  ASSERT_TRUE(idle[0]->write(request("GET", "/metrics")));
  ASSERT_TRUE(until(all, [&] { return responses(idle[0]->received()).size() == 1; }));
  EXPECT_EQ(200, responses(idle[0]->received())[0].status);
  idle.pop_back();
  all = {idle[0].get()};
  ASSERT_TRUE(until(all, [&] { return metrics_->connectionCount() < MetricsServer::kMaxConnections; }));
  const auto again = exchange(request("GET", "/metrics"));
  ASSERT_EQ(1u, again.size());
  EXPECT_EQ(200, again[0].status);
}

TEST_F(MetricsServerTest, ABodyOnGetIsReadAndIgnoredUpToTheBound) {
  const auto r = exchange(request("GET", "/metrics", "Content-Length: 5\r\n") + "hello" + request("GET", "/"), 2);
  ASSERT_EQ(2u, r.size());
  EXPECT_EQ(200, r[0].status);
  EXPECT_EQ(404, r[1].status);  // The body was not taken for the next request.

  const std::string big = std::to_string(MetricsServer::kMaxRequestBytes + 1);
  const auto over = exchange(request("GET", "/metrics", "Content-Length: " + big + "\r\n"));
  ASSERT_EQ(1u, over.size());
  EXPECT_EQ(413, over[0].status);
  EXPECT_EQ(std::string::npos, over[0].body.find("[api]")) << over[0].body;  // No setting to name.
}

TEST_F(MetricsServerTest, AHeadPastTheBoundGets431AndCloses) {
  auto c = connect();
  ASSERT_TRUE(
      c->write(request("GET", "/metrics", "X-Pad: " + std::string(MetricsServer::kMaxRequestBytes, 'a') + "\r\n")));
  ASSERT_TRUE(until({c.get()}, [&] { return c->eof(); }));
  const auto r = responses(c->received());
  ASSERT_EQ(1u, r.size()) << c->received();
  EXPECT_EQ(431, r[0].status);
}

TEST_F(MetricsServerTest, AHalfSentHeadGets408AtTheTimeoutAndSilenceIsClosed) {
  ASSERT_NO_FATAL_FAILURE(relisten(100));
  auto slow = connect();
  auto quiet = connect();
  ASSERT_TRUE(slow->write("GET /metrics HTTP/1.1\r\nHost: x\r\n"));  // Never finished.
  ASSERT_TRUE(until({slow.get(), quiet.get()}, [&] { return slow->eof() && quiet->eof(); }));
  const auto r = responses(slow->received());
  ASSERT_EQ(1u, r.size()) << slow->received();
  EXPECT_EQ(408, r[0].status);
  EXPECT_TRUE(quiet->received().empty()) << quiet->received();
  ASSERT_TRUE(until({}, [&] { return metrics_->connectionCount() == 0; }));
}

TEST_F(MetricsServerTest, PipelinedScrapesAreAnsweredInOrderOnOneConnection) {
  auto c = connect();
  ASSERT_TRUE(c->write(request("GET", "/metrics") + request("GET", "/nothing") + request("GET", "/metrics")));
  ASSERT_TRUE(until({c.get()}, [&] { return responses(c->received()).size() == 3; }));
  const auto r = responses(c->received());
  EXPECT_EQ(200, r[0].status);
  EXPECT_EQ(404, r[1].status);
  EXPECT_EQ(200, r[2].status);
  EXPECT_EQ(std::string::npos, r[2].head.find("Connection: close")) << r[2].head;
  EXPECT_FALSE(c->eof());
  EXPECT_EQ(1u, metrics_->connectionCount());
}

// Each scrape is answered at once; one that reads none of them holds at most
// kMaxPendingBytes of pages (past what the kernel takes) before it is cut off.
TEST_F(MetricsServerTest, AClientThatPipelinesWithoutReadingIsCutOff) {
  auto c = connect();
  const int small = 4096;
  ASSERT_EQ(0, ::setsockopt(c->fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small));
  ASSERT_TRUE(runUntil([&] { return metrics_->connectionCount() == 1; }, kWaitMs));
  // Identical requests back to back, sent from where the last send stopped, so
  // that the server sees a stream of whole requests.
  std::string batch;
  for (int i = 0; i < 100; ++i) {
    batch += request("GET", "/metrics");
  }
  size_t sent = 0;
  const size_t cap = 2000 * batch.size();  // 200,000 pages: far more than any socket buffers hold.
  const bool cut = runUntil(
      [&] {
        if (sent < cap) {
          const size_t at = sent % batch.size();
          const ssize_t n = ::send(c->fd(), batch.data() + at, batch.size() - at, MSG_NOSIGNAL);
          sent += n > 0 ? static_cast<size_t>(n) : 0;
        }
        return metrics_->connectionCount() == 0;
      },
      kWaitMs);
  EXPECT_TRUE(cut) << "still open after " << sent << " bytes of requests";
  c->poll();
  for (const Response& r : responses(c->received())) {
    ASSERT_EQ(200, r.status) << "refused, not cut off: " << r.body;
  }
}

}  // namespace
}  // namespace llmq::daemon
