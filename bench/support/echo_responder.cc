// The echo responder's loop: blocking recv, answer every complete line of the
// chunk in one send. Bounded: accept waits in 100 ms polls and gives up when the
// owner is destroyed; the connection ends when the client closes it.
#include "bench/support/echo_responder.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace llmq::bench {
namespace {

// What llmqd answers to a submit, minus the work.
constexpr char kResultTail[] =
    ",\"result\":{\"job_id\":\"j000000000001\",\"state\":\"queued\",\"deduplicated\":false}}\n";

bool sendAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

EchoResponder::~EchoResponder() {
  stopping_ = true;
  if (int fd = conn_fd_.load(); fd >= 0) {
    ::shutdown(fd, SHUT_RDWR);
  }
  if (thread_.joinable()) {
    thread_.join();
  }
  if (int fd = conn_fd_.load(); fd >= 0) {
    ::close(fd);
  }
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
  }
}

Result<void> EchoResponder::start() {
  path_ = dir_.file("echo.sock");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 4) != 0) {
    return makeError(ErrorKind::kIo, "echo responder on " + path_ + ": " + std::strerror(errno));
  }
  thread_ = std::thread([this] { serve(); });
  return {};
}

void EchoResponder::serve() noexcept {
  int fd = -1;
  while (fd < 0 && !stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) > 0) {
      fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    }
  }
  if (fd < 0) {
    return;
  }
  conn_fd_ = fd;
  if (stopping_) {
    return;  // The destructor may have looked before conn_fd_ was set.
  }
  std::string in;
  std::string out;
  size_t pos = 0;
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    in.append(buf, static_cast<size_t>(n));
    out.clear();
    for (size_t nl; (nl = in.find('\n', pos)) != std::string::npos; pos = nl + 1) {
      // The id is the number after "id": (ipc::makeRequest puts it first).
      std::string_view line(in.data() + pos, nl - pos);
      size_t at = line.find("\"id\":");
      size_t end = at == std::string_view::npos ? at : line.find_first_of(",}", at + 5);
      out += "{\"jsonrpc\":\"2.0\",\"id\":";
      out += end == std::string_view::npos ? std::string_view("null") : line.substr(at + 5, end - at - 5);
      out += kResultTail;
    }
    in.erase(0, pos);
    pos = 0;
    if (!out.empty() && !sendAll(fd, out)) {
      break;
    }
  }
}

}  // namespace llmq::bench
