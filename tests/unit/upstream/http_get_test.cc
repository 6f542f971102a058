// Tests for upstream::HttpGet on a real CurlLoop against a canned local server:
// the body and status arrive, headers are sent, transport failures and oversize
// bodies are errors that name the URL, and the callback contract holds (exactly
// once; never after cancel(); a synchronous failure never calls back).
#include "upstream/http_get.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "tests/support/canned_http_server.h"
#include "tests/support/loop_test.h"

namespace llmq::upstream {
namespace {

class HttpGetTest : public llmq::testing::LoopTest {
 protected:
  void SetUp() override {
    LoopTest::SetUp();
    curl_ = std::make_unique<CurlLoop>(&loop_, CurlLoopOptions{});
    server_ = std::make_unique<llmq::testing::CannedHttpServer>(&loop_);
    ASSERT_TRUE(server_->start());
  }
  void TearDown() override {
    get_.reset();
    curl_->close();
    server_->close();
    LoopTest::TearDown();
  }
  // Starts a GET of `url` that records its outcome.
  void start(const std::string& url, size_t max_body = size_t{1} << 20) {
    HttpGetRequest req;
    req.url = url;
    req.headers = {"Accept: application/json", "Authorization: Bearer sk-or-v1-secret-key"};
    req.max_body_bytes = max_body;
    get_ = std::make_unique<HttpGet>(*curl_);
    auto r = get_->start(req, [this](Result<HttpGetResponse> resp) {
      ++calls_;
      if (resp.ok()) {
        response_ = std::move(resp).value();
      } else {
        error_ = resp.error().message;
      }
    });
    ASSERT_TRUE(r.ok()) << r.error().message;
  }

  std::unique_ptr<CurlLoop> curl_;
  std::unique_ptr<llmq::testing::CannedHttpServer> server_;
  std::unique_ptr<HttpGet> get_;
  int calls_ = 0;
  HttpGetResponse response_;
  std::string error_;
};

TEST_F(HttpGetTest, DeliversStatusAndBodyOnceAndSendsTheHeaders) {
  server_->respond(200, R"({"data":[]})");
  start(server_->url("/api/v1/models"));
  EXPECT_TRUE(get_->active());
  ASSERT_TRUE(runUntil([&] { return calls_ > 0; }));
  EXPECT_EQ(1, calls_);
  EXPECT_TRUE(error_.empty()) << error_;
  EXPECT_EQ(200, response_.status);
  EXPECT_EQ(R"({"data":[]})", response_.body);
  EXPECT_FALSE(get_->active());
  ASSERT_EQ(1u, server_->requests().size());
  const std::string& head = server_->requests()[0];
  EXPECT_EQ(0u, head.find("GET /api/v1/models HTTP/1.1\r\n")) << head;
  EXPECT_NE(std::string::npos, head.find("Authorization: Bearer sk-or-v1-secret-key")) << head;
  EXPECT_NE(std::string::npos, head.find("User-Agent: llmq/")) << head;
}

TEST_F(HttpGetTest, AnErrorStatusIsAnAnswerNotAnError) {
  server_->respond(503, R"({"error":{"code":503,"message":"down"}})");
  start(server_->url("/models"));
  ASSERT_TRUE(runUntil([&] { return calls_ > 0; }));
  EXPECT_TRUE(error_.empty()) << error_;
  EXPECT_EQ(503, response_.status);
  EXPECT_NE(std::string::npos, response_.body.find("down"));
}

TEST_F(HttpGetTest, IsReusableAndMayStartTheNextGetFromItsCallback) {
  server_->respond(200, "first");
  HttpGetRequest req;
  req.url = server_->url("/models");
  get_ = std::make_unique<HttpGet>(*curl_);
  std::string second;
  auto r = get_->start(req, [&](Result<HttpGetResponse> first) {
    ++calls_;
    ASSERT_TRUE(first.ok());
    EXPECT_EQ("first", first->body);
    server_->respond(200, "second");
    auto again = get_->start(req, [&](Result<HttpGetResponse> resp) {
      ++calls_;
      ASSERT_TRUE(resp.ok());
      second = resp->body;
    });
    EXPECT_TRUE(again.ok());
  });
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(runUntil([&] { return calls_ == 2; }));
  EXPECT_EQ("second", second);
}

TEST_F(HttpGetTest, ARefusedConnectionIsAnErrorNamingTheUrlButNoHeader) {
  // Take a port that was just free and is closed now.
  const std::string url = server_->url("/models");
  server_->close();
  start(url);
  ASSERT_TRUE(runUntil([&] { return calls_ > 0; }));
  EXPECT_EQ(1, calls_);
  EXPECT_NE(std::string::npos, error_.find("GET " + url)) << error_;
  EXPECT_EQ(std::string::npos, error_.find("sk-or-v1-secret-key")) << error_;
}

TEST_F(HttpGetTest, ABodyOverTheCapIsAnError) {
  server_->respond(200, std::string(size_t{3} << 20, 'x'));
  start(server_->url("/models"), size_t{1} << 20);
  ASSERT_TRUE(runUntil([&] { return calls_ > 0; }));
  EXPECT_EQ(1, calls_);
  EXPECT_NE(std::string::npos, error_.find("larger than 1 MiB")) << error_;
}

TEST_F(HttpGetTest, CancelMeansNoCallback) {
  server_->respond(200, "never read");
  start(server_->url("/models"));
  get_->cancel();
  EXPECT_FALSE(get_->active());
  get_->cancel();  // Idempotent.
  // Prove "never" with a later GET that must finish first.
  HttpGet other(*curl_);
  int other_calls = 0;
  HttpGetRequest req;
  req.url = server_->url("/other");
  ASSERT_TRUE(other.start(req, [&](Result<HttpGetResponse>) { ++other_calls; }).ok());
  ASSERT_TRUE(runUntil([&] { return other_calls > 0; }));
  EXPECT_EQ(0, calls_);
}

TEST_F(HttpGetTest, StartingTwiceFailsSynchronouslyWithoutACallback) {
  server_->respond(200, "{}");
  start(server_->url("/models"));
  HttpGetRequest req;
  req.url = server_->url("/models");
  int second_calls = 0;
  auto r = get_->start(req, [&](Result<HttpGetResponse>) { ++second_calls; });
  EXPECT_FALSE(r.ok());
  ASSERT_TRUE(runUntil([&] { return calls_ > 0; }));
  EXPECT_EQ(1, calls_);
  EXPECT_EQ(0, second_calls);
}

}  // namespace
}  // namespace llmq::upstream
