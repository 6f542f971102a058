// daemon::CommitCycle batches the daemon's writes: everything that changes during
// one loop turn goes into one SQLite transaction, committed at the end of the turn
// (DESIGN §1). Work that must only be seen once its writes are durable (a submit's
// acknowledgement, an event) is queued with afterCommit() and runs after COMMIT.
//
// Loop thread only. Owned by the Daemon; the Database outlives it.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "common/result.h"

namespace llmq::store {
class Database;
}

namespace llmq::daemon {

class CommitCycle {
 public:
  explicit CommitCycle(store::Database& db) : db_(db) {}

  // Opens the turn's write transaction if it is not open yet. Call before any write.
  Result<void> write();
  bool open() const { return open_; }

  // Runs fn(committed) once the turn's transaction has ended, in the order queued;
  // at once, with committed = true, when no transaction is open.
  void afterCommit(std::function<void(bool committed)> fn);

  // Commits the open transaction (if any) and runs the queued callbacks. If the
  // commit fails the transaction is rolled back and callbacks see false. Returns
  // whether the commit succeeded (true when there was nothing to commit).
  bool commit();

  uint64_t commits() const { return commits_; }
  uint64_t failedCommits() const { return failed_commits_; }

 private:
  void runCallbacks(bool committed);

  store::Database& db_;
  bool open_ = false;
  std::vector<std::function<void(bool)>> callbacks_;
  uint64_t commits_ = 0;
  uint64_t failed_commits_ = 0;
};

}  // namespace llmq::daemon
