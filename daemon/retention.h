// daemon::Retention keeps the SQLite database from growing without bound: a
// process concern of the SQLite backend, so it works on the file's own tables
// (store::JobStore, store::UsageStore), not through the engine's store::Store. Every
// `[retention] check_s` it makes one pass, one batch per loop turn, so a large
// backlog never holds the loop:
//   1. Finished jobs lose their request and result bodies after
//      `finished_jobs_days` (default 30): the job row, its state, usage, cost and
//      error code stay, and so does the ledger, so reports and budgets are
//      unchanged. A pruned job cannot be retried (its request is gone).
//   2. Ledger rows (attempts) older than `ledger_days` (default 400) are deleted,
//      whole UTC days at a time; the daily rollups already hold their figures and
//      answer for those days from then on (store/usage_store.h).
//   Ages are measured against the wall clock less what it has jumped forward
//   lately (daemon/retention_clock.h): a clock set forward by a year prunes
//   nothing that is really younger than its retention.
//   3. The pages freed go back to the file system: PRAGMA incremental_vacuum,
//      kVacuumPages per turn, until the free list is empty (databases that are
//      not in incremental auto-vacuum mode just reuse them).
// Loop thread only. close() closes the timer, freed in its close callback.
#pragma once

#include <uv.h>

#include <cstdint>
#include <string>

#include "common/uv_timer.h"
#include "daemon/retention_clock.h"
#include "daemon/turn/run_state.h"
#include "store/job_store.h"
#include "store/usage_store.h"

namespace llmq {
class Clock;
namespace store {
class Database;
class SettingsStore;
}  // namespace store
}  // namespace llmq

namespace llmq::daemon {

struct Config;
class CommitCycle;
class UserQuota;

class Retention {
 public:
  static constexpr int64_t kBatch = 500;        // Jobs or ledger rows per turn.
  static constexpr int64_t kVacuumPages = 256;  // 1 MiB of 4 KiB pages per turn.

  // What it prunes, and whom it tells about the room that freed.
  struct Parts {
    uv_loop_t* loop;
    const Config& config;
    const Clock& clock;
    store::Database& db;
    CommitCycle& cycle;
    store::SettingsStore& settings;
    UserQuota& quota;
    const RunState& run;
  };
  explicit Retention(Parts parts);
  // (Re)arms the timer for a pass after check_s; also after a reload.
  void init();
  void close();

 private:
  enum class Step { kDone, kMore };
  // One batch of the pass: bodies first, then the ledger, then the free pages.
  void pass();
  Step pruneBodies();
  Step pruneLedger();
  Step vacuum();
  void arm(uint64_t delay_ms);
  // Looks at the clocks (ClockSteps::observe) and forgets steps no age needs.
  void observeClock();
  // Keeps the steps in the database, so a restart still counts them.
  void saveClock();
  // now - age_ms, moved back by what the clock jumped within age_ms.
  int64_t cutoff(int64_t age_ms) const;

  Parts p_;
  store::JobStore jobs_;     // The bodies of finished jobs, on p_.db.
  store::UsageStore usage_;  // The ledger, on p_.db.
  UvTimer timer_;            // A pass, or its next batch, is due.
  ClockSteps clock_steps_;
  bool clock_loaded_ = false;
  std::string saved_clock_;  // What saveClock() wrote last.
};

}  // namespace llmq::daemon
