#include "common/descriptors.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "common/log.h"

namespace llmq {
namespace {

size_t softLimit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) {
    return static_cast<size_t>(1) << 20;
  }
  return static_cast<size_t>(rl.rlim_cur);
}

}  // namespace

size_t descriptorHeadroom(size_t limit) { return std::clamp<size_t>(limit / 16, 8, 64); }

bool descriptorsLow(int accepted_fd) {
  if (accepted_fd < 0) {
    return false;
  }
  const size_t limit = softLimit();
  const size_t headroom = descriptorHeadroom(limit);
  if (static_cast<size_t>(accepted_fd) + 1 + headroom > limit) {
    return true;
  }
  const int probe = ::fcntl(accepted_fd, F_DUPFD_CLOEXEC, 0);
  if (probe < 0) {
    return true;
  }
  ::close(probe);
  return false;
}

std::string descriptorsLowReason() {
  const size_t limit = softLimit();
  return "llmqd is running out of file descriptors (RLIMIT_NOFILE " + std::to_string(limit) + ", " +
         std::to_string(descriptorHeadroom(limit)) + " kept for its own use); try again later";
}

void drainReadable(int fd) {
  char buf[4096];
  for (int i = 0; i < 16; ++i) {
    if (::recv(fd, buf, sizeof buf, MSG_DONTWAIT) <= 0) {
      return;
    }
  }
}

void DescriptorRefusals::note(uint64_t now_ms) {
  ++refused_;
  if (logged_ms_ != 0 && now_ms - logged_ms_ < 10'000) {
    return;
  }
  LOG_WARN("%s: refusing connections: out of file descriptors (%llu refused since the last report); %s",
           listener_.c_str(), static_cast<unsigned long long>(refused_), advice_.c_str());
  logged_ms_ = now_ms;
  refused_ = 0;
}

}  // namespace llmq
