// Scheduler: pick with fair share, dispatch up to the in-flight cap, retry timer.
#include "daemon/jobs/scheduler.h"

#include "ipc/server.h"

#include <algorithm>
#include <climits>

#include "common/json.h"
#include "common/log.h"
#include "common/time.h"
#include "daemon/config.h"
#include "daemon/jobs/job_json.h"
#include "daemon/jobs/job_lifecycle.h"
#include "daemon/jobs/job_runner.h"
#include "daemon/policy/accounting.h"
#include "daemon/policy/circuit_breaker.h"
#include "daemon/policy/rate_limiter.h"
#include "daemon/turn/commit_cycle.h"
#include "daemon/turn/metrics.h"
#include "store/settings_store.h"
#include "store/store.h"

namespace llmq::daemon {
namespace {

constexpr char kPauseSetting[] = "queue.pause";

}  // namespace

Scheduler::Scheduler(Parts parts)
    : p_(parts),
      retry_timer_(parts.loop, [this] { onRetryTimer(); }),
      deadline_timer_(parts.loop, [this] { onDeadlineTimer(); }),
      wake_timer_(parts.loop, [this] { onWakeTimer(); }) {}

void Scheduler::close() {
  retry_timer_.close();
  deadline_timer_.close();
  wake_timer_.close();
}

Result<void> Scheduler::init() {
  auto saved = p_.settings.get(kPauseSetting);
  if (!saved) {
    return saved.takeError();
  }
  if (saved->has_value()) {
    json::Document doc;
    if (json::parse(doc, **saved, nullptr) && doc.IsObject()) {
      if (const json::Value* all = json::member(doc, "all"); all != nullptr && all->IsBool()) {
        paused_all_ = all->GetBool();
      }
      if (const json::Value* clients = json::member(doc, "clients"); clients != nullptr && clients->IsArray()) {
        for (const auto& c : clients->GetArray()) {
          if (c.IsString()) {
            paused_clients_.insert(c.GetString());
          }
        }
      }
    }
  }
  steps_.emplace(p_.clock);
  // Retry times are wall-clock times in the store: one written while the clock was
  // far ahead (or by an llmqd without the Retry-After cap) would stall its job, so
  // none waits longer than the longest wait llmqd itself sets.
  const int64_t longest =
      std::max({p_.config.retry_cap_ms, p_.config.retry_after_max_ms, p_.config.circuit.cooldown_ms});
  auto clamped = p_.store.clampRetries(p_.clock.nowMs() + longest);
  if (!clamped) {
    return clamped.takeError();
  }
  if (*clamped > 0) {
    LOG_WARN("%lld jobs waited to retry further ahead than %lld s; they retry by then",
             static_cast<long long>(*clamped), static_cast<long long>(longest / 1000));
  }
  auto next = p_.store.nextRetryAt();
  if (!next) {
    return next.takeError();
  }
  if (next->has_value()) {
    armRetryTimer(**next);
  }
  auto deadline = p_.store.nextDeadline();
  if (!deadline) {
    return deadline.takeError();
  }
  if (deadline->has_value()) {
    armDeadlineTimer(**deadline);
  }
  return {};
}

std::optional<store::JobRecord> Scheduler::pickNext(const Held& held) {
  if (last_client_.size() > kMaxRoundRobinPositions) {
    last_client_.clear();  // Forgetting positions only restarts the rounds.
  }
  int below = INT_MAX;
  for (;;) {
    auto top = p_.store.topQueuedPriority(below);
    if (!top) {
      LOG_ERROR("picking the next job: %s", top.error().message.c_str());
      return std::nullopt;
    }
    if (!top->has_value()) {
      return std::nullopt;
    }
    const int priority = **top;
    // Round-robin across owners (users) first, from the one after the last served.
    const std::string start_after = last_owner_[priority];
    std::string after = start_after;
    bool wrapped = false;
    for (;;) {
      auto owner = p_.store.nextQueuedOwner(priority, after);
      if (!owner) {
        LOG_ERROR("picking the next job: %s", owner.error().message.c_str());
        return std::nullopt;
      }
      if (!owner->has_value() || (wrapped && **owner > start_after)) {
        if (wrapped || after.empty()) {
          break;  // Every owner at this priority was seen.
        }
        after.clear();
        wrapped = true;
        continue;
      }
      bool failed = false;
      auto job = pickOfOwner(priority, **owner, held, &failed);
      if (failed) {
        return std::nullopt;
      }
      if (job) {
        last_owner_[priority] = std::move(**owner);
        return job;
      }
      after = std::move(**owner);  // All its clients are paused or held.
    }
    below = priority;  // Nothing at this priority can go: look lower.
  }
}

std::optional<store::JobRecord> Scheduler::pickOfOwner(int priority, const std::string& owner, const Held& held,
                                                       bool* failed) {
  std::string& last = last_client_[{priority, owner}];
  const std::string start_after = last;
  std::string after = start_after;
  bool wrapped = false;
  for (;;) {
    auto job = p_.store.nextQueued(priority, owner, after);
    if (!job) {
      LOG_ERROR("picking the next job: %s", job.error().message.c_str());
      *failed = true;
      return std::nullopt;
    }
    if (!job->has_value() || (wrapped && (**job).client > start_after)) {
      if (wrapped || after.empty()) {
        return std::nullopt;  // Every client of this owner was seen.
      }
      after.clear();
      wrapped = true;
      continue;
    }
    if (paused_clients_.contains((**job).client)) {
      after = (**job).client;
      continue;
    }
    if (!held.by_client.empty()) {
      auto h = held.by_client.find({priority, (**job).client});
      if (h != held.by_client.end()) {
        // Its first jobs are held: look past them, not too deep.
        std::string client = (**job).client;
        if (h->second.second < kLookahead) {
          job = p_.store.nextQueuedOfClient(priority, owner, client, h->second.first);
          if (!job) {
            LOG_ERROR("picking the next job: %s", job.error().message.c_str());
            *failed = true;
            return std::nullopt;
          }
        }
        if (h->second.second >= kLookahead || !job->has_value()) {
          after = std::move(client);
          continue;
        }
      }
    }
    last = (**job).client;
    return std::move(*job);
  }
}

void Scheduler::followClockSteps() {
  const int64_t delta = steps_ ? steps_->step() : 0;
  if (delta == 0) {
    return;
  }
  LOG_WARN("the wall clock stepped by %+lld ms; retry waits keep their lengths", static_cast<long long>(delta));
  if (auto w = p_.cycle.write(); !w) {
    LOG_ERROR("moving retry times with the clock: %s", w.error().message.c_str());
  } else if (auto r = p_.store.shiftRetries(delta); !r) {
    LOG_ERROR("moving retry times with the clock: %s", r.error().message.c_str());
  }
  if (retry_armed_at_ != INT64_MAX) {
    armRetryTimer(retry_armed_at_ + delta);
  }
  p_.accounting.clockStepped();
}

void Scheduler::pump() {
  followClockSteps();
  if (!dirty_ || stopped_ || paused_all_) {
    return;
  }
  if (p_.server.pendingOutputTotal() > p_.config.max_total_pending_output_bytes) {
    // Subscribers have fallen behind: start nothing new until their output
    // drains. dirty_ stays set; each write that completes runs another turn and
    // so another pump.
    return;
  }
  dirty_ = false;
  const size_t cap = static_cast<size_t>(p_.config.max_inflight);
  const int64_t now = p_.clock.nowMs();
  Held held;
  while (p_.runner.inflight() < cap) {
    auto job = pickNext(held);
    if (!job) {
      break;
    }
    if (job->deadline_at && now >= *job->deadline_at) {
      if (!expireQueued(std::move(*job))) {
        backOff();
        return;
      }
      continue;
    }
    const int priority = job->priority;
    const int64_t id = job->id;
    std::string client = job->client;
    JobRunner::StartResult started = p_.runner.start(std::move(*job));
    if (started.kind == JobRunner::StartResult::kStoreError) {
      backOff();
      return;
    }
    if (started.kind == JobRunner::StartResult::kWait) {
      p_.metrics.rateLimitWait();
      held.wake_at = std::min(held.wake_at, started.wait_until_ms);
      auto& h = held.by_client[{priority, std::move(client)}];
      h.first = id;
      ++h.second;
      if (++held.total >= kMaxHeldPerPump) {
        break;
      }
    }
  }
  // At the cap, the runner kicks us when a slot frees up; a held job wakes us when
  // it can go.
  if (held.wake_at != INT64_MAX) {
    noteWakeAt(held.wake_at);
  }
}

void Scheduler::noteWakeAt(int64_t at_ms) {
  if (!wake_timer_ || at_ms >= wake_armed_at_) {
    return;
  }
  wake_armed_at_ = at_ms;
  const int64_t wait = std::max<int64_t>(0, at_ms - p_.clock.monoMs());
  wake_timer_.start(static_cast<uint64_t>(wait));
}

// Called by libuv when a job a rate limit held may go.
void Scheduler::onWakeTimer() {
  wake_armed_at_ = INT64_MAX;
  kick();
}

void Scheduler::backOff() { noteRetryAt(p_.clock.nowMs() + 1000); }

bool Scheduler::expireQueued(store::JobRecord job) {
  if (auto w = p_.cycle.write(); !w) {
    LOG_ERROR("expiring %s: %s", ipc::formatJobId(job.id).c_str(), w.error().message.c_str());
    return false;
  }
  const store::JobState previous = job.state;
  job.state = store::JobState::kExpired;
  job.finished_at = p_.clock.nowMs();
  job.error = store::JobError{"EXPIRED", "the job's deadline_s passed before it could run", 0, "local"};
  std::vector<std::string> tags = parseTags(job.tags_json);
  p_.lifecycle.emit(job, tags, ipc::EventKind::kExpired,
                    "{\"reason\":\"the job's deadline_s passed before it could run\"}", true);
  if (auto r = p_.lifecycle.save(job, previous); !r) {
    LOG_ERROR("expiring %s: %s", ipc::formatJobId(job.id).c_str(), r.error().message.c_str());
    return false;
  }
  p_.lifecycle.answerWaiters(job);
  return true;
}

void Scheduler::noteRetryAt(int64_t at_ms) {
  if (at_ms < retry_armed_at_) {
    armRetryTimer(at_ms);
  }
}

void Scheduler::armRetryTimer(int64_t at_ms) {
  if (!retry_timer_) {
    return;
  }
  retry_armed_at_ = at_ms;
  int64_t wait = std::max<int64_t>(0, at_ms - p_.clock.nowMs());
  retry_timer_.start(static_cast<uint64_t>(wait));
}

// Called by libuv when the earliest retry_wait job is due.
void Scheduler::onRetryTimer() {
  retry_armed_at_ = INT64_MAX;
  followClockSteps();
  const Parts& s = p_;
  if (auto w = s.cycle.write(); !w) {
    LOG_ERROR("promoting due retries: %s", w.error().message.c_str());
    armRetryTimer(s.clock.nowMs() + 1000);
    return;
  }
  auto promoted = s.store.promoteDueRetries(s.clock.nowMs());
  if (!promoted) {
    LOG_ERROR("promoting due retries: %s", promoted.error().message.c_str());
  } else if (*promoted > 0) {
    s.lifecycle.noteMoved(store::JobState::kRetryWait, store::JobState::kQueued, *promoted);
  }
  kick();  // Also resumes a pump that backed off after a store error.
  auto next = s.store.nextRetryAt();
  if (next && next->has_value()) {
    armRetryTimer(**next);
  }
}

void Scheduler::noteDeadline(int64_t at_ms) {
  if (at_ms < deadline_armed_at_) {
    armDeadlineTimer(at_ms);
  }
}

void Scheduler::armDeadlineTimer(int64_t at_ms) {
  if (!deadline_timer_) {
    return;
  }
  deadline_armed_at_ = at_ms;
  int64_t wait = std::max<int64_t>(0, at_ms - p_.clock.nowMs());
  deadline_timer_.start(static_cast<uint64_t>(wait));
}

// Called by libuv when the earliest deadline of a waiting job has come: expire the
// due ones wherever they wait (queued, paused, retry_wait), in batches.
void Scheduler::onDeadlineTimer() {
  deadline_armed_at_ = INT64_MAX;
  const Parts& s = p_;
  const int64_t now = s.clock.nowMs();
  auto due = s.store.dueDeadlines(now, 256);
  if (!due) {
    LOG_ERROR("expiring jobs past their deadline: %s", due.error().message.c_str());
    armDeadlineTimer(now + 1000);
    return;
  }
  for (store::JobRecord& job : *due) {
    if (!expireQueued(std::move(job))) {
      armDeadlineTimer(now + 1000);
      return;
    }
  }
  if (due->size() == 256) {
    armDeadlineTimer(now);  // More are due: the next batch in the next turn.
    return;
  }
  auto next = s.store.nextDeadline();
  if (next && next->has_value()) {
    armDeadlineTimer(**next);
  }
}

Result<void> Scheduler::persistPause() {
  std::string v = std::string("{\"all\":") + (paused_all_ ? "true" : "false") + ",\"clients\":[";
  bool first = true;
  for (const std::string& c : paused_clients_) {
    if (!first) {
      v += ",";
    }
    first = false;
    json::appendString(v, c);
  }
  v += "]}";
  return p_.settings.put(kPauseSetting, v);
}

Result<void> Scheduler::pause(const std::string& client) {
  return changePause([&] {
    if (client.empty()) {
      paused_all_ = true;
    } else {
      paused_clients_.insert(client);
    }
  });
}

Result<void> Scheduler::resume(const std::string& client) {
  return changePause([&] {
    if (client.empty()) {
      paused_all_ = false;
    } else {
      paused_clients_.erase(client);
    }
    kick();
  });
}

// The pause state in memory follows the stored one: a change whose write fails,
// or whose turn is lost to a full disk (the caller then answers -32006), is
// taken back, to the state before the turn's first change.
Result<void> Scheduler::changePause(const std::function<void()>& change) {
  if (auto w = p_.cycle.write(); !w) {
    return w;
  }
  if (!pause_before_turn_) {
    pause_before_turn_ = PauseState{paused_all_, paused_clients_};
    p_.cycle.afterCommit([this](bool committed) {
      if (!committed && pause_before_turn_) {
        paused_all_ = pause_before_turn_->all;
        paused_clients_ = std::move(pause_before_turn_->clients);
        kick();
      }
      pause_before_turn_.reset();
    });
  }
  change();
  if (auto r = persistPause(); !r) {
    // The turn is lost with this write: back to where it started.
    paused_all_ = pause_before_turn_->all;
    paused_clients_ = pause_before_turn_->clients;
    return r;
  }
  return {};
}

std::string Scheduler::stateJson(const std::function<bool(const std::string&)>& visible) const {
  std::string v = std::string("{\"paused\":") + (paused_all_ ? "true" : "false") + ",\"paused_clients\":[";
  bool first = true;
  for (const std::string& c : paused_clients_) {
    if (visible && !visible(c)) {
      continue;
    }
    if (!first) {
      v += ",";
    }
    first = false;
    json::appendString(v, c);
  }
  v += "]}";
  return v;
}

}  // namespace llmq::daemon
