// Ownership of libuv handles: a heap-allocated handle lives in a
// UvHandlePtr, and its memory is released only from the uv_close callback. Owners
// set handle->data right after init, in their constructor.
#pragma once

#include <uv.h>

#include <memory>

namespace llmq {

struct UvCloser {
  template <class H>
  void operator()(H* h) const noexcept {
    auto* base = reinterpret_cast<uv_handle_t*>(h);
    if (!uv_is_closing(base)) {
      uv_close(base, [](uv_handle_t* p) { delete reinterpret_cast<H*>(p); });
    }
    // A handle already closing was closed with its own callback, which frees it.
  }
};

template <class H>
using UvHandlePtr = std::unique_ptr<H, UvCloser>;

// Allocates and initialises a handle with `init(loop, h, args...)`; returns null if
// init failed (then nothing needs closing and the memory is freed directly).
template <class H, class Init, class... Args>
UvHandlePtr<H> makeUvHandle(uv_loop_t* loop, void* data, Init init, Args... args) {
  auto* h = new H{};
  if (init(loop, h, args...) != 0) {
    delete h;
    return UvHandlePtr<H>();
  }
  h->data = data;
  return UvHandlePtr<H>(h);
}

}  // namespace llmq
