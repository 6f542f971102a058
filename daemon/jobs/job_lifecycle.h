// daemon::JobLifecycle is the one place a job's state change is written, counted
// and announced: save() persists a job inside the turn's transaction and keeps
// the per-state counters of daemon.status exact; emit() numbers and publishes an
// event; answerWaiters() answers the `wait: true` callers of a job that has ended.
//
// Loop thread only. Owned by the Daemon.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/result.h"
#include "daemon/turn/responder.h"
#include "ipc/protocol.h"
#include "store/job_record.h"
#include "upstream/provider.h"

namespace llmq {
class Clock;
namespace store {
class SecretStore;
class Store;
}  // namespace store
}  // namespace llmq

namespace llmq::daemon {

struct Config;
class EventBus;
class Metrics;
class UserQuota;

class JobLifecycle {
 public:
  // What it writes to, counts in and announces on.
  struct Parts {
    const Config& config;
    const Clock& clock;
    store::Store& store;
    store::SecretStore& secrets;  // A job's own key goes when the job ends.
    EventBus& bus;
    Metrics& metrics;
    UserQuota& quota;
  };
  explicit JobLifecycle(Parts parts) : p_(parts) {}

  // Reads the per-state counts from the store (at startup, or after a failed commit).
  Result<void> loadCounts();
  const std::array<int64_t, store::kJobStateCount>& counts() const { return counts_; }

  // Persists every mutable column of `job`; `previous` is the state it had in the
  // store before this change (equal to job.state when the state did not change).
  Result<void> save(const store::JobRecord& job, store::JobState previous);
  // save() of a job whose running attempt ended, with that attempt's row, in one
  // store call (store::Store::recordOutcome).
  Result<void> saveOutcome(const store::JobRecord& job, const store::AttemptRecord& attempt);
  // Counts a newly inserted job.
  void noteInserted(store::JobState state) { ++counts_[static_cast<size_t>(state)]; }
  // Counts `n` jobs that one statement moved from `from` to `to`.
  void noteMoved(store::JobState from, store::JobState to, int64_t n) {
    counts_[static_cast<size_t>(from)] -= n;
    counts_[static_cast<size_t>(to)] += n;
  }

  // Publishes an event about `job`, advancing job.event_seq. The caller persists
  // the new seq with its next save() (events without a state change, such as
  // message_chunk, are not written one by one).
  void emit(store::JobRecord& job, const std::vector<std::string>& tags, ipc::EventKind kind,
            std::string_view data_json, bool terminal = false);
  // emit() with the data built only if somebody listens; the seq advances either way,
  // so a subscriber can tell a lost event from one it did not ask for.
  template <class BuildData>
  void emitWith(store::JobRecord& job, const std::vector<std::string>& tags, ipc::EventKind kind, BuildData&& build,
                bool terminal = false) {
    // On the hot path (every streamed chunk): the id is formatted once.
    const std::string id = ipc::formatJobId(job.id);
    if (!terminal && !wanted(id, job, tags, kind)) {
      ++job.event_seq;
      return;
    }
    publish(id, job, tags, kind, build(), terminal);
  }
  // A message_chunk: `delta` reaches in-process subscribers as it is
  // (daemon/turn/event_bus.h, EventSink); the data is built only if a
  // connection reads the event as text.
  template <class BuildData>
  void emitChunk(store::JobRecord& job, const std::vector<std::string>& tags, const upstream::StreamDelta& delta,
                 BuildData&& build) {
    const std::string id = ipc::formatJobId(job.id);
    switch (chunkAudience(id, job, tags, delta)) {
      case Audience::kNone:
        ++job.event_seq;
        return;
      case Audience::kSinks:
        publishChunk(id, job, tags, delta, {});
        return;
      case Audience::kText:
        publishChunk(id, job, tags, delta, build());
        return;
    }
  }

  // `wait: true`: answer `r` with the job object when the job ends.
  // Why one more waiter on `conn_id` would pass [ipc] max_waits_per_connection,
  // for a -32005 answer; empty when it fits.
  std::string waitRefusal(uint64_t conn_id) const;
  void addWaiter(int64_t job_id, Responder r);
  void dropWaiters(uint64_t conn_id);
  // Answers the waiters of a job that has just reached a terminal state.
  void answerWaiters(const store::JobRecord& job);

  // `cancel_on_disconnect`: the job is cancelled if connection `conn_id` closes
  // before it ends. The binding goes when the job ends (save()).
  void bindToConnection(int64_t job_id, uint64_t conn_id);
  // Forgets and returns the unfinished jobs bound to a connection that closed.
  std::vector<int64_t> takeBound(uint64_t conn_id);

 private:
  // What follows a job's write: the quota, the per-state counts, the bindings
  // to connections, and the job's own key once it has ended.
  Result<void> noteSaved(const store::JobRecord& job, store::JobState previous);
  enum class Audience { kNone, kSinks, kText };
  Audience chunkAudience(std::string_view id, const store::JobRecord& job, const std::vector<std::string>& tags,
                         const upstream::StreamDelta& delta) const;
  void publishChunk(std::string_view id, store::JobRecord& job, const std::vector<std::string>& tags,
                    const upstream::StreamDelta& delta, std::string_view data_json);
  bool wanted(std::string_view id, const store::JobRecord& job, const std::vector<std::string>& tags,
              ipc::EventKind kind) const;
  void publish(std::string_view id, store::JobRecord& job, const std::vector<std::string>& tags,
               ipc::EventKind kind, std::string_view data_json, bool terminal);

  Parts p_;
  std::array<int64_t, store::kJobStateCount> counts_{};
  std::unordered_map<int64_t, std::vector<Responder>> waiters_;
  std::unordered_map<uint64_t, size_t> waits_by_conn_;  // Waiters per connection.
  std::unordered_map<int64_t, uint64_t> bound_;         // Job -> the connection it dies with.
  std::unordered_map<uint64_t, std::unordered_set<int64_t>> bound_by_conn_;
};

}  // namespace llmq::daemon
