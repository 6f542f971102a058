// JobLifecycle: counters, event numbering and waiters around Store::updateJob.
#include "daemon/jobs/job_lifecycle.h"

#include <algorithm>

#include "common/time.h"
#include "daemon/config.h"
#include "daemon/jobs/job_json.h"
#include "daemon/policy/model_chain.h"
#include "daemon/policy/user_quota.h"
#include "daemon/turn/event_bus.h"
#include "daemon/turn/metrics.h"
#include "store/secret_store.h"
#include "store/store.h"

namespace llmq::daemon {

Result<void> JobLifecycle::loadCounts() {
  auto counts = p_.store.countByState();
  if (!counts) {
    return counts.takeError();
  }
  counts_ = *counts;
  return {};
}

Result<void> JobLifecycle::save(const store::JobRecord& job, store::JobState previous) {
  if (auto r = p_.store.updateJob(job); !r) {
    return r;
  }
  return noteSaved(job, previous);
}

Result<void> JobLifecycle::saveOutcome(const store::JobRecord& job, const store::AttemptRecord& attempt) {
  if (auto r = p_.store.recordOutcome(job, attempt); !r) {
    return r;
  }
  return noteSaved(job, store::JobState::kRunning);
}

Result<void> JobLifecycle::noteSaved(const store::JobRecord& job, store::JobState previous) {
  if (store::isTerminal(job.state) != store::isTerminal(previous)) {
    if (store::isTerminal(job.state)) {
      p_.quota.noteFinished(job.client,
                            static_cast<int64_t>(job.result_json.size() + job.error.detail_json.size()));
    } else {
      p_.quota.noteRequeued(job.client, 0);  // job.retry frees what it cleared.
    }
  }
  if (previous != job.state) {
    --counts_[static_cast<size_t>(previous)];
    ++counts_[static_cast<size_t>(job.state)];
    if (store::isTerminal(job.state) && !store::isTerminal(previous)) {
      p_.metrics.jobFinished(ipc::jobStateName(static_cast<int>(job.state)));
    }
  }
  if (store::isTerminal(job.state) && !bound_.empty()) {
    if (auto it = bound_.find(job.id); it != bound_.end()) {
      if (auto c = bound_by_conn_.find(it->second); c != bound_by_conn_.end()) {
        c->second.erase(job.id);
        if (c->second.empty()) {
          bound_by_conn_.erase(c);
        }
      }
      bound_.erase(it);
    }
  }
  if (store::isTerminal(job.state) && !store::isTerminal(previous) && job.options.byok) {
    return p_.secrets.erase(job.id);  // The job's own key goes with the job.
  }
  return {};
}

bool JobLifecycle::wanted(std::string_view id, const store::JobRecord& job, const std::vector<std::string>& tags,
                          ipc::EventKind kind) const {
  return p_.bus.wanted(EventSource{id, job.client, &tags}, kind);
}

JobLifecycle::Audience JobLifecycle::chunkAudience(std::string_view id, const store::JobRecord& job,
                                                   const std::vector<std::string>& tags,
                                                   const upstream::StreamDelta& delta) const {
  const EventSource source{id, job.client, &tags, &delta};
  if (!p_.bus.wanted(source, ipc::EventKind::kMessageChunk)) {
    return Audience::kNone;
  }
  return p_.bus.wantedAsText(source, ipc::EventKind::kMessageChunk) ? Audience::kText : Audience::kSinks;
}

void JobLifecycle::publishChunk(std::string_view id, store::JobRecord& job, const std::vector<std::string>& tags,
                                const upstream::StreamDelta& delta, std::string_view data_json) {
  ++job.event_seq;
  p_.bus.publish(EventSource{id, job.client, &tags, &delta}, job.event_seq, ipc::EventKind::kMessageChunk,
                 data_json, p_.clock.nowMs(), false);
}

void JobLifecycle::emit(store::JobRecord& job, const std::vector<std::string>& tags, ipc::EventKind kind,
                        std::string_view data_json, bool terminal) {
  publish(ipc::formatJobId(job.id), job, tags, kind, data_json, terminal);
}

void JobLifecycle::publish(std::string_view id, store::JobRecord& job, const std::vector<std::string>& tags,
                           ipc::EventKind kind, std::string_view data_json, bool terminal) {
  ++job.event_seq;
  p_.bus.publish(EventSource{id, job.client, &tags}, job.event_seq, kind, data_json, p_.clock.nowMs(), terminal);
}

void JobLifecycle::bindToConnection(int64_t job_id, uint64_t conn_id) {
  bound_[job_id] = conn_id;
  bound_by_conn_[conn_id].insert(job_id);
}

std::vector<int64_t> JobLifecycle::takeBound(uint64_t conn_id) {
  std::vector<int64_t> jobs;
  auto it = bound_by_conn_.find(conn_id);
  if (it == bound_by_conn_.end()) {
    return jobs;
  }
  jobs.assign(it->second.begin(), it->second.end());
  bound_by_conn_.erase(it);
  for (int64_t id : jobs) {
    bound_.erase(id);
  }
  std::sort(jobs.begin(), jobs.end());
  return jobs;
}

std::string JobLifecycle::waitRefusal(uint64_t conn_id) const {
  auto it = waits_by_conn_.find(conn_id);
  if (it == waits_by_conn_.end() || it->second < p_.config.max_waits_per_connection) {
    return {};
  }
  return "this connection waits for " + std::to_string(it->second) +
         " jobs, its limit ([ipc] max_waits_per_connection); submit without \"wait\" "
         "and follow the jobs by events instead";
}

void JobLifecycle::addWaiter(int64_t job_id, Responder r) {
  ++waits_by_conn_[r.connId()];
  waiters_[job_id].push_back(std::move(r));
}

void JobLifecycle::dropWaiters(uint64_t conn_id) {
  // Most connections close with nothing waiting: skip the walk over every waiter.
  if (waits_by_conn_.erase(conn_id) == 0) {
    return;
  }
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    auto& v = it->second;
    std::erase_if(v, [conn_id](const Responder& r) { return r.connId() == conn_id; });
    it = v.empty() ? waiters_.erase(it) : std::next(it);
  }
}

void JobLifecycle::answerWaiters(const store::JobRecord& job) {
  auto it = waiters_.find(job.id);
  if (it == waiters_.end()) {
    return;
  }
  std::vector<Responder> waiting = std::move(it->second);
  waiters_.erase(it);
  for (const Responder& r : waiting) {
    auto c = waits_by_conn_.find(r.connId());
    if (c != waits_by_conn_.end() && --c->second == 0) {
      waits_by_conn_.erase(c);
    }
  }
  std::string body = jobToJson(job);
  for (const Responder& r : waiting) {
    r.okAfterCommit(body);
  }
}

}  // namespace llmq::daemon
