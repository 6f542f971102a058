// Hostile: clients of the Unix socket that hold connections, unfinished lines and
// descriptors. Each test drives a real llmqd to one bound of docs/operations.md
// ("The Unix socket") and checks the documented error, that memory stays
// bounded, and that a real client is answered afterwards.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/daemon_fixture.h"
#include "tests/support/proc_status.h"
#include "tests/support/raw_socket.h"
#include "tests/support/rpc.h"

namespace llmq::testing {
namespace {

// Its connections are blocking ones whose sends give up after a second.
constexpr int kSendTimeoutMs = 1000;

class SocketHostileTest : public DaemonFixture {
 protected:
  void start(const std::string& ipc_toml) {
    launchDaemon({.config_toml = "[ipc]\n" + ipc_toml}, /*connect=*/false);
  }
};

TEST_F(SocketHostileTest, OneConnectionPastTheCapGetsMinus32005AndIsClosed) {
  start("max_connections = 8\n");
  std::vector<std::unique_ptr<UnixStream>> held;
  for (int i = 0; i < 8; ++i) {
    held.push_back(std::make_unique<UnixStream>(daemon_->socketPath(), kSendTimeoutMs));
    ASSERT_TRUE(held.back()->ok());
  }
  // The ninth: the daemon answers on one of them at a time, so ask each new one
  // until the refusal arrives (the first eight may still be being accepted).
  UnixStream extra(daemon_->socketPath(), kSendTimeoutMs);
  ASSERT_TRUE(extra.ok());
  bool eof = false;
  const std::string got = extra.readToEof(15000, &eof);
  EXPECT_TRUE(eof) << "a connection past max_connections must be closed";
  EXPECT_NE(std::string::npos, got.find("-32005")) << got;
  EXPECT_NE(std::string::npos, got.find("max_connections")) << got;
  held.pop_back();
  // Once one goes, a real client gets in again.
  EXPECT_TRUE(waitUntilServed("daemon.status", "{}", 10000));
}

TEST_F(SocketHostileTest, AnUnfinishedLineTimesOut) {
  start("line_timeout_s = 0.5\n");
  UnixStream s(daemon_->socketPath(), kSendTimeoutMs);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(s.send(R"({"jsonrpc":"2.0","id":1,"method":"daemon.status")"));
  bool eof = false;
  const std::string got = s.readToEof(20000, &eof);
  EXPECT_TRUE(eof) << "the connection must be closed";
  EXPECT_NE(std::string::npos, got.find("-32600")) << got;
  EXPECT_NE(std::string::npos, got.find("not finished")) << got;
  expectServing();
}

// 40 connections each holding almost 4 MiB of one unfinished line: without a
// global bound that is 160 MiB; with max_partial_bytes_total = 8 MiB the
// connections that pass it are closed with -32005 and memory stays flat.
TEST_F(SocketHostileTest, UnfinishedLinesOverAllConnectionsAreBounded) {
  start("max_partial_bytes_total = 8388608\nline_timeout_s = 600\n");
  const size_t before = residentBytes(daemon_->pid());
  ASSERT_GT(before, 0u);
  const std::string chunk(256 * 1024, 'x');
  std::vector<std::unique_ptr<UnixStream>> socks;
  int refused = 0;
  for (int i = 0; i < 40; ++i) {
    socks.push_back(std::make_unique<UnixStream>(daemon_->socketPath(), kSendTimeoutMs));
    ASSERT_TRUE(socks.back()->ok());
    bool sent_all = socks.back()->send("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"");
    for (int k = 0; k < 15 && sent_all; ++k) {
      sent_all = socks.back()->send(chunk);
    }
    if (!sent_all) {
      ++refused;
    }
  }
  // Every connection past the bound is told and closed.
  int told = 0;
  for (auto& s : socks) {
    bool eof = false;
    const std::string got = s->readToEof(1500, &eof);
    if (got.find("max_partial_bytes_total") != std::string::npos) {
      ++told;
    }
  }
  EXPECT_GE(told, 30) << "refused while sending: " << refused;
  const size_t after = residentBytes(daemon_->pid());
  if (kResidentMemoryIsMeaningful) {
    EXPECT_LT(after, before + (64u << 20)) << "RSS " << before << " -> " << after;
  }
  socks.clear();
  expectServing();
}

// llmqd with fewer descriptors than connections: running out must not make it
// spin or fall over, and once the connections go a real client is served. The
// limit is set on the running daemon, soft and hard (prlimit): a soft limit
// alone llmqd raises to the hard one at start, and would never run out.
TEST_F(SocketHostileTest, MoreConnectionsThanDescriptors) {
  ASSERT_NO_FATAL_FAILURE(launchDaemon({}, /*connect=*/false));
  ASSERT_NO_FATAL_FAILURE(limitDescriptors(64));
  const size_t log_from = daemon_->log().size();
  std::vector<std::unique_ptr<UnixStream>> socks;
  for (int i = 0; i < 150; ++i) {
    socks.push_back(std::make_unique<UnixStream>(daemon_->socketPath(), kSendTimeoutMs));
  }
  // Once the daemon has met the wall (it says so), check it is not spinning: a
  // busy loop would burn about as much CPU as wall time passes.
  EXPECT_TRUE(daemon_->waitForLog("out of file descriptors", log_from, 60000));
  const pid_t pid = daemon_->pid();
  const long long cpu_before = cpuTicks(pid);
  const auto wall_before = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(2));  // The span CPU time is measured over.
  const long long ticks = cpuTicks(pid) - cpu_before;
  const double wall_ticks = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_before).count() *
                            static_cast<double>(::sysconf(_SC_CLK_TCK));
  EXPECT_LT(static_cast<double>(ticks), wall_ticks * 0.5) << "llmqd spins at EMFILE";
  EXPECT_EQ(0, ::kill(daemon_->pid(), 0)) << "llmqd is up";
  socks.clear();
  EXPECT_TRUE(waitUntilServed("daemon.status", "{}", 10000));
}

}  // namespace
}  // namespace llmq::testing
