// Wall-clock time for timestamps (milliseconds since the Unix epoch) and its RFC 3339
// rendering, and the monotonic clock for durations. A Clock can be injected in tests.
#pragma once

#include <cstdint>
#include <string>

namespace llmq {

// Milliseconds since 1970-01-01T00:00:00Z.
int64_t wallMs();
// Milliseconds on the monotonic clock (CLOCK_MONOTONIC, from an arbitrary start):
// for durations, which a step of the wall clock must not stretch or cut.
int64_t steadyMs();

// "2026-11-24T02:46:07.123Z". Appends to `out` to avoid a temporary on hot paths.
void appendRfc3339(std::string& out, int64_t ms);
std::string rfc3339(int64_t ms);
// Parses the subset of RFC 3339 that rfc3339() writes, with or without fraction,
// "Z" or a numeric offset. Returns false on anything else.
bool parseRfc3339(const std::string& text, int64_t* ms);

// The source of "now" for scheduling; tests replace it. nowMs() for instants that
// are stored or shown (timestamps, deadline_at, retry times); monoMs() for waits
// held in memory, which a step of the wall clock must not shorten or stretch.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t nowMs() const = 0;
  // The monotonic clock beside it (WallStepWatch compares the two).
  virtual int64_t monoMs() const { return steadyMs(); }
};

class SystemClock final : public Clock {
 public:
  int64_t nowMs() const override { return wallMs(); }
};

// Notices steps of the wall clock (settimeofday, an NTP step, a VM resumed) by
// comparing it with the monotonic clock. Waits held only in memory (rate-limit
// cooldowns and windows, circuit breakers) are on the monotonic clock and need
// no watching. Retry times of jobs are wall-clock times, stored with the job;
// their owner (daemon/jobs/scheduler.cc) shifts them by each step, so a retry 2 s
// ahead stays 2 s ahead when the clock is set back an hour. Drift below
// kToleranceMs (slewing, the two reads being a few microseconds apart) is not a
// step; such steps add up until their sum reaches it.
class WallStepWatch {
 public:
  static constexpr int64_t kToleranceMs = 250;

  explicit WallStepWatch(const Clock& clock) : clock_(clock), offset_(clock.nowMs() - clock.monoMs()) {}
  // How far the wall clock stepped since the last call that returned a step
  // (negative: back), or 0.
  int64_t step() {
    // The wall clock read between two monotonic reads: a thread descheduled
    // between the reads (a busy machine) would look like a step, so such a
    // reading is not used.
    const int64_t before = clock_.monoMs();
    const int64_t wall = clock_.nowMs();
    const int64_t after = clock_.monoMs();
    if (after - before > kToleranceMs / 4) {
      return 0;
    }
    const int64_t offset = wall - (before + after) / 2;
    const int64_t delta = offset - offset_;
    if (delta > -kToleranceMs && delta < kToleranceMs) {
      return 0;
    }
    offset_ = offset;
    return delta;
  }

 private:
  const Clock& clock_;
  int64_t offset_;
};

}  // namespace llmq
