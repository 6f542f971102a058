// Descriptor headroom for listeners. llmqd takes every connection it accepts
// from the same RLIMIT_NOFILE as its database, its upstream transfers and its
// other listeners. A listener that accepted until accept(2) failed with EMFILE
// would leave the daemon nothing for its own work, and libuv would then close
// what waits in the backlog without a word. So each listener keeps a connection
// only while descriptorsLow() says enough remain; otherwise it answers the
// connection with its protocol's refusal and closes it at once, in the same
// callback, which gives the descriptor back before the next accept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

namespace llmq {

// Descriptors kept free for the daemon's own use: RLIMIT_NOFILE / 16, clamped
// to [8, 64]. `limit` is the soft limit.
size_t descriptorHeadroom(size_t limit);

// True if, with `accepted_fd` just accepted, fewer than descriptorHeadroom()
// descriptors remain: accept(2) hands out the lowest free number, so every
// descriptor below `accepted_fd` is in use; a probe (one dup) also catches the
// case where none at all is left. Cheap: getrlimit, fcntl and close.
bool descriptorsLow(int accepted_fd);

// The sentence a refusal gives, with the numbers.
std::string descriptorsLowReason();

// Best effort, for a connection about to be closed: reads (without blocking,
// at most 64 KiB) what the peer already sent, so that closing does not reset
// the connection and discard the refusal written to it.
void drainReadable(int fd);

// Counts a listener's refusals for want of descriptors and logs them at most
// once every 10 s, with how many there were: they may come by the thousand.
// Loop thread only.
class DescriptorRefusals {
 public:
  // `listener` names it in the log ("the HTTP front"); `advice` says what to change.
  DescriptorRefusals(std::string listener, std::string advice)
      : listener_(std::move(listener)), advice_(std::move(advice)) {}
  void note(uint64_t now_ms);

 private:
  std::string listener_;
  std::string advice_;
  uint64_t refused_ = 0;  // Since the last log line.
  uint64_t logged_ms_ = 0;
};

}  // namespace llmq
