// Hostile: the machine's own limits. llmqd started with few descriptors
// (RLIMIT_NOFILE 64, soft and hard) while a client opens far more connections than that: the
// daemon stays up, and once those connections go it serves new ones and runs
// jobs again. docs/operations.md "Bounds".
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "tests/support/daemon_fixture.h"
#include "tests/support/rpc.h"

namespace llmq::testing {
namespace {

class ResourceLimitsTest : public DaemonFixture {};

TEST_F(ResourceLimitsTest, RunningOutOfDescriptorsDoesNotBringTheDaemonDown) {
  ASSERT_NO_FATAL_FAILURE(launchDaemon({}, /*connect=*/false));
  ASSERT_NO_FATAL_FAILURE(limitDescriptors(64));

  std::vector<int> fds;
  for (int i = 0; i < 200; ++i) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    ASSERT_GE(fd, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, daemon_->socketPath().c_str(), sizeof addr.sun_path - 1);
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
  ASSERT_TRUE(daemon_->running());

  // Once they are gone, a new client is served and a job runs (bounded wait).
  EXPECT_TRUE(waitUntilServed("job.submit", submitParams("mock/test", R"("wait":true)"))) << daemon_->log();
}

}  // namespace
}  // namespace llmq::testing
