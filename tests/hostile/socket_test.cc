// Hostile: clients of the Unix socket that hold connections, unfinished lines and
// descriptors. Each test drives a real llmqd to one bound of docs/operations.md
// ("The Unix socket") and checks the documented error, that memory stays
// bounded, and that a real client is answered afterwards.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/daemon_process.h"
#include "tests/support/proc_status.h"
#include "tests/support/rpc.h"
#include "tests/support/temp_dir.h"

namespace llmq::testing {
namespace {

// A blocking Unix-socket connection with a receive timeout.
class Sock {
 public:
  explicit Sock(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
    if (fd_ >= 0) {
      timeval tv{1, 0};
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }
  }
  ~Sock() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  bool ok() const { return fd_ >= 0; }
  // Sends what it can; false once the peer is gone or it would block too long.
  bool send(const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
      const ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) {
        return false;
      }
      off += static_cast<size_t>(n);
    }
    return true;
  }
  // Reads until EOF or timeout_ms; returns everything read; *eof tells which.
  std::string readToEof(int timeout_ms, bool* eof) {
    std::string out;
    *eof = false;
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    char buf[4096];
    while (std::chrono::steady_clock::now() < end) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        *eof = true;
        return out;
      }
      if (n > 0) {
        out.append(buf, static_cast<size_t>(n));
      }
    }
    return out;
  }

 private:
  int fd_ = -1;
};

class SocketHostileTest : public ::testing::Test {
 protected:
  void start(const std::string& ipc_toml) {
    daemon_ = std::make_unique<DaemonProcess>(dir_.path(), DaemonOptions{.config_toml = "[ipc]\n" + ipc_toml});
    ASSERT_TRUE(daemon_->start());
  }
  void TearDown() override {
    if (daemon_ && daemon_->running()) {
      EXPECT_TRUE(daemon_->stop());
    }
  }
  // A real client still gets its answer.
  void expectServed() {
    auto client = daemon_->connect();
    ASSERT_NE(nullptr, client);
    json::Document status = callOk(*client, "daemon.status", "{}");
    EXPECT_TRUE(status.IsObject());
  }

  TempDir dir_;
  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(SocketHostileTest, OneConnectionPastTheCapGetsMinus32005AndIsClosed) {
  start("max_connections = 8\n");
  std::vector<std::unique_ptr<Sock>> held;
  for (int i = 0; i < 8; ++i) {
    held.push_back(std::make_unique<Sock>(daemon_->socketPath()));
    ASSERT_TRUE(held.back()->ok());
  }
  // The ninth: the daemon answers on one of them at a time, so ask each new one
  // until the refusal arrives (the first eight may still be being accepted).
  Sock extra(daemon_->socketPath());
  ASSERT_TRUE(extra.ok());
  bool eof = false;
  const std::string got = extra.readToEof(15000, &eof);
  EXPECT_TRUE(eof) << "a connection past max_connections must be closed";
  EXPECT_NE(std::string::npos, got.find("-32005")) << got;
  EXPECT_NE(std::string::npos, got.find("max_connections")) << got;
  held.pop_back();
  // Once one goes, a real client gets in again.
  bool served = false;
  for (int i = 0; i < 100 && !served; ++i) {
    auto client = ipc::Client::connect(daemon_->socketPath());
    if (client) {
      auto r = (*client)->call("daemon.status", "{}");
      served = r && r->ok();
    }
    if (!served) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  EXPECT_TRUE(served);
}

TEST_F(SocketHostileTest, AnUnfinishedLineTimesOut) {
  start("line_timeout_s = 0.5\n");
  Sock s(daemon_->socketPath());
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(s.send(R"({"jsonrpc":"2.0","id":1,"method":"daemon.status")"));
  bool eof = false;
  const std::string got = s.readToEof(20000, &eof);
  EXPECT_TRUE(eof) << "the connection must be closed";
  EXPECT_NE(std::string::npos, got.find("-32600")) << got;
  EXPECT_NE(std::string::npos, got.find("not finished")) << got;
  expectServed();
}

// 40 connections each holding almost 4 MiB of one unfinished line: without a
// global bound that is 160 MiB; with max_partial_bytes_total = 8 MiB the
// connections that pass it are closed with -32005 and memory stays flat.
TEST_F(SocketHostileTest, UnfinishedLinesOverAllConnectionsAreBounded) {
  start("max_partial_bytes_total = 8388608\nline_timeout_s = 600\n");
  const size_t before = residentBytes(daemon_->pid());
  ASSERT_GT(before, 0u);
  const std::string chunk(256 * 1024, 'x');
  std::vector<std::unique_ptr<Sock>> socks;
  int refused = 0;
  for (int i = 0; i < 40; ++i) {
    socks.push_back(std::make_unique<Sock>(daemon_->socketPath()));
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
  expectServed();
}

// llmqd with fewer descriptors than connections: running out must not make it
// spin or fall over, and once the connections go a real client is served. The
// limit is set on the running daemon, soft and hard (prlimit): a soft limit
// alone llmqd raises to the hard one at start, and would never run out.
TEST_F(SocketHostileTest, MoreConnectionsThanDescriptors) {
  daemon_ = std::make_unique<DaemonProcess>(dir_.path());
  ASSERT_TRUE(daemon_->start());
  const rlimit low{64, 64};
  ASSERT_EQ(0, ::prlimit(daemon_->pid(), RLIMIT_NOFILE, &low, nullptr)) << std::strerror(errno);
  std::vector<std::unique_ptr<Sock>> socks;
  for (int i = 0; i < 150; ++i) {
    socks.push_back(std::make_unique<Sock>(daemon_->socketPath()));
  }
  // Give the daemon a moment to meet the wall, then check it is not spinning:
  // a busy loop would burn about as much CPU as wall time passes.
  auto cpu = [this] {
    std::ifstream in("/proc/" + std::to_string(daemon_->pid()) + "/stat");
    std::string all;
    std::getline(in, all);
    const size_t close_paren = all.rfind(')');
    std::vector<std::string> fields;
    size_t pos = close_paren + 2;
    while (pos < all.size()) {
      const size_t sp = all.find(' ', pos);
      fields.push_back(all.substr(pos, sp - pos));
      if (sp == std::string::npos) {
        break;
      }
      pos = sp + 1;
    }
    return fields.size() > 12 ? std::stoll(fields[11]) + std::stoll(fields[12]) : 0;  // utime + stime.
  };
  const long long cpu_before = cpu();
  const auto wall_before = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const long long ticks = cpu() - cpu_before;
  const double wall_ticks = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_before).count() *
                            static_cast<double>(::sysconf(_SC_CLK_TCK));
  EXPECT_LT(static_cast<double>(ticks), wall_ticks * 0.5) << "llmqd spins at EMFILE";
  EXPECT_EQ(0, ::kill(daemon_->pid(), 0)) << "llmqd is up";
  socks.clear();
  bool served = false;
  for (int i = 0; i < 100 && !served; ++i) {
    auto client = ipc::Client::connect(daemon_->socketPath());
    if (client) {
      auto r = (*client)->call("daemon.status", "{}");
      served = r && r->ok();
    }
    if (!served) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  EXPECT_TRUE(served);
}

}  // namespace
}  // namespace llmq::testing
