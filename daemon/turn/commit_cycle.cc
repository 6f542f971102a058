// CommitCycle: lazily opened BEGIN IMMEDIATE, one COMMIT per turn, and the units
// that outlive a lost turn.
#include "daemon/turn/commit_cycle.h"

#include <algorithm>
#include <cassert>

#include "common/log.h"
#include "store/store.h"

namespace llmq::daemon {

CommitCycle::CommitCycle(store::Store& store, uv_loop_t* loop) : store_(store) {
  if (loop != nullptr) {
    retry_timer_ = UvTimer(loop, [this] { retryKept(); });
  }
}

CommitCycle::~CommitCycle() = default;

Result<void> CommitCycle::write() {
  if (open_ && !store_.inTransaction()) {
    // The store rolled the turn back on its own (SQLITE_FULL in a statement). What
    // was queued belonged to the lost transaction: settle that, then start
    // afresh, so later writes of this turn are not silently autocommitted.
    // A unit never calls write() between beginUnit and endUnit: its writes and
    // its redo must be in one transaction.
    assert(unit_stack_.empty());
    LOG_ERROR("the turn's transaction was rolled back by SQLite (disk full?); its writes are lost");
    lost();
  }
  if (open_) {
    return {};
  }
  if (auto r = store_.begin(); !r) {
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
  callbacks_.push_back(Pending{std::move(fn), unit_stack_.empty() ? 0 : unit_stack_.back()});
}

bool CommitCycle::commit() {
  if (!open_) {
    return true;
  }
  if (!store_.inTransaction()) {
    // The store rolled the transaction back on its own (e.g. SQLITE_FULL during a write).
    LOG_ERROR("the turn's transaction was rolled back by SQLite (disk full?); its writes are lost");
    lost();
    return false;
  }
  if (auto r = store_.commit(); !r) {
    LOG_ERROR("committing: %s", r.error().message.c_str());
    lost();
    return false;
  }
  open_ = false;
  ++commits_;
  runCallbacks();
  return true;
}

void CommitCycle::beginUnit() { unit_stack_.push_back(next_unit_++); }

void CommitCycle::endUnit(std::string what, std::function<Result<void>()> redo) {
  assert(!unit_stack_.empty());
  const uint64_t id = unit_stack_.back();
  unit_stack_.pop_back();
  if (!open_) {
    return;  // No transaction: its writes went straight to disk, its callbacks ran.
  }
  units_.push_back(Unit{id, std::move(what), std::move(redo), {}});
}

void CommitCycle::runCallbacks() {
  // Callbacks may write again (opening the next transaction) and queue more, so
  // take everything first. Units that were kept before ran their writes again in
  // this transaction: their held callbacks are older than the turn's.
  std::vector<Unit> units;
  units.swap(units_);
  std::vector<Pending> run;
  run.swap(callbacks_);
  for (Unit& u : units) {
    for (auto& fn : u.callbacks) {
      fn(true);
    }
  }
  for (Pending& p : run) {
    p.fn(true);
  }
}

void CommitCycle::lost(bool retrying) {
  store_.rollback();  // Also lets the store allow writes outside a transaction again.
  open_ = false;
  ++failed_commits_;
  if (on_lost_ && !retrying) {
    on_lost_();  // A retry's transaction held only redos, which change no counter.
  }
  std::vector<Pending> run;
  run.swap(callbacks_);
  std::vector<Unit> units;
  units.swap(units_);
  std::vector<std::function<void(bool)>> refused;
  for (Pending& p : run) {
    auto unit = p.unit == 0
                    ? units.end()
                    : std::find_if(units.begin(), units.end(), [&p](const Unit& u) { return u.id == p.unit; });
    if (unit != units.end()) {
      unit->callbacks.push_back(std::move(p.fn));
    } else {
      refused.push_back(std::move(p.fn));
    }
  }
  if (!units.empty()) {
    if (!retrying) {
      LOG_WARN(
          "%zu finished job(s) could not be stored; llmqd keeps them and writes them again "
          "once there is room (first: %s)",
          units.size(), units.front().what.c_str());
    }
    for (Unit& u : units) {
      kept_.push_back(std::move(u));
    }
    armRetry();
  }
  for (auto& fn : refused) {
    fn(false);
  }
}

bool CommitCycle::retryKept() {
  if (kept_.empty()) {
    return true;
  }
  if (open_) {
    armRetry();  // A turn is in progress: its own commit comes first.
    return false;
  }
  if (auto w = write(); !w) {
    LOG_ERROR("storing kept job outcomes: %s", w.error().message.c_str());
    armRetry();
    return false;
  }
  // Pessimistic: the delay grows unless this retry stores everything.
  retry_delay_ms_ = std::min(retry_delay_ms_ * 2, kRetryMaxMs);
  std::vector<Unit> units;
  units.swap(kept_);
  bool ok = true;
  for (Unit& u : units) {
    if (auto r = u.redo(); !r) {
      LOG_DEBUG("storing %s again: %s", u.what.c_str(), r.error().message.c_str());
      ok = false;
      break;  // The transaction is lost (or must be): the rest would not stick either.
    }
  }
  for (Unit& u : units) {
    units_.push_back(std::move(u));
  }
  if (!ok) {
    lost(/*retrying=*/true);
    return false;
  }
  const size_t stored = units_.size();
  if (!store_.inTransaction()) {
    lost(/*retrying=*/true);
    return false;
  }
  if (auto r = store_.commit(); !r) {
    LOG_DEBUG("storing kept job outcomes: %s", r.error().message.c_str());
    lost(/*retrying=*/true);
    return false;
  }
  open_ = false;
  ++commits_;
  runCallbacks();
  LOG_NOTICE("stored %zu kept job outcome(s): there is room in the database again", stored);
  retry_delay_ms_ = kRetryFirstMs;
  return kept_.empty();
}

void CommitCycle::retrySoon() {
  retry_delay_ms_ = kRetryFirstMs;
  if (!kept_.empty()) {
    armRetry();
  }
}

void CommitCycle::armRetry() { retry_timer_.start(retry_delay_ms_); }

void CommitCycle::close() {
  commit();
  retryKept();
  if (!kept_.empty()) {
    for (const Unit& u : kept_) {
      LOG_ERROR(
          "stopping without storing %s (no room in the database); the next start "
          "recovers the job as interrupted (on_restart)",
          u.what.c_str());
    }
    std::vector<Unit> units;
    units.swap(kept_);
    for (Unit& u : units) {
      for (auto& fn : u.callbacks) {
        fn(false);
      }
    }
  }
  retry_timer_.close();
}

}  // namespace llmq::daemon
