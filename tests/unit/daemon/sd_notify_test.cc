// sdnotify: the STATUS= text, and the wrappers against a real NOTIFY_SOCKET
// (what llmqd sends end to end is in tests/integration/systemd_test.cc).
#include "daemon/sd_notify.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "tests/support/temp_dir.h"

namespace llmq::daemon::sdnotify {
namespace {

// Sets (or unsets) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name); old != nullptr) {
      old_ = old;
    }
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(SdNotifyTest, StatusLineNamesEveryFigure) {
  QueueFigures f;
  f.queued = 3;
  f.running = 1;
  f.retry_wait = 2;
  f.held = 4;
  f.in_flight = 1;
  f.connections = 7;
  EXPECT_EQ("queued 3, running 1, retry_wait 2, held 4, in flight 1, connections 7", statusLine(f));
  f.stopping = true;
  EXPECT_EQ("stopping: queued 3, running 1, retry_wait 2, held 4, in flight 1, connections 7", statusLine(f));
  EXPECT_EQ("queued 0, running 0, retry_wait 0, held 0, in flight 0, connections 0", statusLine({}));
}

TEST(SdNotifyTest, WatchdogIntervalIsHalfOfWatchdogUsec) {
  {
    ScopedEnv usec("WATCHDOG_USEC", nullptr);
    EXPECT_EQ(0u, watchdogIntervalMs());
  }
  {
    ScopedEnv usec("WATCHDOG_USEC", "30000000");  // WatchdogSec=30s
    ScopedEnv pid("WATCHDOG_PID", nullptr);
    EXPECT_EQ(15000u, watchdogIntervalMs());
  }
  {
    ScopedEnv usec("WATCHDOG_USEC", "30000000");
    ScopedEnv pid("WATCHDOG_PID", std::to_string(::getpid()).c_str());
    EXPECT_EQ(15000u, watchdogIntervalMs());
  }
  {
    // Meant for another process (a parent that did not unset it): not ours.
    ScopedEnv usec("WATCHDOG_USEC", "30000000");
    ScopedEnv pid("WATCHDOG_PID", "1");
    EXPECT_EQ(0u, watchdogIntervalMs());
  }
}

TEST(SdNotifyTest, MessagesReachTheNotifySocket) {
  llmq::testing::TempDir dir;
  std::string path = dir.file("notify.sock");
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(0, ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr));
  auto next = [fd]() -> std::string {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 2000) <= 0) {
      return "<nothing>";
    }
    char buf[512];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "<error>";
  };
  {
    ScopedEnv notify("NOTIFY_SOCKET", path.c_str());
    EXPECT_TRUE(enabled());
    ready();
    EXPECT_EQ("READY=1", next());
    status("queued 1, running 0, retry_wait 0, held 0, in flight 0, connections 0");
    EXPECT_EQ("STATUS=queued 1, running 0, retry_wait 0, held 0, in flight 0, connections 0", next());
    watchdog();
    EXPECT_EQ("WATCHDOG=1", next());
    stopping();
    EXPECT_EQ("STOPPING=1", next());
  }
  {
    // Without NOTIFY_SOCKET (llmqd run by hand) nothing is sent, and nothing fails.
    ScopedEnv notify("NOTIFY_SOCKET", nullptr);
    EXPECT_FALSE(enabled());
    ready();
    pollfd p{fd, POLLIN, 0};
    EXPECT_EQ(0, ::poll(&p, 1, 50));
  }
  ::close(fd);
}

}  // namespace
}  // namespace llmq::daemon::sdnotify
