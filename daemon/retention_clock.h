// daemon::ClockSteps: how far the wall clock has jumped, so that a jump never
// makes Retention prune what is really young. Finished jobs and ledger rows are
// stamped with the wall clock; a machine without a battery-backed clock that
// boots in the past and is then set right by NTP jumps forward by months, and
// everything stamped before the jump looks that much older than it is.
//
// The rule: the wall clock is compared, at every retention pass (and at start),
// with CLOCK_BOOTTIME, which no one can set and which also runs through suspend.
// When (wall - boottime) grew by more than kToleranceMs plus 1 ms per second since
// the last look (NTP slews at most 0.5 ms/s), the wall clock stepped forward by
// the difference; a shrink is a backward step. Each step is remembered for as
// long as the longest retention age (real time, on CLOCK_BOOTTIME). A job
// stamped before the steps looks older than it is by at most their sum, so a
// cutoff for age A is moved back by allowance(A): the largest sum of the steps
// seen within A that follow any one point in time (never below 0). Once A of
// real time has passed since a step, everything stamped before it is really
// older than A, and the step no longer counts.
//
// Consequences: a forward jump never shortens retention; data stamped after a
// jump may be kept up to the jump's size longer (at most A after the jump). A
// backward jump keeps data longer by its size, never shorter. The steps, the last
// offset and the boot id are kept in the database (settings), so a restart in the
// same boot also sees a jump made while llmqd was down; across a reboot, a step
// is counted from the restart (downtime is not real time we can prove), and a
// jump made while the machine was off cannot be told from the downtime itself.
//
// Pure (the caller passes both clocks): loop thread only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace llmq::daemon {

class ClockSteps {
 public:
  struct Step {
    int64_t delta_ms = 0;  // > 0: the wall clock jumped forward.
    int64_t seen_ms = 0;   // CLOCK_BOOTTIME when it was seen.
  };
  static constexpr int64_t kToleranceMs = 1000;
  static constexpr size_t kMaxSteps = 32;  // Older ones are merged (conservatively).

  // Compares the wall clock with the boot clock; records a step if there was one.
  void observe(int64_t wall_ms, int64_t boot_ms);
  // Forgets steps seen more than hold_ms ago (boot clock).
  void forget(int64_t boot_ms, int64_t hold_ms);
  // How much older than it is a row stamped up to age_ms ago may look now.
  int64_t allowance(int64_t boot_ms, int64_t age_ms) const;
  const std::vector<Step>& steps() const { return steps_; }

  // Saved with the boot id, so load() tells a restart from a reboot.
  std::string toJson(std::string_view boot_id, int64_t boot_ms) const;
  // Restores what toJson() saved; false (nothing changed) when `text` is not that.
  bool load(std::string_view text, std::string_view boot_id, int64_t boot_ms);

 private:
  std::vector<Step> steps_;
  bool have_offset_ = false;
  int64_t offset_ms_ = 0;  // wall - boot at the last observe().
  int64_t last_boot_ms_ = 0;
};

// CLOCK_BOOTTIME in milliseconds, and /proc/sys/kernel/random/boot_id ("" if unreadable).
int64_t bootMs();
std::string bootId();

}  // namespace llmq::daemon
