// Tests for upstream::CurlLoop on a real libuv loop against a canned loopback
// server: an added transfer calls its owner back exactly once with CURLE_OK and
// leaves the loop; a refused connection is reported as an error; remove()
// before the answer means no callback ever; many concurrent transfers through a
// small per-host pool all complete; and the max_buffered_bytes bound of
// claimBuffered/releaseBuffered. Also: adding a running easy handle again fails
// and does not take over its callback; add() after close() fails; close() with
// a transfer running calls nobody back.
#include "upstream/curl_loop.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/support/canned_http_server.h"
#include "tests/support/loop_test.h"

namespace llmq::upstream {
namespace {

// One GET that records its body and how it ended.
class Get final : public CurlTransfer {
 public:
  explicit Get(const std::string& url) : easy(curl_easy_init()) {
    curl_easy_setopt(easy.get(), CURLOPT_URL, url.c_str());
    restrictToHttp(easy.get());
    curl_easy_setopt(easy.get(), CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy.get(), CURLOPT_WRITEDATA, this);
    curl_easy_setopt(easy.get(), CURLOPT_WRITEFUNCTION, &Get::onBody);
  }
  void onCurlDone(CURLcode r) override {
    ++calls;
    result = r;
  }
  static size_t onBody(char* data, size_t size, size_t n, void* self) {
    static_cast<Get*>(self)->body.append(data, size * n);
    return size * n;
  }

  CurlEasyPtr easy;
  std::string body;
  int calls = 0;
  CURLcode result = CURLE_OK;
};

class CurlLoopTest : public llmq::testing::LoopTest {
 protected:
  void SetUp() override {
    LoopTest::SetUp();
    server_ = std::make_unique<llmq::testing::CannedHttpServer>(&loop_);
    ASSERT_TRUE(server_->start());
    server_->respond(200, "canned body", "text/plain");
  }
  void TearDown() override {
    if (curl_) {
      curl_->close();
    }
    server_->close();
    LoopTest::TearDown();
    gets_.clear();  // After the multi handle is gone.
  }
  void make(CurlLoopOptions options = {}) { curl_ = std::make_unique<CurlLoop>(&loop_, options); }
  Get& add(const std::string& url) {
    gets_.push_back(std::make_unique<Get>(url));
    auto r = curl_->add(gets_.back()->easy.get(), gets_.back().get());
    EXPECT_TRUE(r.ok()) << r.error().message;
    return *gets_.back();
  }

  std::unique_ptr<llmq::testing::CannedHttpServer> server_;
  std::unique_ptr<CurlLoop> curl_;
  std::vector<std::unique_ptr<Get>> gets_;
};

TEST_F(CurlLoopTest, ATransferCallsItsOwnerBackOnceWithTheBody) {
  make();
  Get& g = add(server_->url("/x"));
  EXPECT_EQ(1u, curl_->active());
  ASSERT_TRUE(runUntil([&] { return g.calls > 0; }));
  EXPECT_EQ(CURLE_OK, g.result);
  EXPECT_EQ("canned body", g.body);
  EXPECT_EQ(0u, curl_->active());
  runUntil([] { return false; }, 20);  // Nothing more may come.
  EXPECT_EQ(1, g.calls);
  ASSERT_EQ(1u, server_->requests().size());
  EXPECT_EQ(0u, server_->requests()[0].find("GET /x HTTP/1.1\r\n")) << server_->requests()[0];
}

TEST_F(CurlLoopTest, ARefusedConnectionIsReportedAsAnError) {
  make();
  const int port = server_->port();
  server_->close();  // Nothing listens there any more.
  runUntil([] { return false; }, 10);
  Get& g = add("http://127.0.0.1:" + std::to_string(port) + "/x");
  ASSERT_TRUE(runUntil([&] { return g.calls > 0; }));
  EXPECT_NE(CURLE_OK, g.result);
  EXPECT_EQ(1, g.calls);
  EXPECT_EQ(0u, curl_->active());
}

TEST_F(CurlLoopTest, RemoveBeforeTheAnswerMeansNoCallback) {
  make();
  server_->hold();
  Get& g = add(server_->url("/held"));
  ASSERT_TRUE(runUntil([&] { return server_->requests().size() == 1; }));
  curl_->remove(std::move(g.easy), nullptr);
  EXPECT_EQ(0u, curl_->active());
  server_->release();
  runUntil([] { return false; }, 100);  // An answer, if one came, would be delivered.
  EXPECT_EQ(0, g.calls);
}

TEST_F(CurlLoopTest, ManyConcurrentTransfersThroughASmallPoolAllComplete) {
  make(CurlLoopOptions{.max_host_connections = 2, .max_total_connections = 4});
  constexpr int kTransfers = 20;
  for (int i = 0; i < kTransfers; ++i) {
    add(server_->url("/n" + std::to_string(i)));
  }
  EXPECT_EQ(static_cast<size_t>(kTransfers), curl_->active());
  ASSERT_TRUE(runUntil(
      [&] {
        for (const auto& g : gets_) {
          if (g->calls == 0) {
            return false;
          }
        }
        return true;
      },
      20000));
  for (const auto& g : gets_) {
    EXPECT_EQ(1, g->calls);
    EXPECT_EQ(CURLE_OK, g->result);
    EXPECT_EQ("canned body", g->body);
  }
  EXPECT_EQ(0u, curl_->active());
  EXPECT_EQ(static_cast<size_t>(kTransfers), server_->requests().size());
}

TEST_F(CurlLoopTest, ClaimBufferedHoldsTheBound) {
  make(CurlLoopOptions{.max_buffered_bytes = 100});
  EXPECT_TRUE(curl_->claimBuffered(60));
  EXPECT_TRUE(curl_->claimBuffered(40));
  EXPECT_EQ(100u, curl_->buffered());
  EXPECT_FALSE(curl_->claimBuffered(1));
  EXPECT_EQ(100u, curl_->buffered());  // A refused claim keeps nothing.
  curl_->releaseBuffered(60);
  EXPECT_TRUE(curl_->claimBuffered(50));
  EXPECT_EQ(90u, curl_->buffered());
  curl_->releaseBuffered(1000);  // More than claimed: clamped at zero.
  EXPECT_EQ(0u, curl_->buffered());
}

TEST_F(CurlLoopTest, AddingARunningHandleAgainFailsAndLeavesItsOwnerAlone) {
  make();
  Get& g = add(server_->url("/once"));
  Get other(server_->url("/unused"));
  auto again = curl_->add(g.easy.get(), &other);
  EXPECT_FALSE(again.ok());
  ASSERT_TRUE(runUntil([&] { return g.calls > 0 || other.calls > 0; }));
  runUntil([] { return false; }, 20);
  EXPECT_EQ(1, g.calls);
  EXPECT_EQ(0, other.calls);  // A failed add() never calls back.
  EXPECT_EQ(CURLE_OK, g.result);
}

TEST_F(CurlLoopTest, AddAfterCloseFails) {
  make();
  curl_->close();
  Get g(server_->url("/late"));
  EXPECT_FALSE(curl_->add(g.easy.get(), &g).ok());
  runUntil([] { return false; }, 20);
  EXPECT_EQ(0, g.calls);
}

TEST_F(CurlLoopTest, CloseWithATransferRunningCallsNobodyBack) {
  make();
  server_->hold();
  Get& g = add(server_->url("/held"));
  ASSERT_TRUE(runUntil([&] { return server_->requests().size() == 1; }));
  curl_->close();
  EXPECT_EQ(0u, curl_->active());
  server_->release();
  runUntil([] { return false; }, 50);
  EXPECT_EQ(0, g.calls);
}

}  // namespace
}  // namespace llmq::upstream
