// Retention: a timer, then a batch per turn until nothing old or free is left.
#include "daemon/retention.h"

#include <algorithm>

#include "common/log.h"
#include "common/time.h"
#include "daemon/config.h"
#include "daemon/policy/user_quota.h"
#include "daemon/turn/commit_cycle.h"
#include "daemon/turn/run_state.h"
#include "store/database.h"
#include "store/settings_store.h"

namespace llmq::daemon {
namespace {

constexpr int64_t kDayMs = 86'400'000;
constexpr char kClockSetting[] = "retention_clock";

}  // namespace

Retention::Retention(Parts parts)
    : p_(parts), jobs_(parts.db), usage_(parts.db), timer_(parts.loop, [this] { pass(); }) {}

void Retention::init() {
  if (!clock_loaded_) {
    clock_loaded_ = true;
    auto saved = p_.settings.get(kClockSetting);
    if (saved && saved->has_value() && !clock_steps_.load(**saved, bootId(), bootMs())) {
      LOG_WARN("retention: ignoring an unreadable %s setting", kClockSetting);
    }
  }
  observeClock();  // At start: a step made while llmqd was down (in the same boot).
  arm(static_cast<uint64_t>(p_.config.retention.check_ms));
}

void Retention::observeClock() {
  const int64_t boot = bootMs();
  const size_t before = clock_steps_.steps().size();
  clock_steps_.observe(p_.clock.nowMs(), boot);
  if (clock_steps_.steps().size() > before) {
    LOG_NOTICE(
        "retention: the wall clock jumped by %+lld ms; nothing stamped before the jump is "
        "pruned before it is really old enough",
        static_cast<long long>(clock_steps_.steps().back().delta_ms));
  }
  const RetentionConfig& r = p_.config.retention;
  clock_steps_.forget(boot, std::max(r.finished_job_ms, r.ledger_days * kDayMs));
}

void Retention::saveClock() {
  std::string text = clock_steps_.toJson(bootId(), bootMs());
  if (text == saved_clock_) {
    return;
  }
  if (auto w = p_.cycle.write(); !w) {
    return;  // The next pass tries again.
  }
  if (auto r = p_.settings.put(kClockSetting, text); !r) {
    LOG_ERROR("retention: saving the clock steps: %s", r.error().message.c_str());
    return;
  }
  saved_clock_ = std::move(text);
}

int64_t Retention::cutoff(int64_t age_ms) const {
  return p_.clock.nowMs() - age_ms - clock_steps_.allowance(bootMs(), age_ms);
}

void Retention::close() { timer_.close(); }

void Retention::arm(uint64_t delay_ms) { timer_.start(delay_ms); }

void Retention::pass() {
  if (p_.run.shutting_down) {
    return;
  }
  observeClock();  // Before any cutoff: a jump since the last look counts already.
  // Each step does at most one batch; the first with more to do ends this turn's
  // share, and the next batch comes in the next loop iteration.
  for (Step (Retention::*step)() : {&Retention::pruneBodies, &Retention::pruneLedger, &Retention::vacuum}) {
    if ((this->*step)() == Step::kMore) {
      arm(0);
      return;
    }
  }
  saveClock();
  arm(static_cast<uint64_t>(p_.config.retention.check_ms));
}

Retention::Step Retention::pruneBodies() {
  const RetentionConfig& r = p_.config.retention;
  if (r.finished_job_ms <= 0) {
    return Step::kDone;
  }
  if (auto w = p_.cycle.write(); !w) {
    LOG_ERROR("pruning finished jobs: %s", w.error().message.c_str());
    return Step::kDone;
  }
  std::vector<store::ClientBytes> freed;
  auto n = jobs_.pruneFinished(cutoff(r.finished_job_ms), kBatch, &freed);
  if (!n) {
    LOG_ERROR("pruning finished jobs: %s", n.error().message.c_str());
    return Step::kDone;
  }
  for (const store::ClientBytes& f : freed) {
    p_.quota.noteFreed(f.client, f.bytes);  // Room for the user's next jobs ([quota]).
  }
  if (*n > 0) {
    LOG_DEBUG("dropped the bodies of %lld finished jobs", static_cast<long long>(*n));
  }
  return *n == kBatch ? Step::kMore : Step::kDone;
}

Retention::Step Retention::pruneLedger() {
  const RetentionConfig& r = p_.config.retention;
  if (r.ledger_days <= 0) {
    return Step::kDone;
  }
  if (auto w = p_.cycle.write(); !w) {
    LOG_ERROR("pruning the ledger: %s", w.error().message.c_str());
    return Step::kDone;
  }
  auto n = usage_.pruneLedger(cutoff(r.ledger_days * kDayMs), kBatch);
  if (!n) {
    LOG_ERROR("pruning the ledger: %s", n.error().message.c_str());
    return Step::kDone;
  }
  if (*n > 0) {
    LOG_DEBUG("deleted %lld ledger rows older than %lld days (the daily rollups keep them)",
              static_cast<long long>(*n), static_cast<long long>(r.ledger_days));
  }
  return *n == kBatch ? Step::kMore : Step::kDone;
}

Retention::Step Retention::vacuum() {
  auto free_pages = p_.db.queryInt("PRAGMA freelist_count");
  if (!free_pages || *free_pages == 0) {
    return Step::kDone;
  }
  auto mode = p_.db.queryInt("PRAGMA auto_vacuum");
  if (!mode || *mode != 2) {
    return Step::kDone;  // Not INCREMENTAL (docs/operations.md): free pages are reused instead.
  }
  if (auto w = p_.cycle.write(); !w) {
    LOG_ERROR("giving free pages back: %s", w.error().message.c_str());
    return Step::kDone;
  }
  auto n = p_.db.incrementalVacuum(kVacuumPages);
  if (!n) {
    LOG_ERROR("giving free pages back: %s", n.error().message.c_str());
    return Step::kDone;
  }
  LOG_DEBUG("gave %lld free pages back to the file system", static_cast<long long>(*n));
  return *n > 0 && *free_pages > *n ? Step::kMore : Step::kDone;
}

}  // namespace llmq::daemon
