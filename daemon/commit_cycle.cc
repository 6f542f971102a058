// CommitCycle: lazily opened BEGIN IMMEDIATE, one COMMIT per turn.
#include "daemon/commit_cycle.h"

#include "common/log.h"
#include "store/database.h"

namespace llmq::daemon {

Result<void> CommitCycle::write() {
  if (open_ && !db_.inTransaction()) {
    // SQLite rolled the turn back on its own (e.g. SQLITE_FULL in a statement).
    // What was queued belonged to the lost transaction: tell it so, then start
    // afresh, so later writes of this turn are not silently autocommitted.
    LOG_ERROR("the turn's transaction was rolled back by SQLite; its writes are lost");
    open_ = false;
    ++failed_commits_;
    runCallbacks(false);
  }
  if (open_) {
    return {};
  }
  if (auto r = db_.begin(); !r) {
    return r;
  }
  open_ = true;
  return {};
}

void CommitCycle::afterCommit(std::function<void(bool)> fn) {
  if (!open_) {
    fn(true);
    return;
  }
  callbacks_.push_back(std::move(fn));
}

bool CommitCycle::commit() {
  if (!open_) {
    return true;
  }
  bool ok;
  if (!db_.inTransaction()) {
    // SQLite rolled the transaction back on its own (e.g. SQLITE_FULL during a write).
    LOG_ERROR("the turn's transaction was rolled back by SQLite; its writes are lost");
    ok = false;
  } else if (auto r = db_.commit(); !r) {
    LOG_ERROR("committing: %s", r.error().message.c_str());
    db_.rollback();
    ok = false;
  } else {
    ok = true;
  }
  open_ = false;
  ok ? ++commits_ : ++failed_commits_;
  runCallbacks(ok);
  return ok;
}

void CommitCycle::runCallbacks(bool committed) {
  // Callbacks may write again (opening the next transaction) and queue more.
  std::vector<std::function<void(bool)>> run;
  run.swap(callbacks_);
  for (auto& fn : run) {
    fn(committed);
  }
}

}  // namespace llmq::daemon
