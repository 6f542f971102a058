// daemon::EventBus: subscriptions (by job, client, tag or all) and the fan-out of
// job events to them as JSON-RPC notifications (ipc/PROTOCOL.md). An event is matched
// and serialized once; each subscriber gets the shared tail behind its own
// subscription prefix. Events published while the turn's transaction is open are
// delivered after it commits, in publish order, so no client ever hears about a
// state the database does not hold yet.
//
// Loop thread only. Owned by the Daemon.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/string_map.h"
#include "ipc/protocol.h"

namespace llmq::ipc {
class Server;
}

namespace llmq::daemon {

class CommitCycle;

// What the bus needs to know about the job an event is about.
struct EventSource {
  std::string_view job_id;
  std::string_view client;
  const std::vector<std::string>* tags = nullptr;
};

enum class SubscriptionScope { kJob, kClient, kTag, kAll };

// What one client may make the bus hold (docs/operations.md, "Bounds"): every
// subscription costs memory and a share of every matching event's fan-out.
struct EventBusLimits {
  size_t max_per_connection = 4096;
  size_t max_total = 65536;
};

class EventBus {
 public:
  EventBus(ipc::Server& server, CommitCycle& cycle, EventBusLimits limits = {})
      : server_(server), cycle_(cycle), limits_(limits) {}

  // Why one more subscription on `conn_id` would pass a bound, for a -32005
  // answer; empty when it fits. Callers ask before subscribe(), which never refuses.
  std::string refusal(uint64_t conn_id) const;
  uint64_t subscribe(uint64_t conn_id, SubscriptionScope scope, std::string key, uint32_t mask);
  // Removes a subscription; false if it does not exist or is not this connection's.
  bool unsubscribe(uint64_t conn_id, uint64_t subscription);
  void dropConnection(uint64_t conn_id);

  // True if some subscription would receive `kind` for `source`: lets callers skip
  // building event data nobody reads.
  bool wanted(const EventSource& source, ipc::EventKind kind) const;

  // Publishes one event. `data_json` is the "data" object. `terminal` ends the
  // job-scoped subscriptions of this job after delivery.
  void publish(const EventSource& source, int64_t seq, ipc::EventKind kind, std::string_view data_json,
               int64_t ts_ms, bool terminal);

  // Sends one event to a single subscription (a late subscriber's catch-up).
  void sendTo(uint64_t subscription, std::string_view job_id, int64_t seq, ipc::EventKind kind,
              std::string_view data_json, int64_t ts_ms);

  size_t subscriptionCount() const { return subs_.size(); }
  static std::string formatId(uint64_t subscription);
  static bool parseId(std::string_view text, uint64_t* subscription);

 private:
  struct Subscription {
    uint64_t id;
    uint64_t conn_id;
    SubscriptionScope scope;
    std::string key;
    uint32_t mask;
  };
  // Looked up with string_views on every event: transparent, so no key is copied.
  using Index = StringMap<std::vector<uint64_t>>;

  template <class F>
  void forEachMatch(const EventSource& source, ipc::EventKind kind, F&& f) const;
  static std::string tail(std::string_view job_id, int64_t seq, ipc::EventKind kind, std::string_view data_json,
                          int64_t ts_ms);
  // Sends now, or after the turn commits; then ends the job subscriptions of
  // `finished_job` (if not empty), so the terminal event reaches them first.
  // `stateless` events (message_chunk) announce nothing the database holds: they
  // go out even if the turn's commit fails, so a running job keeps streaming to
  // its subscribers while the disk is full.
  void deliver(std::vector<std::pair<uint64_t, std::string>> prefixes, std::string tail, std::string finished_job,
               bool stateless = false);
  void endJobSubscriptions(const std::string& job_id);
  void removeFromIndex(const Subscription& s);

  ipc::Server& server_;
  CommitCycle& cycle_;
  EventBusLimits limits_;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, Subscription> subs_;
  Index by_job_;
  Index by_client_;
  Index by_tag_;
  std::vector<uint64_t> all_;
  std::unordered_map<uint64_t, std::vector<uint64_t>> by_conn_;
};

}  // namespace llmq::daemon
