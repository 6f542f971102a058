// daemon::Signals turns SIGINT, SIGTERM and SIGHUP into loop events:
// nothing runs in signal context. The owner gets plain callbacks on the loop.
// Loop thread only; close() before the loop is closed.
#pragma once

#include <uv.h>

#include <functional>

#include "common/uv_handle.h"

namespace llmq::daemon {

class Signals {
 public:
  struct Callbacks {
    std::function<void(int signum)> on_stop;  // SIGINT or SIGTERM.
    std::function<void()> on_reload;          // SIGHUP.
  };
  Signals(uv_loop_t* loop, Callbacks callbacks);
  void close();

 private:
  static void onUvSignal(uv_signal_t* h, int signum) noexcept;

  Callbacks callbacks_;
  UvHandlePtr<uv_signal_t> int_;
  UvHandlePtr<uv_signal_t> term_;
  UvHandlePtr<uv_signal_t> hup_;
};

}  // namespace llmq::daemon
