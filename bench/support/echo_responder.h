// EchoResponder: the transport ceiling. A trivial JSON-RPC responder on a Unix
// socket, in a thread of the benchmark process: it reads request lines and, for
// each, writes a fixed small job.submit-shaped result carrying the request's id.
// No parsing, no storage, one write per read. It is the best any daemon could do
// over this socket with this client. Serves one connection, then its thread ends.
#pragma once

#include <atomic>
#include <string>
#include <thread>

#include "common/result.h"
#include "tests/support/temp_dir.h"

namespace llmq::bench {

class EchoResponder {
 public:
  EchoResponder() = default;
  // Wakes the thread (no client yet, or a client that never closed) and joins it.
  ~EchoResponder();
  EchoResponder(const EchoResponder&) = delete;
  EchoResponder& operator=(const EchoResponder&) = delete;

  // Binds and listens, then serves in a thread.
  Result<void> start();
  const std::string& socketPath() const { return path_; }

 private:
  void serve() noexcept;

  testing::TempDir dir_;
  std::string path_;
  int listen_fd_ = -1;
  // The accepted connection; closed by the destructor after the join, so it can
  // shut it down to wake a blocked recv.
  std::atomic<int> conn_fd_{-1};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace llmq::bench
