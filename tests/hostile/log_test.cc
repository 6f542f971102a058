// Hostile: the log. An upstream's error text reaches llmqd's log (a failed model
// catalog refresh logs the upstream's error.message); with journald's "<N>"
// prefixes on, a "\n<0>" in that text must not start a forged emergency line, and
// a client that makes llmqd log a line per request cannot make it log without
// bound (docs/operations.md, "Bounds", "Logs").
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/daemon_fixture.h"
#include "tests/support/fake_upstream_process.h"
#include "tests/support/rpc.h"

namespace llmq::testing {
namespace {

constexpr char kFailed[] = "refreshing the model catalog failed";

class HostileLogTest : public DaemonFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(startFake());
    std::vector<std::string> env = fakeEnv();
    env.push_back("JOURNAL_STREAM=8:12345");  // As under systemd: "<N>" priority prefixes.
    ASSERT_NO_FATAL_FAILURE(launchDaemon({.extra_env = env}));
    ASSERT_TRUE(fake_.setFault("500", -1, "/models"));
  }
  void failRefresh() {
    std::string message;
    EXPECT_EQ(-32603, callError(*client_, "models.list", R"({"refresh":true})", &message, 30000)) << message;
  }
  size_t countLines(const std::string& needle) {
    std::istringstream in(daemon_->log());
    size_t n = 0;
    for (std::string line; std::getline(in, line);) {
      n += line.find(needle) != std::string::npos ? 1 : 0;
    }
    return n;
  }
};

TEST_F(HostileLogTest, TheCliShowsAnUpstreamErrorWithoutItsControlCharacters) {
  // The daemon's error quotes the upstream's text; `llmq` prints it on a terminal.
  HttpResponse r =
      fake_.post("/_fake/error_message", R"({"message":"boom\n\u001b]0;pwned\u0007\u001b[2J\u00c2\u009b31m"})");
  ASSERT_EQ(200, r.status) << r.body;
  CommandResult cli = runCommand(cliArgv({"models", "--refresh"}));
  EXPECT_EQ(1, cli.exit_code) << cli.output;
  EXPECT_NE(std::string::npos, cli.output.find("boom")) << cli.output;
  EXPECT_EQ(std::string::npos, cli.output.find('\x1b')) << cli.output;
  EXPECT_EQ(std::string::npos, cli.output.find('\x07')) << cli.output;
  EXPECT_EQ(std::string::npos, cli.output.find("\xc2\x9b")) << cli.output;
  // One line: the upstream's "\n" cannot start a second one.
  EXPECT_EQ(1, std::count(cli.output.begin(), cli.output.end(), '\n')) << cli.output;
}

TEST_F(HostileLogTest, AnUpstreamErrorCannotForgeAJournalLine) {
  HttpResponse r = fake_.post("/_fake/error_message",
                              R"({"message":"boom\n<0>forged emergency\r\n<2>critical \u001b[31mred\u0000"})");
  ASSERT_EQ(200, r.status) << r.body;
  failRefresh();

  const std::string log = daemon_->log();
  std::istringstream in(log);
  bool seen = false;
  for (std::string line; std::getline(in, line);) {
    ASSERT_FALSE(line.rfind("<0>", 0) == 0 || line.rfind("<2>", 0) == 0) << "forged line: " << line;
    ASSERT_EQ(std::string::npos, line.find('\x1b')) << line;
    if (line.find(kFailed) != std::string::npos) {
      EXPECT_EQ(0u, line.rfind("<4>", 0)) << line;
      EXPECT_NE(std::string::npos, line.find("boom\\n<0>forged emergency\\r\\n<2>critical \\x1b[31mred")) << line;
      seen = true;
    }
  }
  EXPECT_TRUE(seen) << log;
}

TEST_F(HostileLogTest, ALineAClientCanTriggerIsRateLimited) {
  constexpr int kCalls = 150;
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < kCalls; ++i) {
    failRefresh();
  }
  const auto elapsed_s =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started).count() + 1;
  // The burst of 50, then 5 a second for as long as the calls took (an upper bound
  // whatever the machine's speed; on a fast one it is far below kCalls).
  const size_t bound = 50 + 5 * static_cast<size_t>(elapsed_s);
  const size_t logged = countLines(kFailed);
  EXPECT_GE(logged, 50u);
  EXPECT_LE(logged, bound) << "in " << elapsed_s << " s";
  // The daemon is still up and answering.
  callOk(*client_, "daemon.status", "{}");
}

}  // namespace
}  // namespace llmq::testing
