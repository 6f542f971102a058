// Retention: a timer, a batch per turn until nothing old is left.
#include "daemon/retention.h"

#include "common/log.h"
#include "common/time.h"
#include "daemon/commit_cycle.h"
#include "daemon/config.h"
#include "daemon/services.h"
#include "store/job_store.h"

namespace llmq::daemon {

Retention::Retention(Services& services)
    : s_(services), timer_(makeUvHandle<uv_timer_t>(services.loop, this, uv_timer_init)) {}

void Retention::init() {
  if (s_.config->retention.finished_job_ms > 0) {
    arm(static_cast<uint64_t>(s_.config->retention.check_ms));
  }
}

void Retention::close() { timer_.reset(); }

void Retention::arm(uint64_t delay_ms) {
  if (timer_) {
    uv_timer_start(timer_.get(), &Retention::onUvTimer, delay_ms, 0);
  }
}

// Called by libuv when it is time to look for old finished jobs.
void Retention::onUvTimer(uv_timer_t* t) noexcept { static_cast<Retention*>(t->data)->prune(); }

void Retention::prune() {
  const RetentionConfig& r = s_.config->retention;
  if (r.finished_job_ms <= 0 || s_.shutting_down) {
    return;  // Turned off by a reload: look again only if it is turned back on.
  }
  if (auto w = s_.cycle->write(); !w) {
    LOG_ERROR("pruning finished jobs: %s", w.error().message.c_str());
    arm(static_cast<uint64_t>(r.check_ms));
    return;
  }
  auto n = s_.jobs->pruneFinished(s_.clock->nowMs() - r.finished_job_ms, kBatch);
  if (!n) {
    LOG_ERROR("pruning finished jobs: %s", n.error().message.c_str());
    arm(static_cast<uint64_t>(r.check_ms));
    return;
  }
  if (*n > 0) {
    LOG_DEBUG("dropped the bodies of %lld finished jobs", static_cast<long long>(*n));
  }
  // A full batch: more are due; the next one in the next loop iteration.
  arm(*n == kBatch ? 0 : static_cast<uint64_t>(r.check_ms));
}

}  // namespace llmq::daemon
