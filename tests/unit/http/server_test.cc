// Tests for http::HttpServer on a real loop with a small recording handler and
// a non-blocking raw TCP client read between loop iterations: keep-alive (two
// requests on one connection), pipelining (answers in request order even when
// the handler answers out of order), a head over max_header_bytes -> 431, a
// body over max_body_bytes -> 413 before it is read, the max_connections bound
// (an idle unauthenticated connection is evicted for a new one; with none
// evictable, or eviction off, the new one gets 503), and the header timeout (a half-sent request
// gets 408 and the connection closes). Also: a chunked stream holds the
// pipelined answer behind it until it ends; an idle keep-alive connection
// closes after idle_timeout_ms; malformed input is 400; Connection: close and
// HTTP/1.0 streams end the connection; HEAD gets no body; Expect: 100-continue
// is answered; a peer that goes away is reported in onClosed and later answers
// to it are dropped; output past max_pending_output_bytes cuts a stream off,
// while one whole answer larger than that still goes out, but whole answers
// past it behind another cut the client off; max_pipelined pauses
// reading until an answer goes out; max_buffered_request_bytes refuses with
// 503; a refusal behind a pending answer waits its turn; an answer that comes
// after idle_timeout_ms goes out whole (the idle time counts from the end of
// its write). Waits are bounded
// runUntil loops only.
#include "http/server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/http_responses.h"
#include "tests/support/loop_test.h"
#include "tests/support/raw_client.h"

namespace llmq::http {
namespace {

using llmq::testing::RawClient;

using Response = llmq::testing::HttpResponse;

// The complete responses at the start of `wire` (tests/support/http_responses.h).
std::vector<Response> responses(const std::string& wire, const std::vector<bool>& heads = {}) {
  return llmq::testing::httpResponses(wire, heads);
}

// Records every request; answers at once with "METHOD TARGET BODY" unless
// `hold` is set, in which case the test answers through the server.
class RecordingHandler final : public HttpHandler {
 public:
  struct Seen {
    uint64_t conn;
    uint64_t exchange;
    HttpRequest request;
  };
  void onRequest(uint64_t conn_id, uint64_t exchange, HttpRequest&& request) override {
    const std::string echo = request.method + " " + request.target + " " + request.body;
    seen.push_back({conn_id, exchange, std::move(request)});
    if (!hold) {
      server->respond(conn_id, exchange, 200, "text/plain", {}, echo);
    }
  }
  HttpHeadVerdict onHeaders(uint64_t, const HttpRequest& head) override {
    HttpHeadVerdict v;
    v.authenticated = head.header("authorization") != nullptr;
    return v;
  }
  void onClosed(uint64_t conn_id) override { closed.push_back(conn_id); }

  HttpServer* server = nullptr;
  bool hold = false;
  std::vector<Seen> seen;
  std::vector<uint64_t> closed;
};

class HttpServerTest : public llmq::testing::LoopTest {
 protected:
  void SetUp() override {
    LoopTest::SetUp();
    options_.header_timeout_ms = 10'000;
    options_.limits.max_header_bytes = 1024;
    options_.limits.max_body_bytes = 256;
  }
  // Starts the server with options_ as the test left them.
  void start() {
    server_ = std::make_unique<HttpServer>(&loop_, &handler_, options_);
    handler_.server = server_.get();
    auto port = server_->listen("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.error().message;
    port_ = *port;
    ASSERT_GT(port_, 0);
  }
  void TearDown() override {
    if (server_) {
      server_->closeAll();
      server_->stopListening();
      uv_run(&loop_, UV_RUN_DEFAULT);  // The connections' close callbacks.
      server_.reset();
    }
    LoopTest::TearDown();
  }
  // Runs the loop, flushing the server's output at each turn as the daemon
  // does, and reading every client, until `done()` (bounded).
  template <class Pred>
  bool until(std::vector<RawClient*> clients, Pred done, int timeout_ms = 5000) {
    return runUntil(
        [&] {
          server_->flush();
          for (RawClient* c : clients) {
            c->poll();
          }
          return done();
        },
        timeout_ms);
  }
  std::unique_ptr<RawClient> connect() {
    auto c = std::make_unique<RawClient>();
    EXPECT_TRUE(c->connectTcp(port_)) << c->error();
    return c;
  }
  static std::string get(const std::string& target, const std::string& extra = "") {
    return "GET " + target + " HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n";
  }

  HttpServerOptions options_;
  RecordingHandler handler_;
  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
};

TEST_F(HttpServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  start();
  auto c = connect();
  ASSERT_TRUE(c->write(get("/one")));
  ASSERT_TRUE(until({c.get()}, [&] { return responses(c->received()).size() == 1; }));
  ASSERT_TRUE(c->write("POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"));
  ASSERT_TRUE(until({c.get()}, [&] { return responses(c->received()).size() == 2; }));
  const auto r = responses(c->received());
  EXPECT_EQ(200, r[0].status);
  EXPECT_EQ("GET /one ", r[0].body);
  EXPECT_EQ(200, r[1].status);
  EXPECT_EQ("POST /two hello", r[1].body);
  EXPECT_EQ(std::string::npos, r[0].head.find("Connection: close")) << r[0].head;
  EXPECT_FALSE(c->eof());
  ASSERT_EQ(2u, handler_.seen.size());
  EXPECT_EQ(handler_.seen[0].conn, handler_.seen[1].conn);
  EXPECT_EQ(1u, server_->connectionCount());
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInRequestOrder) {
  start();
  handler_.hold = true;
  auto c = connect();
  ASSERT_TRUE(c->write(get("/first") + get("/second")));
  ASSERT_TRUE(until({c.get()}, [&] { return handler_.seen.size() == 2; }));
  ASSERT_EQ("/first", handler_.seen[0].request.target);
  ASSERT_EQ("/second", handler_.seen[1].request.target);
  // The second answer is ready first; it waits for the first.
  server_->respond(handler_.seen[1].conn, handler_.seen[1].exchange, 200, "text/plain", {}, "second");
  // Nothing may go out yet (a wrong early answer would show within this
  // bounded wait; a correct server passes whatever the timing).
  runUntil(
      [&] {
        server_->flush();
        c->poll();
        return false;
      },
      50);
  EXPECT_EQ("", c->received());
  server_->respond(handler_.seen[0].conn, handler_.seen[0].exchange, 200, "text/plain", {}, "first");
  ASSERT_TRUE(until({c.get()}, [&] { return responses(c->received()).size() == 2; }));
  const auto r = responses(c->received());
  EXPECT_EQ("first", r[0].body);
  EXPECT_EQ("second", r[1].body);
}

TEST_F(HttpServerTest, HeadersOverTheLimitGet431AndTheConnectionCloses) {
  start();
  auto c = connect();
  ASSERT_TRUE(c->write(get("/big", "X-Filler: " + std::string(2000, 'a') + "\r\n")));
  ASSERT_TRUE(until({c.get()}, [&] { return c->eof(); }));
  const auto r = responses(c->received());
  ASSERT_EQ(1u, r.size()) << c->received();
  EXPECT_EQ(431, r[0].status);
  EXPECT_NE(std::string::npos, r[0].body.find("headers_too_large")) << r[0].body;
  EXPECT_NE(std::string::npos, r[0].head.find("Connection: close")) << r[0].head;
  EXPECT_TRUE(handler_.seen.empty());
}

TEST_F(HttpServerTest, BodyOverTheLimitGets413BeforeItIsSent) {
  start();
  auto c = connect();
  // Content-Length says too much; none of the body is sent, so the answer can
  // only come from the declared length.
  ASSERT_TRUE(c->write("POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 257\r\n\r\n"));
  ASSERT_TRUE(until({c.get()}, [&] { return responses(c->received()).size() == 1; }));
  const auto r = responses(c->received());
  EXPECT_EQ(413, r[0].status);
  EXPECT_NE(std::string::npos, r[0].body.find("request_too_large")) << r[0].body;
  EXPECT_TRUE(handler_.seen.empty());
  // The server half-closes after its answer (it lingers to drain the body).
  ASSERT_TRUE(until({c.get()}, [&] { return c->eof(); }));
}

TEST_F(HttpServerTest, BodyAtTheLimitIsServed) {
  start();
  auto c = connect();
  ASSERT_TRUE(c->write("POST /ok HTTP/1.1\r\nHost: x\r\nContent-Length: 256\r\n\r\n" + std::string(256, 'b')));
  ASSERT_TRUE(until({c.get()}, [&] { return responses(c->received()).size() == 1; }));
  EXPECT_EQ(200, responses(c->received())[0].status);
}

TEST_F(HttpServerTest, AtMaxConnectionsAnIdleUnauthenticatedConnectionIsEvicted) {
  options_.max_connections = 1;
  start();
  auto a = connect();
  ASSERT_TRUE(until({a.get()}, [&] { return server_->connectionCount() == 1; }));
  auto b = connect();
  ASSERT_TRUE(until({a.get(), b.get()}, [&] { return a->eof(); }));
  const auto ra = responses(a->received());
  ASSERT_EQ(1u, ra.size()) << a->received();
  EXPECT_EQ(503, ra[0].status);
  EXPECT_NE(std::string::npos, ra[0].body.find("closed to admit a new connection")) << ra[0].body;
  // The newcomer is served.
  ASSERT_TRUE(b->write(get("/b")));
  ASSERT_TRUE(until({b.get()}, [&] { return responses(b->received()).size() == 1; }));
  EXPECT_EQ(200, responses(b->received())[0].status);
}

TEST_F(HttpServerTest, AtMaxConnectionsWithNoneEvictableTheNewOneGets503) {
  options_.max_connections = 1;
  start();
  auto a = connect();
  ASSERT_TRUE(a->write(get("/a", "Authorization: Bearer x\r\n")));
  ASSERT_TRUE(until({a.get()}, [&] { return responses(a->received()).size() == 1; }));
  auto b = connect();
  ASSERT_TRUE(until({a.get(), b.get()}, [&] { return b->eof(); }));
  const auto rb = responses(b->received());
  ASSERT_EQ(1u, rb.size()) << b->received();
  EXPECT_EQ(503, rb[0].status);
  EXPECT_NE(std::string::npos, rb[0].body.find("overloaded")) << rb[0].body;
  // Refused as one too many, not evicted as if it were an older idle one.
  EXPECT_NE(std::string::npos, rb[0].body.find("too many connections")) << rb[0].body;
  // The authenticated connection is untouched and still served.
  EXPECT_FALSE(a->eof());
  ASSERT_TRUE(a->write(get("/again", "Authorization: Bearer x\r\n")));
  ASSERT_TRUE(until({a.get()}, [&] { return responses(a->received()).size() == 2; }));
  EXPECT_EQ("GET /again ", responses(a->received())[1].body);
}

TEST_F(HttpServerTest, AHalfSentRequestGets408AfterTheHeaderTimeout) {
  options_.header_timeout_ms = 50;
  start();
  auto c = connect();
  ASSERT_TRUE(c->write("GET /slow HTTP/1.1\r\nHost: x\r\n"));  // No blank line: never complete.
  ASSERT_TRUE(until({c.get()}, [&] { return c->eof(); }));
  const auto r = responses(c->received());
  ASSERT_EQ(1u, r.size()) << c->received();
  EXPECT_EQ(408, r[0].status);
  EXPECT_NE(std::string::npos, r[0].body.find("request_timeout")) << r[0].body;
  EXPECT_TRUE(handler_.seen.empty());
  ASSERT_TRUE(until({c.get()}, [&] { return server_->connectionCount() == 0; }));
  EXPECT_EQ(1u, handler_.closed.size());
}

TEST_F(HttpServerTest, AStreamHoldsThePipelinedAnswerBehindItUntilItEnds) {
  start();
  handler_.hold = true;
  auto c = connect();
  ASSERT_TRUE(c->write(get("/stream") + get("/after")));
  ASSERT_TRUE(until({c.get()}, [&] { return handler_.seen.size() == 2; }));
  const uint64_t conn = handler_.seen[0].conn;
  server_->respond(conn, handler_.seen[1].exchange, 200, "text/plain", {}, "after");
  server_->startStream(conn, handler_.seen[0].exchange, 200, "text/event-stream", {});
  server_->streamWrite(conn, handler_.seen[0].exchange, "data: one\n\n");
  ASSERT_TRUE(until({c.get()}, [&] { return c->received().find("data: one") != std::string::npos; }));
  EXPECT_EQ(std::string::npos, c->received().find("after")) << c->received();
  server_->streamWrite(conn, handler_.seen[0].exchange, "data: two\n\n");
  server_->endStream(conn, handler_.seen[0].exchange);
  ASSERT_TRUE(until({c.get()}, [&] { return c->received().find("after") != std::string::npos; }));
  const std::string& wire = c->received();
  EXPECT_NE(std::string::npos, wire.find("Transfer-Encoding: chunked")) << wire;
  EXPECT_NE(std::string::npos, wire.find("b\r\ndata: one\n\n\r\nb\r\ndata: two\n\n\r\n0\r\n\r\n")) << wire;
  const size_t second = wire.find("0\r\n\r\n") + 5;
  const auto r = responses(wire.substr(second));
  ASSERT_EQ(1u, r.size()) << wire;
  EXPECT_EQ("after", r[0].body);
}

TEST_F(HttpServerTest, AnIdleKeepAliveConnectionClosesAfterTheIdleTimeout) {
  options_.idle_timeout_ms = 50;
  start();
  auto c = connect();
  ASSERT_TRUE(c->write(get("/one")));
  ASSERT_TRUE(until({c.get()}, [&] { return c->eof(); }));
  const auto r = responses(c->received());
  ASSERT_EQ(1u, r.size()) << c->received();  // Its answer, then a plain close.
  EXPECT_EQ(200, r[0].status);
  ASSERT_TRUE(until({c.get()}, [&] { return handler_.closed.size() == 1; }));
}

TEST_F(HttpServerTest, MalformedInputIs400AndCloses) {
  start();
  auto c = connect();
  ASSERT_TRUE(c->write("NOT HTTP AT ALL\r\n\r\n"));
  ASSERT_TRUE(until({c.get()}, [&] { return c->eof(); }));
  const auto r = responses(c->received());
  ASSERT_EQ(1u, r.size()) << c->received();
  EXPECT_EQ(400, r[0].status);
  EXPECT_TRUE(handler_.seen.empty());
}

TEST_F(HttpServerTest, ConnectionCloseIsHonouredAfterTheAnswer) {
  start();
  auto c = connect();
  ASSERT_TRUE(c->write(get("/bye", "Connection: close\r\n") + get("/ignored")));
  ASSERT_TRUE(until({c.get()}, [&] { return c->eof(); }));
  const auto r = responses(c->received());
  ASSERT_EQ(1u, r.size()) << c->received();
  EXPECT_EQ("GET /bye ", r[0].body);
  EXPECT_NE(std::string::npos, r[0].head.find("Connection: close")) << r[0].head;
  EXPECT_EQ(1u, handler_.seen.size());  // Nothing after Connection: close is served.
}

TEST_F(HttpServerTest, AnHttp10StreamIsSentAsItIsAndEndsTheConnection) {
  start();
  handler_.hold = true;
  auto c = connect();
  ASSERT_TRUE(c->write("GET /old HTTP/1.0\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(until({c.get()}, [&] { return handler_.seen.size() == 1; }));
  const auto& s = handler_.seen[0];
  server_->startStream(s.conn, s.exchange, 200, "text/plain", {});
  server_->streamWrite(s.conn, s.exchange, "part1 ");
  server_->streamWrite(s.conn, s.exchange, "part2");
  server_->endStream(s.conn, s.exchange);
  ASSERT_TRUE(until({c.get()}, [&] { return c->eof(); }));
  const std::string& wire = c->received();
  EXPECT_EQ(std::string::npos, wire.find("chunked")) << wire;
  EXPECT_NE(std::string::npos, wire.find("Connection: close")) << wire;
  EXPECT_EQ("part1 part2", wire.substr(wire.find("\r\n\r\n") + 4)) << wire;
}

TEST_F(HttpServerTest, HeadGetsTheLengthButNoBody) {
  start();
  auto c = connect();
  ASSERT_TRUE(c->write("HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n" + get("/g")));
  ASSERT_TRUE(until({c.get()}, [&] { return c->received().find("GET /g ") != std::string::npos; }));
  const std::string& wire = c->received();
  const size_t end = wire.find("\r\n\r\n");
  ASSERT_NE(std::string::npos, end);
  EXPECT_NE(std::string::npos, wire.substr(0, end).find("Content-Length: 8")) << wire;  // "HEAD /h "
  EXPECT_EQ(0u, wire.compare(end + 4, 9, "HTTP/1.1 ")) << wire;  // The next answer follows at once.
}

TEST_F(HttpServerTest, ExpectContinueIsAnsweredBeforeTheBody) {
  start();
  auto c = connect();
  ASSERT_TRUE(c->write("POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n"));
  ASSERT_TRUE(until({c.get()}, [&] { return c->received() == "HTTP/1.1 100 Continue\r\n\r\n"; })) << c->received();
  c->clearReceived();
  ASSERT_TRUE(c->write("abc"));
  ASSERT_TRUE(until({c.get()}, [&] { return responses(c->received()).size() == 1; }));
  EXPECT_EQ("POST /c abc", responses(c->received())[0].body);
}

TEST_F(HttpServerTest, APeerThatGoesAwayIsReportedAndLaterAnswersAreDropped) {
  start();
  handler_.hold = true;
  auto c = connect();
  ASSERT_TRUE(c->write(get("/gone")));
  ASSERT_TRUE(until({c.get()}, [&] { return handler_.seen.size() == 1; }));
  c->close();
  ASSERT_TRUE(until({}, [&] { return handler_.closed.size() == 1; }));
  EXPECT_EQ(handler_.seen[0].conn, handler_.closed[0]);
  EXPECT_EQ(0u, server_->connectionCount());
  // The handler answering late is harmless.
  server_->respond(handler_.seen[0].conn, handler_.seen[0].exchange, 200, "text/plain", {}, "late");
  server_->flush();
  EXPECT_EQ(0u, server_->connectionCount());
}

TEST_F(HttpServerTest, AStreamPastTheUnreadOutputBoundIsCutOff) {
  options_.max_pending_output_bytes = 1024;
  start();
  handler_.hold = true;
  auto c = connect();
  ASSERT_TRUE(c->write(get("/s")));
  ASSERT_TRUE(until({c.get()}, [&] { return handler_.seen.size() == 1; }));
  const auto& s = handler_.seen[0];
  server_->startStream(s.conn, s.exchange, 200, "text/event-stream", {});
  // One turn's output, before any flush, passes the bound.
  server_->streamWrite(s.conn, s.exchange, std::string(600, 'x'));
  server_->streamWrite(s.conn, s.exchange, std::string(600, 'y'));
  ASSERT_TRUE(until({c.get()}, [&] { return handler_.closed.size() == 1; }));
  ASSERT_TRUE(until({c.get()}, [&] { return c->eof(); }));
}

TEST_F(HttpServerTest, OneWholeAnswerLargerThanTheOutputBoundStillGoesOut) {
  options_.max_pending_output_bytes = 1024;
  start();
  handler_.hold = true;
  auto c = connect();
  // A small receive buffer, so that the kernel cannot take the whole answer for it.
  const int small = 64 * 1024;
  ASSERT_EQ(0, ::setsockopt(c->fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small));
  ASSERT_TRUE(c->write(get("/big")));
  ASSERT_TRUE(until({c.get()}, [&] { return handler_.seen.size() == 1; }));
  const std::string big(100'000, 'z');
  server_->respond(handler_.seen[0].conn, handler_.seen[0].exchange, 200, "text/plain", {}, big);
  ASSERT_TRUE(until({c.get()}, [&] { return responses(c->received()).size() == 1; }));
  EXPECT_EQ(big, responses(c->received())[0].body);
  EXPECT_TRUE(handler_.closed.empty());
}

TEST_F(HttpServerTest, WholeAnswersPastTheOutputBoundBehindAnotherCutTheClientOff) {
  options_.max_pending_output_bytes = 1024;
  start();
  handler_.hold = true;
  auto c = connect();
  ASSERT_TRUE(c->write(get("/1") + get("/2") + get("/3")));
  ASSERT_TRUE(until({c.get()}, [&] { return handler_.seen.size() == 3; }));
  // All three in one turn, before any flush: the first goes out whatever its
  // size, the second would pass the bound behind it.
  for (const auto& s : handler_.seen) {
    server_->respond(s.conn, s.exchange, 200, "text/plain", {}, std::string(600, 'w'));
  }
  ASSERT_TRUE(until({c.get()}, [&] { return handler_.closed.size() == 1; }));
  ASSERT_TRUE(until({c.get()}, [&] { return c->eof(); }));
  EXPECT_EQ(0u, server_->connectionCount());
}

TEST_F(HttpServerTest, WithoutEvictionTheConnectionPastTheBoundGets503) {
  options_.max_connections = 1;
  options_.evict_unauthenticated = false;
  options_.name = "test server";
  options_.settings.clear();
  start();
  auto a = connect();
  ASSERT_TRUE(until({a.get()}, [&] { return server_->connectionCount() == 1; }));
  auto b = connect();
  ASSERT_TRUE(until({a.get(), b.get()}, [&] { return b->eof(); }));
  const auto rb = responses(b->received());
  ASSERT_EQ(1u, rb.size()) << b->received();
  EXPECT_EQ(503, rb[0].status);
  EXPECT_NE(std::string::npos, rb[0].body.find("too many connections (at most 1)")) << rb[0].body;
  // The idle one, without credentials, was kept and is served.
  EXPECT_FALSE(a->eof());
  ASSERT_TRUE(a->write(get("/a")));
  ASSERT_TRUE(until({a.get()}, [&] { return responses(a->received()).size() == 1; }));
  EXPECT_EQ(200, responses(a->received())[0].status);
}

TEST_F(HttpServerTest, AConnectionWaitingForItsAnswerNeverTimesOut) {
  options_.header_timeout_ms = 20;
  options_.idle_timeout_ms = 20;
  start();
  handler_.hold = true;
  auto c = connect();
  ASSERT_TRUE(c->write(get("/slow-answer")));
  ASSERT_TRUE(until({c.get()}, [&] { return handler_.seen.size() == 1; }));
  // Many times both timeouts; a wrong timer would have fired by now.
  until(
      {c.get()}, [&] { return c->eof(); }, 300);
  EXPECT_FALSE(c->eof()) << c->received();
  EXPECT_TRUE(handler_.closed.empty());
  server_->respond(handler_.seen[0].conn, handler_.seen[0].exchange, 200, "text/plain", {}, "finally");
  ASSERT_TRUE(until({c.get()}, [&] { return responses(c->received()).size() == 1; }));
  EXPECT_EQ("finally", responses(c->received())[0].body);
}

TEST_F(HttpServerTest, AtMaxPipelinedReadingPausesUntilAnAnswerGoesOut) {
  options_.max_pipelined = 1;
  start();
  handler_.hold = true;
  auto c = connect();
  ASSERT_TRUE(c->write(get("/1")));
  ASSERT_TRUE(until({c.get()}, [&] { return handler_.seen.size() == 1; }));
  ASSERT_TRUE(c->write(get("/2")));
  until(
      {c.get()}, [&] { return handler_.seen.size() > 1; }, 100);
  EXPECT_EQ(1u, handler_.seen.size());  // Not read while /1 is unanswered.
  server_->respond(handler_.seen[0].conn, handler_.seen[0].exchange, 200, "text/plain", {}, "one");
  ASSERT_TRUE(until({c.get()}, [&] { return handler_.seen.size() == 2; }));
  server_->respond(handler_.seen[1].conn, handler_.seen[1].exchange, 200, "text/plain", {}, "two");
  ASSERT_TRUE(until({c.get()}, [&] { return responses(c->received()).size() == 2; }));
  EXPECT_EQ("one", responses(c->received())[0].body);
  EXPECT_EQ("two", responses(c->received())[1].body);
}

TEST_F(HttpServerTest, UnfinishedRequestBytesOverTheBoundGet503) {
  options_.max_buffered_request_bytes = 100;
  start();
  auto c = connect();
  ASSERT_TRUE(c->write("GET /partial HTTP/1.1\r\nX-Filler: " + std::string(200, 'f')));
  ASSERT_TRUE(until({c.get()}, [&] { return responses(c->received()).size() == 1; }));
  EXPECT_EQ(503, responses(c->received())[0].status);
  EXPECT_NE(std::string::npos, responses(c->received())[0].body.find("max_buffered_request_bytes"));
  ASSERT_TRUE(until({c.get()}, [&] { return c->eof(); }));
  EXPECT_EQ(0u, server_->bufferedRequestBytes());
}

TEST_F(HttpServerTest, ARefusalBehindAPendingAnswerWaitsItsTurn) {
  start();
  handler_.hold = true;
  auto c = connect();
  ASSERT_TRUE(c->write(get("/first") + get("/big", "X-Filler: " + std::string(2000, 'a') + "\r\n")));
  ASSERT_TRUE(until({c.get()}, [&] { return handler_.seen.size() == 1; }));
  until(
      {c.get()}, [&] { return !c->received().empty(); }, 50);
  EXPECT_EQ("", c->received());  // The 431 may not overtake /first's answer.
  server_->respond(handler_.seen[0].conn, handler_.seen[0].exchange, 200, "text/plain", {}, "first");
  ASSERT_TRUE(until({c.get()}, [&] { return c->eof(); }));
  const auto r = responses(c->received());
  ASSERT_EQ(2u, r.size()) << c->received();
  EXPECT_EQ(200, r[0].status);
  EXPECT_EQ("first", r[0].body);
  EXPECT_EQ(431, r[1].status);
}

TEST_F(HttpServerTest, AnAnswerSlowerThanTheIdleTimeoutStillGoesOutWhole) {
  options_.idle_timeout_ms = 20;
  start();
  handler_.hold = true;
  auto c = connect();
  ASSERT_TRUE(c->write(get("/long-job")));
  ASSERT_TRUE(until({c.get()}, [&] { return handler_.seen.size() == 1; }));
  runUntil([] { return false; }, 100);  // The job takes longer than idle_timeout_ms.
  // Larger than the socket buffers, so part of it is still being written when
  // the loop next runs its timers.
  const std::string big(16u << 20, 'a');
  server_->respond(handler_.seen[0].conn, handler_.seen[0].exchange, 200, "text/plain", {}, big);
  ASSERT_TRUE(until(
      {c.get()}, [&] { return responses(c->received()).size() == 1 || c->eof(); }, 20000));
  const auto r = responses(c->received());
  ASSERT_EQ(1u, r.size()) << "cut off after " << c->received().size() << " bytes";
  EXPECT_EQ(big.size(), r[0].body.size());
  // Then idle_timeout_ms of quiet after the write ends closes it.
  ASSERT_TRUE(until({c.get()}, [&] { return c->eof(); }));
  EXPECT_EQ(1u, handler_.closed.size());
}

TEST_F(HttpServerTest, APeerThatTakesNoneOfItsAnswerIsClosedAfterTheWriteStallTimeout) {
  options_.write_stall_timeout_ms = 50;
  start();
  handler_.hold = true;
  auto c = connect();
  // A small receive buffer, so that the kernel cannot take the whole answer for it.
  const int small = 64 * 1024;
  ASSERT_EQ(0, ::setsockopt(c->fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small));
  ASSERT_TRUE(c->write(get("/big")));
  ASSERT_TRUE(until({c.get()}, [&] { return handler_.seen.size() == 1; }));
  // Larger than the socket buffers: the write cannot end while nobody reads.
  server_->respond(handler_.seen[0].conn, handler_.seen[0].exchange, 200, "text/plain", {},
                   std::string(16u << 20, 'a'));
  // The client never reads again: the loop alone runs, flushing as the daemon does.
  ASSERT_TRUE(runUntil(
      [&] {
        server_->flush();
        return handler_.closed.size() == 1;
      },
      20000));
}

}  // namespace
}  // namespace llmq::http
