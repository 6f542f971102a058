// Tests for ipc/socket_path: LLMQ_SOCKET wins, then the per-user socket under
// XDG_RUNTIME_DIR, then the system one; a client falls back to the system socket
// when only that one exists, and llmqd never does.
#include "ipc/socket_path.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "tests/support/temp_dir.h"

namespace llmq::ipc {
namespace {

using llmq::testing::TempDir;

// A listening-socket file at `path`, as a running llmqd leaves it.
void makeSocketFile(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof addr.sun_path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(0, ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr)) << std::strerror(errno);
  ::close(fd);
}

class SocketPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime_ = dir_.file("rt");
    ASSERT_EQ(0, ::mkdir(runtime_.c_str(), 0700));
    system_ = dir_.file("system.sock");  // Stands in for /run/llmq/llmqd.sock.
  }
  std::string user() const { return runtime_ + "/llmq/llmqd.sock"; }
  void makeUserSocket() {
    ASSERT_EQ(0, ::mkdir((runtime_ + "/llmq").c_str(), 0700));
    makeSocketFile(user());
  }
  std::string client() const { return resolveSocketPath(nullptr, runtime_.c_str(), true, system_); }
  std::string daemon() const { return resolveSocketPath(nullptr, runtime_.c_str(), false, system_); }

  TempDir dir_;
  std::string runtime_;
  std::string system_;
};

TEST_F(SocketPathTest, LlmqSocketWinsForEveryone) {
  makeSocketFile(system_);
  EXPECT_EQ("/x/y.sock", resolveSocketPath("/x/y.sock", runtime_.c_str(), true, system_));
  EXPECT_EQ("/x/y.sock", resolveSocketPath("/x/y.sock", runtime_.c_str(), false, system_));
  // Empty means unset.
  EXPECT_EQ(user(), resolveSocketPath("", runtime_.c_str(), false, system_));
}

TEST_F(SocketPathTest, WithNeitherSocketThePerUserOneIsNamed) {
  EXPECT_EQ(user(), client());
  EXPECT_EQ(user(), daemon());
}

TEST_F(SocketPathTest, AClientUsesTheSystemSocketWhenOnlyThatOneExists) {
  makeSocketFile(system_);
  EXPECT_EQ(system_, client());
  EXPECT_EQ(user(), daemon()) << "a per-user llmqd binds its own socket, never the system one";
}

TEST_F(SocketPathTest, ThePerUserSocketWinsWhenBothExist) {
  makeSocketFile(system_);
  makeUserSocket();
  EXPECT_EQ(user(), client());
  EXPECT_EQ(user(), daemon());
}

TEST_F(SocketPathTest, WithoutXdgRuntimeDirTheSystemSocket) {
  EXPECT_EQ(system_, resolveSocketPath(nullptr, nullptr, true, system_));
  EXPECT_EQ(system_, resolveSocketPath(nullptr, "", false, system_));
  EXPECT_EQ(std::string(kSystemSocketPath), resolveSocketPath(nullptr, nullptr, true));
}

}  // namespace
}  // namespace llmq::ipc
