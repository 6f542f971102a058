// UvTimer: a libuv timer and the callable it runs, owned by one object. The
// handle and the callable live on the heap together and are freed only in the
// handle's close callback, so the owner may go at any time while the loop runs,
// even from inside the callable: a closed timer never fires, and the callable
// being run stays alive until it returns. Header only, as common/uv_handle.h:
// common/ links no libuv; the layers that run a loop do.
#pragma once

#include <uv.h>

#include "common/callback_guard.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <utility>

namespace llmq {

// A timer on the loop's monotonic clock (uv_now). start(ms) fires once after ms;
// starting it again before then moves the deadline; stop() cancels. With a repeat
// it fires every repeat_ms until stopped. Loop thread only; like every handle, its
// owner is destroyed before the loop closes and the loop runs once more to free it.
class UvTimer {
 public:
  // A timer without a handle: start() does nothing and nothing fires. The state of
  // a member made later, or of an owner that runs without a loop.
  UvTimer() = default;

  // A timer on `loop` that calls `on_fire` each time it fires. If libuv cannot
  // make the handle the timer is empty, as the default one.
  UvTimer(uv_loop_t* loop, std::function<void()> on_fire) {
    auto* h = new Handle{uv_timer_t{}, std::move(on_fire)};
    if (uv_timer_init(loop, &h->timer) != 0) {
      delete h;
      return;
    }
    h->timer.data = h;
    handle_.reset(h);
  }

  // Moving hands the handle over; assigning to a timer closes the handle it had.
  UvTimer(UvTimer&&) noexcept = default;
  UvTimer& operator=(UvTimer&&) noexcept = default;
  UvTimer(const UvTimer&) = delete;
  UvTimer& operator=(const UvTimer&) = delete;
  // Closes the handle: a pending firing never comes.
  ~UvTimer() = default;

  // Fires after delay_ms (0: in the loop's next iteration), then every repeat_ms
  // if repeat_ms > 0. Replaces the deadline set before, pending or not.
  void start(uint64_t delay_ms, uint64_t repeat_ms = 0) {
    if (handle_) {
      uv_timer_start(&handle_->timer, &UvTimer::onFire, delay_ms, repeat_ms);
    }
  }

  // Cancels the pending firing, if any; start() arms it again.
  void stop() {
    if (handle_) {
      uv_timer_stop(&handle_->timer);
    }
  }

  // Closes the handle now, for an owner that empties the loop before it goes; the
  // timer is empty from here on.
  void close() { handle_.reset(); }

  // The loop does not stay alive for this timer alone (uv_unref).
  void unref() {
    if (handle_) {
      uv_unref(reinterpret_cast<uv_handle_t*>(&handle_->timer));
    }
  }

  // True while a firing is pending.
  bool pending() const {
    return handle_ && uv_is_active(reinterpret_cast<const uv_handle_t*>(&handle_->timer)) != 0;
  }

  // False for an empty timer (default, closed, or moved from): it never fires.
  explicit operator bool() const { return handle_ != nullptr; }

 private:
  struct Handle {
    uv_timer_t timer;
    std::function<void()> on_fire;
  };

  // Closing is the only way a Handle goes: its memory is freed by the close callback.
  struct Closer {
    void operator()(Handle* h) const noexcept {
      uv_close(reinterpret_cast<uv_handle_t*>(&h->timer),
               [](uv_handle_t* closed) { delete static_cast<Handle*>(closed->data); });
    }
  };

  // Runs the callable through the Handle, not the UvTimer: if the callable
  // destroys its owner, the Handle waits for its close callback, after this returns.
  // What a timer's work leaves half-done when an exception cuts it short (a job
  // moved in the store but not in memory) cannot be unwound from here, so an
  // escaping exception stops the process (common/callback_guard.h); a callable
  // with a gentler way out catches its own.
  static void onFire(uv_timer_t* t) noexcept {
    auto* h = static_cast<Handle*>(t->data);
    if (h->on_fire) {
      guardCallbackOrAbort("a timer's callback", [h] { h->on_fire(); });
    }
  }

  std::unique_ptr<Handle, Closer> handle_;
};

}  // namespace llmq
