// waitUntil: the one bounded poll of the test support, for a state that has no
// event to wait on (a log line, a row, a job's state seen through job.get). It
// checks at once, then every poll_ms until the state holds or timeout_ms pass,
// so a loaded machine only makes a test slower, never wrong. Header-only.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

namespace llmq::testing {

// Succeeds as soon as `done()` is true; fails, naming `what`, once timeout_ms
// have passed without it.
inline ::testing::AssertionResult waitUntil(const std::function<bool()>& done, int timeout_ms,
                                            const std::string& what = "the condition", int poll_ms = 50) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (done()) {
      return ::testing::AssertionSuccess();
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return ::testing::AssertionFailure() << what << " did not hold within " << timeout_ms << " ms";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(poll_ms));
  }
}

}  // namespace llmq::testing
