// Signals: three uv_signal_t handles sharing one callback.
#include "daemon/signals.h"

#include <csignal>

#include "common/log.h"

namespace llmq::daemon {

Signals::Signals(uv_loop_t* loop, Callbacks callbacks)
    : callbacks_(std::move(callbacks)),
      int_(makeUvHandle<uv_signal_t>(loop, this, uv_signal_init)),
      term_(makeUvHandle<uv_signal_t>(loop, this, uv_signal_init)),
      hup_(makeUvHandle<uv_signal_t>(loop, this, uv_signal_init)) {
  uv_signal_start(int_.get(), &Signals::onUvSignal, SIGINT);
  uv_signal_start(term_.get(), &Signals::onUvSignal, SIGTERM);
  uv_signal_start(hup_.get(), &Signals::onUvSignal, SIGHUP);
}

void Signals::close() {
  int_.reset();
  term_.reset();
  hup_.reset();
}

// Called by libuv on the loop thread after a signal arrived.
void Signals::onUvSignal(uv_signal_t* h, int signum) noexcept {
  auto* self = static_cast<Signals*>(h->data);
  try {
    if (signum == SIGHUP) {
      if (self->callbacks_.on_reload) {
        self->callbacks_.on_reload();
      }
    } else if (self->callbacks_.on_stop) {
      self->callbacks_.on_stop(signum);
    }
  } catch (const std::exception& e) {
    LOG_ERROR("handling signal %d: %s", signum, e.what());
  }
}

}  // namespace llmq::daemon
