// LoopTest: a GoogleTest fixture owning a private uv_loop_t. TearDown closes
// whatever is still open, runs the loop dry and checks uv_loop_close() == 0, so
// every loop test proves it leaked no handle.
#pragma once

#include <gtest/gtest.h>
#include <uv.h>

#include <chrono>

namespace llmq::testing {

class LoopTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(0, uv_loop_init(&loop_)); }
  void TearDown() override {
    uv_walk(
        &loop_,
        [](uv_handle_t* h, void*) {
          if (!uv_is_closing(h)) {
            ADD_FAILURE() << "handle of type " << uv_handle_type_name(h->type) << " left open";
            uv_close(h, nullptr);
          }
        },
        nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(0, uv_loop_close(&loop_));
  }

  // Runs the loop until `done()` or `timeout_ms` passes; returns done().
  template <class Pred>
  bool runUntil(Pred done, int timeout_ms = 5000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      uv_run(&loop_, UV_RUN_NOWAIT);
      if (!done()) {
        uv_sleep(1);
      }
    }
    return done();
  }

  uv_loop_t loop_{};
};

}  // namespace llmq::testing
