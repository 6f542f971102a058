// Hostile: the machine's own limits. llmqd started with few descriptors
// (RLIMIT_NOFILE 64) while a client opens far more connections than that: the
// daemon stays up, and once those connections go it serves new ones and runs
// jobs again. docs/operations.md "Bounds".
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

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
  rlimit old{};
  ASSERT_EQ(0, ::getrlimit(RLIMIT_NOFILE, &old));
  if (old.rlim_max < 512) {
    GTEST_SKIP() << "RLIMIT_NOFILE hard limit " << old.rlim_max << " is too low for this test";
  }
  DaemonProcess daemon(dir.path());
  // The child inherits the soft limit at fork; the test's own is put back at once.
  rlimit low = old;
  low.rlim_cur = 64;
  ASSERT_EQ(0, ::setrlimit(RLIMIT_NOFILE, &low));
  ::testing::AssertionResult started = daemon.start();
  ASSERT_EQ(0, ::setrlimit(RLIMIT_NOFILE, &old));
  ASSERT_TRUE(started);

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
