// SteppedClock: the system's clocks, with a wall clock a test can step, as
// settimeofday, an NTP step or a resumed machine steps the real one. The
// monotonic clock is left alone, as those leave it.
#pragma once

#include <cstdint>

#include "common/time.h"

namespace llmq::testing {

class SteppedClock final : public Clock {
 public:
  int64_t nowMs() const override { return wallMs() + offset_ms_; }
  // Moves the wall clock by `ms` (negative: back) from now on.
  void step(int64_t ms) { offset_ms_ += ms; }

 private:
  int64_t offset_ms_ = 0;
};

}  // namespace llmq::testing
