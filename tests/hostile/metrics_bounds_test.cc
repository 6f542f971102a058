// Hostile: scrapers of the metrics listener ([metrics], off by default) that hold
// connections, send nothing, or send a request head without end. Each bound of
// docs/operations.md "Bounds" ("The metrics listener") is met and a real scrape
// is answered afterwards.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/daemon_process.h"
#include "tests/support/fake_upstream_process.h"
#include "tests/support/temp_dir.h"

namespace llmq::testing {
namespace {

class MetricsBoundsTest : public ::testing::Test {
 protected:
  void start(const std::string& toml) {
    daemon_ = std::make_unique<DaemonProcess>(
        dir_.path(), DaemonOptions{.config_toml = "[metrics]\nlisten = \"127.0.0.1:0\"\n" + toml});
    ASSERT_TRUE(daemon_->start());
    const std::string log = daemon_->log();
    const std::string marker = "metrics on http://127.0.0.1:";
    const size_t at = log.find(marker);
    ASSERT_NE(std::string::npos, at) << log;
    port_ = std::atoi(log.c_str() + at + marker.size());
  }
  void TearDown() override {
    if (daemon_ && daemon_->running()) {
      EXPECT_TRUE(daemon_->stop());
    }
  }
  // A real scrape is answered (bounded wait: a slot may take a moment to free).
  void expectScraped() {
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (status != 200 && std::chrono::steady_clock::now() < deadline) {
      HttpConnection c;
      if (c.connect(port_)) {
        status = c.request("GET", "/metrics", "", {}, 30000).status;
      }
      if (status != 200) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    EXPECT_EQ(200, status);
  }
  // Reads until EOF (true) or 60 s.
  static bool readToEof(HttpConnection& c, std::string* got) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    timeval tv{0, 200'000};
    ::setsockopt(c.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4096];
    while (std::chrono::steady_clock::now() < deadline) {
      const ssize_t n = ::recv(c.fd(), buf, sizeof buf, 0);
      if (n > 0) {
        got->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        return true;
      }
    }
    return false;
  }

  TempDir dir_;
  std::unique_ptr<DaemonProcess> daemon_;
  int port_ = 0;
};

TEST_F(MetricsBoundsTest, OneScrapePastMaxConnectionsGets503) {
  start("");
  std::vector<std::unique_ptr<HttpConnection>> idle;
  for (size_t i = 0; i < 8; ++i) {  // MetricsServer::kMaxConnections
    idle.push_back(std::make_unique<HttpConnection>());
    ASSERT_TRUE(idle.back()->connect(port_));
  }
  HttpConnection extra;
  ASSERT_TRUE(extra.connect(port_));
  std::string got;
  EXPECT_TRUE(readToEof(extra, &got)) << "a scrape past max_connections must be closed";
  EXPECT_EQ(0u, got.rfind("HTTP/1.1 503", 0)) << got;
  EXPECT_NE(std::string::npos, got.find("at most 8")) << got;
  idle.clear();
  expectScraped();
}

// Closed after 10 s (MetricsServer::kTimeoutMs); the test waits up to 60.
TEST_F(MetricsBoundsTest, AClientThatSendsNothingIsClosedAtTheTimeout) {
  start("");
  HttpConnection quiet;
  ASSERT_TRUE(quiet.connect(port_));
  std::string got;
  EXPECT_TRUE(readToEof(quiet, &got)) << "closed at the timeout";
  EXPECT_TRUE(got.empty()) << got;
  expectScraped();
}

TEST_F(MetricsBoundsTest, ARequestHeadPast8KiBGets431) {
  start("");
  HttpConnection c;
  ASSERT_TRUE(c.connect(port_));
  const std::string head = "GET /metrics HTTP/1.1\r\nX-Pad: " + std::string(9000, 'a');
  ASSERT_EQ(static_cast<ssize_t>(head.size()), ::send(c.fd(), head.data(), head.size(), MSG_NOSIGNAL));
  std::string got;
  EXPECT_TRUE(readToEof(c, &got));
  EXPECT_EQ(0u, got.rfind("HTTP/1.1 431", 0)) << got;
  expectScraped();
}

}  // namespace
}  // namespace llmq::testing
