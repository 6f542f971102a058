// Hostile: scrapers of the metrics listener ([metrics], off by default) that hold
// connections, send nothing, or send a request head without end. Each bound of
// docs/operations.md "Bounds" ("The metrics listener") is met and a real scrape
// is answered afterwards.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/support/daemon_fixture.h"
#include "tests/support/fake_upstream_process.h"
#include "tests/support/raw_socket.h"
#include "tests/support/wait.h"

namespace llmq::testing {
namespace {

class MetricsBoundsTest : public DaemonFixture {
 protected:
  void start(const std::string& toml) {
    ASSERT_NO_FATAL_FAILURE(
        launchDaemon({.config_toml = "[metrics]\nlisten = \"127.0.0.1:0\"\n" + toml}, /*connect=*/false));
    port_ = metricsPort();
    ASSERT_NE(0, port_) << daemon_->log();
  }
  // A real scrape is answered (bounded wait: a slot may take a moment to free).
  void expectScraped() {
    int status = 0;
    const auto scraped = [&] {
      HttpConnection c;
      if (c.connect(port_)) {
        status = c.request("GET", "/metrics", "", {}, 30000).status;
      }
      return status == 200;
    };
    waitUntil(scraped, 60000, "a scrape", 100);
    EXPECT_EQ(200, status);
  }
  // Reads until EOF (true) or 60 s.
  static bool readToEof(HttpConnection& c, std::string* got) { return readUntilEof(c.fd(), 60000, got); }

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
