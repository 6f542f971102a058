// daemon::CommitCycle batches the daemon's writes: everything that changes during
// one loop turn goes into one store transaction, committed at the end of the turn
// (docs/architecture.md; what a store must guarantee for it is the turn contract
// in store/store.h). Work that must only be seen once its writes are durable (a submit's
// acknowledgement, an event) is queued with afterCommit() and runs after COMMIT.
//
// When a turn's transaction is lost (the disk or [store] max_page_count is full:
// the store rolls it back, or COMMIT fails), its callbacks run with false and the
// callers answer -32006: nothing of the turn is stored. Some work cannot simply be
// refused, though: a running job that ends has already had its transfer, its
// events and its cost. Such work runs as a unit (beginUnit / endUnit): if the turn
// is lost, the unit is kept in memory with a `redo` that writes the same outcome
// again, and its callbacks (the job's final events, the answers to `wait: true`)
// are held. Kept units are written again in a transaction of their own, first
// after kRetryFirstMs then backing off to kRetryMaxMs, until one commits; then
// their callbacks run, with true. If llmqd stops before that, close() gives up on
// them: those jobs are still `running` in the database and the next start
// recovers them like jobs interrupted by a crash (docs/operations.md, Disk space).
//
// Loop thread only. Owned by the Engine; the Store outlives it. The retry
// timer (only with a loop) is closed by close(), freed in its close callback.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/uv_timer.h"

namespace llmq::store {
class Store;
}

namespace llmq::daemon {

class CommitCycle {
 public:
  static constexpr uint64_t kRetryFirstMs = 100;
  static constexpr uint64_t kRetryMaxMs = 2000;

  // Without a loop there is no retry timer: retryKept() is called by hand (tests).
  explicit CommitCycle(store::Store& store, uv_loop_t* loop = nullptr);
  ~CommitCycle();
  CommitCycle(const CommitCycle&) = delete;
  CommitCycle& operator=(const CommitCycle&) = delete;

  // Opens the turn's write transaction if it is not open yet. Call before any write.
  Result<void> write();
  bool open() const { return open_; }

  // Runs fn(committed) once the turn's transaction has ended, in the order queued;
  // at once, with committed = true, when no transaction is open. Inside a unit,
  // fn runs only once the unit is stored, always with true.
  void afterCommit(std::function<void(bool committed)> fn);

  // Commits the open transaction (if any) and runs the queued callbacks. If the
  // commit fails the transaction is rolled back, callbacks outside units see
  // false and units are kept. Returns whether the commit succeeded (true when
  // there was nothing to commit).
  bool commit();

  // A unit of work that must not be lost (see the header comment). Call
  // beginUnit() after write() succeeded, make the writes and queue the callbacks,
  // then endUnit() with `redo`, which makes the same writes again in a later
  // transaction, and nothing else: what must follow in memory once the unit is
  // stored belongs in its callbacks. `what` names the unit in logs. Units nest;
  // an inner unit's callbacks belong to it.
  void beginUnit();
  void endUnit(std::string what, std::function<Result<void>()> redo);

  // Writes the kept units again in a transaction of their own and commits it. Does
  // nothing while a turn's transaction is open (the timer tries again shortly).
  // Returns whether no unit is left kept.
  bool retryKept();
  // Space may be back (SIGHUP raised [store] max_page_count): retry soon.
  void retrySoon();
  size_t kept() const { return kept_.size(); }

  // Called whenever a transaction is lost, before its callbacks run (the Daemon
  // reloads its queue counters: they may have counted rolled-back changes).
  void setOnLost(std::function<void()> fn) { on_lost_ = std::move(fn); }

  // Shutdown: one last retry of the kept units; those still not stored are given
  // up (logged, callbacks run with false). Closes the timer.
  void close();

  uint64_t commits() const { return commits_; }
  uint64_t failedCommits() const { return failed_commits_; }

 private:
  struct Pending {
    std::function<void(bool)> fn;
    uint64_t unit = 0;  // 0: the turn's, else the unit it belongs to.
  };
  struct Unit {
    uint64_t id = 0;
    std::string what;
    std::function<Result<void>()> redo;
    std::vector<std::function<void(bool)>> callbacks;  // In the order queued.
  };

  // The transaction in progress is gone: callbacks outside units run with false,
  // units (with their callbacks) move to kept_. `retrying`: they were kept before
  // (no new warning in the log).
  void lost(bool retrying = false);
  void runCallbacks();
  void armRetry();

  store::Store& store_;
  UvTimer retry_timer_;  // Kept units are due to be written again.
  bool open_ = false;
  std::vector<Pending> callbacks_;
  std::vector<uint64_t> unit_stack_;  // Units begun and not ended, innermost last.
  std::vector<Unit> units_;           // Units of the open transaction.
  std::vector<Unit> kept_;            // Units of lost transactions, oldest first.
  uint64_t next_unit_ = 1;
  uint64_t retry_delay_ms_ = kRetryFirstMs;
  std::function<void()> on_lost_;
  uint64_t commits_ = 0;
  uint64_t failed_commits_ = 0;
};

}  // namespace llmq::daemon
