// daemon::EventBus: subscriptions (by job, client, tag or all) and the fan-out of
// job events to them as JSON-RPC notifications (ipc/PROTOCOL.md). An event is matched
// and serialized once; each subscriber gets the shared tail behind its own
// subscription prefix. Events published while the turn's transaction is open are
// delivered after it commits, in publish order, so no client ever hears about a
// state the database does not hold yet.
//
// A connection with an EventSink attached (the HTTP front's in-process ones)
// gets its events as values instead (BusEvent): no JSON-RPC line is written for
// it, and a message_chunk reaches it as the streamed piece itself, so no text is
// made or parsed per token.
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
#include "upstream/provider.h"

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
  // A message_chunk's piece as values, for sinks; its data_json may then be
  // empty when no connection reads text (EventBus::wantedAsText).
  const upstream::StreamDelta* chunk = nullptr;
};

// One event as an EventSink receives it. The views live for the call only.
struct BusEvent {
  uint64_t conn_id = 0;  // The subscription's connection.
  uint64_t subscription = 0;
  std::string_view job_id;
  int64_t seq = 0;
  ipc::EventKind kind = ipc::EventKind::kQueued;
  int64_t ts_ms = 0;
  std::string_view data_json;                    // The "data" object; for a chunk, maybe empty.
  const upstream::StreamDelta* chunk = nullptr;  // message_chunk: the piece.
};

// An in-process subscriber: the subscriptions of its connection deliver here.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void onEvent(const BusEvent& event) = 0;
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
  // The events of `conn_id`'s subscriptions go to `sink` from now on (until the
  // connection is dropped), as values. `sink` outlives the connection.
  void attachSink(uint64_t conn_id, EventSink* sink) { sinks_[conn_id] = sink; }

  // True if some subscription would receive `kind` for `source`: lets callers skip
  // building event data nobody reads.
  bool wanted(const EventSource& source, ipc::EventKind kind) const;
  // True if some subscription without a sink would: the event's JSON is read.
  bool wantedAsText(const EventSource& source, ipc::EventKind kind) const;

  // Publishes one event. `data_json` is the "data" object. `terminal` ends the
  // job-scoped subscriptions of this job after delivery.
  void publish(const EventSource& source, int64_t seq, ipc::EventKind kind, std::string_view data_json,
               int64_t ts_ms, bool terminal);

  // Sends one event to a single subscription (a late subscriber's catch-up).
  void sendTo(uint64_t subscription, std::string_view job_id, int64_t seq, ipc::EventKind kind,
              std::string_view data_json, int64_t ts_ms, const upstream::StreamDelta* chunk = nullptr);

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
    // The start of its event lines (daemon/turn/event_line.h), written once.
    std::string prefix;
  };
  // Looked up with string_views on every event: transparent, so no key is copied.
  using Index = StringMap<std::vector<uint64_t>>;
  // An event kept for sinks until the turn commits: its own copy of every view.
  struct Owned {
    std::string job_id;
    int64_t seq = 0;
    ipc::EventKind kind = ipc::EventKind::kQueued;
    int64_t ts_ms = 0;
    std::string data_json;
    bool has_chunk = false;
    int chunk_index = 0;
    std::string content, reasoning, tool_calls_json, reasoning_details_json, logprobs_json;
  };
  // The subscriptions a sink gets an event on: (connection, subscription).
  using SinkTargets = std::vector<std::pair<uint64_t, uint64_t>>;
  struct Delivery {
    std::vector<std::pair<uint64_t, std::string>> prefixes;  // Text: connection, line prefix.
    std::string tail;
    SinkTargets sinks;
    Owned event;  // Filled only when `sinks` is not empty.
  };

  template <class F>
  void forEachMatch(const EventSource& source, ipc::EventKind kind, F&& f) const;
  // Sends now, or after the turn commits; then ends the job subscriptions of
  // `finished_job` (if not empty), so the terminal event reaches them first.
  // `stateless` events (message_chunk) announce nothing the database holds: they
  // go out even if the turn's commit fails, so a running job keeps streaming to
  // its subscribers while the disk is full.
  void deliver(Delivery d, std::string finished_job, bool stateless = false);
  // Adds `s` to `d`: as a text prefix, or as a sink target.
  void target(Delivery& d, const Subscription& s) const;
  static Owned own(const EventSource& source, int64_t seq, ipc::EventKind kind, std::string_view data_json,
                   int64_t ts_ms);
  void sendAll(const Delivery& d) const;
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
  std::unordered_map<uint64_t, EventSink*> sinks_;  // By connection.
};

}  // namespace llmq::daemon
