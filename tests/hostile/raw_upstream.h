// RawUpstream: a hostile HTTP upstream for tests/hostile/, byte by byte. It
// listens on 127.0.0.1, reads each request (head and Content-Length body), counts
// it, and hands the socket to a script that writes whatever it likes: endless
// headers, a lying Content-Length, a redirect, nothing at all. When the script
// returns, the connection waits for its next request (keep-alive), so a script
// that wrote nothing leaves its answer stalled until the server stops; the
// destructor closes every socket and joins every thread.
//
// Test thread only, except the scripts, which run on one thread per connection.
// Header-only.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace llmq::testing {

class RawUpstream {
 public:
  // Writes the answer to one request on `fd`; `stopping()` says when to give up.
  using Script = std::function<void(RawUpstream& self, int fd, const std::string& request)>;

  explicit RawUpstream(Script script) : script_(std::move(script)) {}
  ~RawUpstream() { stop(); }
  RawUpstream(const RawUpstream&) = delete;
  RawUpstream& operator=(const RawUpstream&) = delete;

  bool start() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) {
      return false;
    }
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 64) != 0) {
      return false;
    }
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { acceptLoop(); });
    return true;
  }

  void stop() {
    if (stopping_.exchange(true)) {
      return;
    }
    if (acceptor_.joinable()) {
      acceptor_.join();
    }
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int fd : fds_) {
        ::shutdown(fd, SHUT_RDWR);
      }
      threads.swap(threads_);
    }
    for (std::thread& t : threads) {
      t.join();
    }
    std::lock_guard<std::mutex> lock(mu_);
    for (int fd : fds_) {
      ::close(fd);
    }
    fds_.clear();
    if (listen_fd_ >= 0) {
      ::close(listen_fd_);
      listen_fd_ = -1;
    }
  }

  int port() const { return port_; }
  std::string baseUrl() const { return "http://127.0.0.1:" + std::to_string(port_) + "/api/v1"; }
  int requests() const { return requests_.load(); }
  bool stopping() const { return stopping_.load(); }

  // Writes all of `data` (false once the peer is gone or the server stops).
  bool send(int fd, const std::string& data) {
    size_t off = 0;
    while (off < data.size() && !stopping()) {
      ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        return false;
      }
      off += static_cast<size_t>(n);
    }
    return off == data.size();
  }
  // Blocks until the server stops or the peer closes.
  void holdOpen(int fd) {
    char buf[4096];
    while (!stopping()) {
      pollfd p{fd, POLLIN, 0};
      int r = ::poll(&p, 1, 100);
      if (r > 0) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
          return;
        }
      }
    }
  }

 private:
  void acceptLoop() {
    while (!stopping()) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) {
        continue;
      }
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        continue;
      }
      std::lock_guard<std::mutex> lock(mu_);
      fds_.push_back(fd);
      threads_.emplace_back([this, fd] { serve(fd); });
    }
  }

  void serve(int fd) {
    while (!stopping()) {
      std::string request;
      if (!readRequest(fd, &request)) {
        return;
      }
      ++requests_;
      script_(*this, fd, request);  // Then the next request on this connection, if any.
    }
  }

  bool readRequest(int fd, std::string* out) {
    std::string buf;
    char chunk[65536];
    size_t head_end = std::string::npos;
    size_t want = 0;
    while (!stopping()) {
      if (head_end == std::string::npos) {
        head_end = buf.find("\r\n\r\n");
        if (head_end != std::string::npos) {
          std::string lower = buf.substr(0, head_end);
          for (char& c : lower) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          }
          size_t cl = lower.find("content-length:");
          want = head_end + 4 + (cl == std::string::npos ? 0 : std::stoul(lower.substr(cl + 15)));
        }
      }
      if (head_end != std::string::npos && buf.size() >= want) {
        *out = std::move(buf);
        return true;
      }
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) {
        continue;
      }
      ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) {
        return false;
      }
      buf.append(chunk, static_cast<size_t>(n));
    }
    return false;
  }

  Script script_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<int> fds_;              // Guarded by mu_.
  std::vector<std::thread> threads_;  // Guarded by mu_.
};

}  // namespace llmq::testing
