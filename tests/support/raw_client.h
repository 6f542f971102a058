// RawClient: a plain POSIX client for tests of the IPC server (Unix socket) and
// the HTTP server (loopback TCP, connectTcp). It connects blocking, then switches to non-blocking so a test can
// read whatever has arrived between loop iterations (LoopTest::runUntil) without ever blocking the loop that serves
// it. Header-only.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace llmq::testing {

class RawClient {
 public:
  RawClient() = default;
  ~RawClient() { close(); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  // Connects to `path`; false (with errno kept in error()) on failure. The
  // connection is complete once the server's loop accepts it, but the kernel
  // queues it in the backlog, so this does not need the loop to run.
  bool connect(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
      error_ = errno;
      return false;
    }
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      error_ = errno;
      close();
      return false;
    }
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
    return true;
  }

  // Connects to 127.0.0.1:`port`, as connect() does to a Unix socket.
  bool connectTcp(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
      error_ = errno;
      return false;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      error_ = errno;
      close();
      return false;
    }
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
    return true;
  }

  // Writes all of `data`, retrying on EAGAIN (the server reads it later). Use only
  // for amounts that fit in the socket buffer, since nothing drains it meanwhile.
  bool write(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        error_ = errno;
        return false;
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads whatever is available into received(); returns the number of bytes read.
  size_t poll() {
    size_t total = 0;
    char buf[65536];
    for (;;) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        received_.append(buf, static_cast<size_t>(n));
        total += static_cast<size_t>(n);
        continue;
      }
      if (n == 0) {
        eof_ = true;
      } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        eof_ = true;  // ECONNRESET and the like: the server is gone too.
        error_ = errno;
      }
      return total;
    }
  }

  // Complete lines received so far (without their '\n'); they stay in received().
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    size_t pos = 0;
    for (size_t nl; (nl = received_.find('\n', pos)) != std::string::npos; pos = nl + 1) {
      out.push_back(received_.substr(pos, nl - pos));
    }
    return out;
  }

  void shutdownWrite() { ::shutdown(fd_, SHUT_WR); }
  void close() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

  int fd() const { return fd_; }
  int error() const { return error_; }
  bool eof() const { return eof_; }
  const std::string& received() const { return received_; }
  void clearReceived() { received_.clear(); }

 private:
  int fd_ = -1;
  int error_ = 0;
  bool eof_ = false;
  std::string received_;
};

}  // namespace llmq::testing
