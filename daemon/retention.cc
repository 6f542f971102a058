// Retention: a timer, then a batch per turn until nothing old or free is left.
#include "daemon/retention.h"

#include "common/log.h"
#include "common/time.h"
#include "daemon/commit_cycle.h"
#include "daemon/config.h"
#include "daemon/services.h"
#include "store/database.h"
#include "store/job_store.h"
#include "store/usage_store.h"

namespace llmq::daemon {
namespace {

constexpr int64_t kDayMs = 86'400'000;

}  // namespace

Retention::Retention(Services& services)
    : s_(services), timer_(makeUvHandle<uv_timer_t>(services.loop, this, uv_timer_init)) {}

void Retention::init() { arm(static_cast<uint64_t>(s_.config->retention.check_ms)); }

void Retention::close() { timer_.reset(); }

void Retention::arm(uint64_t delay_ms) {
  if (timer_) {
    uv_timer_start(timer_.get(), &Retention::onUvTimer, delay_ms, 0);
  }
}

// Called by libuv when it is time for a pass, or for its next batch.
void Retention::onUvTimer(uv_timer_t* t) noexcept { static_cast<Retention*>(t->data)->pass(); }

void Retention::pass() {
  if (s_.shutting_down) {
    return;
  }
  // Each step does at most one batch; the first with more to do ends this turn's
  // share, and the next batch comes in the next loop iteration.
  for (Step (Retention::*step)() : {&Retention::pruneBodies, &Retention::pruneLedger, &Retention::vacuum}) {
    if ((this->*step)() == Step::kMore) {
      arm(0);
      return;
    }
  }
  arm(static_cast<uint64_t>(s_.config->retention.check_ms));
}

Retention::Step Retention::pruneBodies() {
  const RetentionConfig& r = s_.config->retention;
  if (r.finished_job_ms <= 0) {
    return Step::kDone;
  }
  if (auto w = s_.cycle->write(); !w) {
    LOG_ERROR("pruning finished jobs: %s", w.error().message.c_str());
    return Step::kDone;
  }
  auto n = s_.jobs->pruneFinished(s_.clock->nowMs() - r.finished_job_ms, kBatch);
  if (!n) {
    LOG_ERROR("pruning finished jobs: %s", n.error().message.c_str());
    return Step::kDone;
  }
  if (*n > 0) {
    LOG_DEBUG("dropped the bodies of %lld finished jobs", static_cast<long long>(*n));
  }
  return *n == kBatch ? Step::kMore : Step::kDone;
}

Retention::Step Retention::pruneLedger() {
  const RetentionConfig& r = s_.config->retention;
  if (r.ledger_days <= 0) {
    return Step::kDone;
  }
  if (auto w = s_.cycle->write(); !w) {
    LOG_ERROR("pruning the ledger: %s", w.error().message.c_str());
    return Step::kDone;
  }
  auto n = s_.usage->pruneLedger(s_.clock->nowMs() - r.ledger_days * kDayMs, kBatch);
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
  auto free_pages = s_.db->queryInt("PRAGMA freelist_count");
  if (!free_pages || *free_pages == 0) {
    return Step::kDone;
  }
  auto mode = s_.db->queryInt("PRAGMA auto_vacuum");
  if (!mode || *mode != 2) {
    return Step::kDone;  // Not INCREMENTAL (docs/operations.md): free pages are reused instead.
  }
  if (auto w = s_.cycle->write(); !w) {
    LOG_ERROR("giving free pages back: %s", w.error().message.c_str());
    return Step::kDone;
  }
  auto n = s_.db->incrementalVacuum(kVacuumPages);
  if (!n) {
    LOG_ERROR("giving free pages back: %s", n.error().message.c_str());
    return Step::kDone;
  }
  LOG_DEBUG("gave %lld free pages back to the file system", static_cast<long long>(*n));
  return *n > 0 && *free_pages > *n ? Step::kMore : Step::kDone;
}

}  // namespace llmq::daemon
