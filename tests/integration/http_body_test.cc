// Integration: request bodies that real programs send to the HTTP front, and what
// llmqd makes of them: a JavaScript string cut mid-emoji (a lone surrogate
// escape) is read as U+FFFD, not refused; a key given twice is refused before it
// can be priced one way and run another; a body over max_body_bytes gets a 413
// its client can read while still sending (docs/json.md, docs/http-api.md).
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>

#include "common/json.h"
#include "tests/support/http_front_fixture.h"
#include "tests/support/rpc.h"

namespace llmq::testing {
namespace {

class HttpBodyTest : public HttpFrontFixture {};

TEST_F(HttpBodyTest, ALoneSurrogateIsReadAsTheReplacementCharacter) {
  // What JSON.stringify writes for "ok " + "😀".slice(0, 1).
  HttpResponse r = post(R"({"model":"fake/ok","messages":[{"role":"user","content":"ok \ud83d"}]})");
  ASSERT_EQ(200, r.status) << r.body;
  ASSERT_TRUE(fake_.waitForRequests(1, 10000));
  const std::string upstream = fake_.requests().back().body;
  EXPECT_NE(std::string::npos, upstream.find("ok \xEF\xBF\xBD")) << upstream;
  // What was stored is what ran, and reads back as valid JSON.
  json::Document j = job(r.header("x-llmq-job-id"));
  EXPECT_EQ("succeeded", strMember(j, "state"));
}

TEST_F(HttpBodyTest, ALoneLowSurrogateNeverBecomesBytesThatAreNotUtf8) {
  HttpResponse r = post(R"({"model":"fake/ok","messages":[{"role":"user","content":"x\udc00y"}]})");
  ASSERT_EQ(200, r.status) << r.body;
  ASSERT_TRUE(fake_.waitForRequests(1, 10000));
  const std::string upstream = fake_.requests().back().body;
  EXPECT_NE(std::string::npos, upstream.find("x\xEF\xBF\xBDy")) << upstream;
  EXPECT_EQ(std::string::npos, upstream.find("\xED\xB0\x80"));
  // The job's answer frame (which carries the request) is still readable.
  json::Document j = job(r.header("x-llmq-job-id"));
  EXPECT_EQ("succeeded", strMember(j, "state"));
}

TEST_F(HttpBodyTest, ATopLevelKeyTwiceIsRefusedBeforeAnythingRunsOrIsPriced) {
  // llmqd would price the first model; an upstream runs the last.
  HttpResponse r = post(R"({"model":"fake/ok","messages":[{"role":"user","content":"x"}],)"
                        R"("max_tokens":1,"max_tokens":100000})");
  EXPECT_EQ(400, r.status) << r.body;
  json::Document e = parseJsonText(r.body);
  ASSERT_TRUE(e.HasMember("error")) << r.body;
  EXPECT_EQ("duplicate_key", strMember(e["error"], "code"));
  EXPECT_EQ("invalid_request_error", strMember(e["error"], "type"));
  EXPECT_NE(std::string::npos, strMember(e["error"], "message").find("\"max_tokens\"")) << r.body;
  EXPECT_TRUE(r.header("x-llmq-job-id").empty());
  EXPECT_EQ(0u, fake_.stats().total);
}

TEST_F(HttpBodyTest, AKeyTwiceDeeperInIsRefusedTooAndNamesWhere) {
  HttpResponse r = post(R"({"model":"fake/ok","messages":[{"role":"user","content":"a","content":"b"}]})");
  EXPECT_EQ(400, r.status) << r.body;
  json::Document e = parseJsonText(r.body);
  EXPECT_EQ("duplicate_key", strMember(e["error"], "code"));
  EXPECT_NE(std::string::npos, strMember(e["error"], "message").find(R"($["messages"][0])")) << r.body;
  EXPECT_EQ(0u, fake_.stats().total);
}

TEST_F(HttpBodyTest, TheModelTwiceCannotSlipPastARejectBudget) {
  // The budget lets through what the first model costs, not what the last would.
  callOk(*client_, "budget.set", R"({"scope":"client:http","period":"total","limit_usd":0.002,"action":"reject"})");
  HttpResponse r = post(R"({"model":"fake/ok","model":"fake/expensive","messages":[{"role":"user",)"
                        R"("content":"x"}],"max_tokens":5})");
  EXPECT_EQ(400, r.status) << r.body;
  EXPECT_EQ(0u, fake_.stats().total);
}

TEST_F(HttpBodyTest, TheSocketRefusesAKeyTwiceWithItsOwnCode) {
  auto reply = client_->call(
      "job.submit",
      R"({"request":{"model":"fake/ok","model":"fake/ok","messages":[{"role":"user","content":"x"}]}})");
  ASSERT_TRUE(reply);
  ASSERT_FALSE(reply->ok());
  EXPECT_EQ(-32602, reply->error.code);
  EXPECT_EQ("DUPLICATE_KEY", reply->error.symbol);
  EXPECT_NE(std::string::npos, reply->error.message.find("\"model\"")) << reply->error.message;
}

struct Outcome {
  int send_error = 0;  // errno of a failed send: what makes Node's clients give up.
  std::string got;
  bool eof = false;  // The connection ended with a FIN.
  int error = 0;     // Or with this errno.
};

// What an HTTP client does: sends `head` and all `body_bytes` of the body
// (blocking, as a client uploading a large image), and only then reads the
// answer, until the connection ends or 30 s pass. A client whose send fails
// (the server reset the connection) reports that error and never reads the
// answer: Node's clients raise ECONNRESET and retry.
Outcome upload(int fd, const std::string& head, size_t body_bytes) {
  Outcome o;
  timeval tv{30, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string data = head + std::string(body_bytes, 'x');
  for (size_t off = 0; off < data.size();) {
    const ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) {
      o.send_error = errno;
      return o;
    }
    off += static_cast<size_t>(n);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) {
      continue;
    }
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      o.got.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      o.eof = true;
      return o;
    } else if (errno != EAGAIN && errno != EINTR) {
      o.error = errno;
      return o;
    }
  }
  return o;
}

TEST_F(HttpBodyTest, AnOversizeBodyGets413WhichTheClientReadsWhileStillSending) {
  // The fixture's max_body_bytes is 64 KiB; this client says 4 MiB and sends it.
  for (int round = 0; round < 3; ++round) {
    HttpConnection c;
    ASSERT_TRUE(c.connect(port_));
    const size_t size = 4u << 20;
    Outcome o =
        upload(c.fd(),
               "POST /v1/chat/completions HTTP/1.1\r\nHost: llmq\r\nAuthorization: Bearer " + token_ +
                   "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(size) + "\r\n\r\n",
               size);
    ASSERT_EQ(0, o.send_error) << "the upload was reset before its answer could be read: "
                               << std::strerror(o.send_error);
    EXPECT_EQ(0u, o.got.rfind("HTTP/1.1 413", 0)) << o.got;
    EXPECT_NE(std::string::npos, o.got.find("\"code\":\"request_too_large\"")) << o.got;
    EXPECT_NE(std::string::npos, o.got.find("max_body_bytes")) << o.got;
    EXPECT_TRUE(o.eof) << "the connection must end with a FIN, not a reset (errno " << o.error << ")";
  }
  EXPECT_EQ(0u, fake_.stats().total);
}

TEST_F(HttpBodyTest, ABodyWithoutATokenIsRefusedAndTheRefusalIsRead) {
  HttpConnection c;
  ASSERT_TRUE(c.connect(port_));
  Outcome o =
      upload(c.fd(), "POST /v1/chat/completions HTTP/1.1\r\nHost: llmq\r\nContent-Length: 60000\r\n\r\n", 60000);
  ASSERT_EQ(0, o.send_error) << std::strerror(o.send_error);
  EXPECT_EQ(0u, o.got.rfind("HTTP/1.1 401", 0)) << o.got;
  EXPECT_TRUE(o.eof) << "errno " << o.error;
}

class HttpLargeBodyTest : public HttpFrontFixture {
 protected:
  size_t maxBodyBytes() const override { return 12u << 20; }
};

TEST_F(HttpLargeBodyTest, AnAnswerLargerThanThePendingOutputBoundStillGoesOutWhole) {
  // mock/echo answers with the prompt: 10 MiB back, past the 8 MiB a client
  // may leave unread, in one answer.
  const std::string text(10u << 20, 'e');
  HttpResponse r = post(chat("mock/echo", text), {}, 60000);
  ASSERT_EQ(200, r.status) << r.body.substr(0, 300);
  EXPECT_NE(std::string::npos, r.body.find(text));
}

}  // namespace
}  // namespace llmq::testing
