// Raw sockets for tests that act as a misbehaving client of a real llmqd: plain
// descriptors to open, fill and read to the end, with no protocol on top, so a
// test can hold connections, send half a line or never read. Every read is
// bounded. Header-only.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace llmq::testing {

// A connected Unix stream socket to `path` (`flags` such as SOCK_NONBLOCK are
// added to SOCK_CLOEXEC), or -1 when nothing accepts the connection.
inline int connectUnixSocket(const std::string& path, int flags = 0) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// A blocking TCP connection to 127.0.0.1:`port`, or -1.
inline int connectLoopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Writes all of `data`; false once the peer is gone (or a send timeout passed).
inline bool sendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Appends what arrives on `fd` to *out until the peer closes or resets it (true)
// or timeout_ms pass (false).
inline bool readUntilEof(int fd, int timeout_ms, std::string* out) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char buf[4096];
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      return false;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) {
      continue;
    }
    const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      out->append(buf, static_cast<size_t>(n));
    } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      return true;
    }
  }
}

// One blocking Unix-socket connection whose sends give up after timeout_ms (a
// peer that stopped reading), closed when the object goes away.
class UnixStream {
 public:
  UnixStream(const std::string& path, int timeout_ms) : fd_(connectUnixSocket(path)) {
    if (fd_ >= 0) {
      timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
      ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }
  }
  ~UnixStream() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  UnixStream(const UnixStream&) = delete;
  UnixStream& operator=(const UnixStream&) = delete;

  bool ok() const { return fd_ >= 0; }
  bool send(std::string_view data) { return sendAll(fd_, data); }
  // Everything read until EOF or timeout_ms; *eof says which came first.
  std::string readToEof(int timeout_ms, bool* eof) {
    std::string out;
    *eof = readUntilEof(fd_, timeout_ms, &out);
    return out;
  }

 private:
  int fd_;
};

}  // namespace llmq::testing
