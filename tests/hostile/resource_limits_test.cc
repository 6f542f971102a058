// Hostile: the machine's own limits. llmqd started with few descriptors
// (RLIMIT_NOFILE 64, soft and hard) while a client opens far more connections than that: the
// daemon stays up, and once those connections go it serves new ones and runs
// jobs again. docs/operations.md "Bounds".
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/daemon_process.h"
#include "tests/support/rpc.h"
#include "tests/support/temp_dir.h"

namespace llmq::testing {
namespace {

TEST(ResourceLimitsTest, RunningOutOfDescriptorsDoesNotBringTheDaemonDown) {
  TempDir dir;
  DaemonProcess daemon(dir.path());
  ASSERT_TRUE(daemon.start());
  // Soft and hard, on the running daemon (prlimit): a soft limit alone llmqd
  // raises to the hard one at start, and would never run out.
  const rlimit low{64, 64};
  ASSERT_EQ(0, ::prlimit(daemon.pid(), RLIMIT_NOFILE, &low, nullptr)) << std::strerror(errno);

  std::vector<int> fds;
  for (int i = 0; i < 200; ++i) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    ASSERT_GE(fd, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, daemon.socketPath().c_str(), sizeof addr.sun_path - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd);  // The backlog is full: fine, the daemon is what is tested.
      continue;
    }
    fds.push_back(fd);
  }
  EXPECT_GT(fds.size(), 64u);
  for (int fd : fds) {
    ::close(fd);
  }
  ASSERT_TRUE(daemon.running());

  // Once they are gone, a new client is served and a job runs (bounded wait).
  bool served = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!served && std::chrono::steady_clock::now() < deadline) {
    auto c = ipc::Client::connect(daemon.socketPath());
    if (c.ok()) {
      auto r = (*c)->call("job.submit", submitParams("mock/test", R"("wait":true)"), 30000);
      served = r.ok() && r->ok();
    }
    if (!served) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  EXPECT_TRUE(served) << daemon.log();
  EXPECT_TRUE(daemon.stop());
}

}  // namespace
}  // namespace llmq::testing
