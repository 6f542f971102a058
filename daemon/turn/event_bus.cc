// EventBus: indices from job id, client and tag to subscription ids; delivery
// through ipc::Server::send (which enforces the per-connection output bound).
#include "daemon/turn/event_bus.h"

#include <algorithm>
#include <cstdlib>

#include "daemon/turn/commit_cycle.h"
#include "daemon/turn/event_line.h"
#include "ipc/server.h"

namespace llmq::daemon {
namespace {

void eraseId(std::vector<uint64_t>& v, uint64_t id) { v.erase(std::remove(v.begin(), v.end(), id), v.end()); }

template <class Index>
void eraseFrom(Index& index, const std::string& key, uint64_t id) {
  auto it = index.find(key);
  if (it != index.end()) {
    eraseId(it->second, id);
    if (it->second.empty()) {
      index.erase(it);
    }
  }
}

}  // namespace

std::string EventBus::formatId(uint64_t subscription) { return "s" + std::to_string(subscription); }

bool EventBus::parseId(std::string_view text, uint64_t* subscription) {
  if (text.size() < 2 || text.size() > 21 || text[0] != 's') {
    return false;
  }
  uint64_t v = 0;
  for (char c : text.substr(1)) {
    if (c < '0' || c > '9') {
      return false;
    }
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) {
      return false;  // Would overflow: no such subscription.
    }
    v = v * 10 + d;
  }
  *subscription = v;
  return true;
}

std::string EventBus::refusal(uint64_t conn_id) const {
  if (subs_.size() >= limits_.max_total) {
    return "llmqd holds " + std::to_string(subs_.size()) +
           " subscriptions, its limit ([ipc] max_subscriptions); try again once some end";
  }
  auto c = by_conn_.find(conn_id);
  if (c != by_conn_.end() && c->second.size() >= limits_.max_per_connection) {
    return "this connection holds " + std::to_string(c->second.size()) +
           " subscriptions, its limit ([ipc] max_subscriptions_per_connection); "
           "unsubscribe some, or use one subscription by client or tag";
  }
  return {};
}

uint64_t EventBus::subscribe(uint64_t conn_id, SubscriptionScope scope, std::string key, uint32_t mask) {
  uint64_t id = next_id_++;
  switch (scope) {
    case SubscriptionScope::kJob:
      by_job_[key].push_back(id);
      break;
    case SubscriptionScope::kClient:
      by_client_[key].push_back(id);
      break;
    case SubscriptionScope::kTag:
      by_tag_[key].push_back(id);
      break;
    case SubscriptionScope::kAll:
      all_.push_back(id);
      break;
  }
  by_conn_[conn_id].push_back(id);
  subs_.emplace(id, Subscription{id, conn_id, scope, std::move(key), mask, eventPrefix(id)});
  server_.hold(conn_id);
  return id;
}

void EventBus::removeFromIndex(const Subscription& s) {
  switch (s.scope) {
    case SubscriptionScope::kJob:
      eraseFrom(by_job_, s.key, s.id);
      break;
    case SubscriptionScope::kClient:
      eraseFrom(by_client_, s.key, s.id);
      break;
    case SubscriptionScope::kTag:
      eraseFrom(by_tag_, s.key, s.id);
      break;
    case SubscriptionScope::kAll:
      eraseId(all_, s.id);
      break;
  }
}

bool EventBus::unsubscribe(uint64_t conn_id, uint64_t subscription) {
  auto it = subs_.find(subscription);
  if (it == subs_.end() || it->second.conn_id != conn_id) {
    return false;
  }
  removeFromIndex(it->second);
  auto c = by_conn_.find(conn_id);
  if (c != by_conn_.end()) {
    eraseId(c->second, subscription);
    if (c->second.empty()) {
      by_conn_.erase(c);
    }
  }
  subs_.erase(it);
  server_.release(conn_id);
  return true;
}

void EventBus::dropConnection(uint64_t conn_id) {
  sinks_.erase(conn_id);
  auto c = by_conn_.find(conn_id);
  if (c == by_conn_.end()) {
    return;
  }
  for (uint64_t id : c->second) {
    auto it = subs_.find(id);
    if (it != subs_.end()) {
      removeFromIndex(it->second);
      subs_.erase(it);
    }
  }
  by_conn_.erase(c);
}

template <class F>
void EventBus::forEachMatch(const EventSource& source, ipc::EventKind kind, F&& f) const {
  const uint32_t bit = 1u << static_cast<int>(kind);
  auto visit = [&](uint64_t id) {
    auto it = subs_.find(id);
    if (it != subs_.end() && (it->second.mask & bit) != 0) {
      f(it->second);
    }
  };
  auto visitKey = [&](const Index& index, std::string_view key) {
    if (index.empty()) {
      return;
    }
    auto it = index.find(key);
    if (it != index.end()) {
      for (uint64_t id : it->second) {
        visit(id);
      }
    }
  };
  for (uint64_t id : all_) {
    visit(id);
  }
  visitKey(by_job_, source.job_id);
  visitKey(by_client_, source.client);
  if (source.tags != nullptr && !by_tag_.empty()) {
    const std::vector<std::string>& tags = *source.tags;
    for (size_t i = 0; i < tags.size(); ++i) {
      // A tag listed twice must not deliver twice (tags are few: quadratic is fine).
      if (std::find(tags.begin(), tags.begin() + static_cast<std::ptrdiff_t>(i), tags[i]) ==
          tags.begin() + static_cast<std::ptrdiff_t>(i)) {
        visitKey(by_tag_, tags[i]);
      }
    }
  }
}

bool EventBus::wanted(const EventSource& source, ipc::EventKind kind) const {
  if (subs_.empty()) {
    return false;
  }
  bool any = false;
  forEachMatch(source, kind, [&](const Subscription&) { any = true; });
  return any;
}

bool EventBus::wantedAsText(const EventSource& source, ipc::EventKind kind) const {
  if (subs_.empty()) {
    return false;
  }
  bool any = false;
  forEachMatch(source, kind, [&](const Subscription& s) { any = any || !sinks_.contains(s.conn_id); });
  return any;
}

void EventBus::target(Delivery& d, const Subscription& s) const {
  if (sinks_.contains(s.conn_id)) {
    d.sinks.emplace_back(s.conn_id, s.id);
    return;
  }
  d.prefixes.emplace_back(s.conn_id, s.prefix);
}

EventBus::Owned EventBus::own(const EventSource& source, int64_t seq, ipc::EventKind kind,
                              std::string_view data_json, int64_t ts_ms) {
  Owned o{std::string(source.job_id), seq, kind, ts_ms, std::string(data_json)};
  if (const upstream::StreamDelta* c = source.chunk) {
    o.has_chunk = true;
    o.chunk_index = c->index;
    o.content = c->content;
    o.reasoning = c->reasoning;
    o.tool_calls_json = c->tool_calls_json;
    o.reasoning_details_json = c->reasoning_details_json;
    o.logprobs_json = c->logprobs_json;
  }
  return o;
}

void EventBus::publish(const EventSource& source, int64_t seq, ipc::EventKind kind, std::string_view data_json,
                       int64_t ts_ms, bool terminal) {
  Delivery d;
  forEachMatch(source, kind, [&](const Subscription& s) { target(d, s); });
  std::string finished_job = terminal ? std::string(source.job_id) : std::string();
  if (d.prefixes.empty() && d.sinks.empty() && !terminal) {
    return;
  }
  if (!d.prefixes.empty()) {
    d.tail = eventTail(source.job_id, seq, kind, data_json, ts_ms);
  }
  if (!d.sinks.empty()) {
    d.event = own(source, seq, kind, data_json, ts_ms);
  }
  deliver(std::move(d), std::move(finished_job), kind == ipc::EventKind::kMessageChunk);
}

void EventBus::endJobSubscriptions(const std::string& job_id) {
  // Job-scoped subscriptions end with their job (see ipc/PROTOCOL.md).
  auto it = by_job_.find(job_id);
  if (it == by_job_.end()) {
    return;
  }
  std::vector<uint64_t> ids = it->second;
  for (uint64_t id : ids) {
    auto s = subs_.find(id);
    if (s != subs_.end()) {
      unsubscribe(s->second.conn_id, id);
    }
  }
}

void EventBus::sendTo(uint64_t subscription, std::string_view job_id, int64_t seq, ipc::EventKind kind,
                      std::string_view data_json, int64_t ts_ms, const upstream::StreamDelta* chunk) {
  auto it = subs_.find(subscription);
  if (it == subs_.end()) {
    return;
  }
  Delivery d;
  target(d, it->second);
  if (!d.prefixes.empty()) {
    d.tail = eventTail(job_id, seq, kind, data_json, ts_ms);
  } else {
    d.event = own(EventSource{job_id, {}, nullptr, chunk}, seq, kind, data_json, ts_ms);
  }
  deliver(std::move(d), {});
}

void EventBus::sendAll(const Delivery& d) const {
  for (const auto& [conn, prefix] : d.prefixes) {
    server_.send(conn, prefix, d.tail);
  }
  if (d.sinks.empty()) {
    return;
  }
  const Owned& o = d.event;
  upstream::StreamDelta chunk;
  chunk.index = o.chunk_index;
  chunk.content = o.content;
  chunk.reasoning = o.reasoning;
  chunk.tool_calls_json = o.tool_calls_json;
  chunk.reasoning_details_json = o.reasoning_details_json;
  chunk.logprobs_json = o.logprobs_json;
  BusEvent e{0, 0, o.job_id, o.seq, o.kind, o.ts_ms, o.data_json, o.has_chunk ? &chunk : nullptr};
  for (const auto& [conn, sub] : d.sinks) {
    // A sink detached (its connection dropped), or a subscription ended, since.
    auto sink = sinks_.find(conn);
    if (sink != sinks_.end() && subs_.contains(sub)) {
      e.conn_id = conn;
      e.subscription = sub;
      sink->second->onEvent(e);
    }
  }
}

void EventBus::deliver(Delivery d, std::string finished_job, bool stateless) {
  auto send = [this](const Delivery& what, const std::string& finished) {
    sendAll(what);
    if (!finished.empty()) {
      endJobSubscriptions(finished);
    }
  };
  if (!cycle_.open()) {
    send(d, finished_job);
    return;
  }
  cycle_.afterCommit([send, d = std::move(d), f = std::move(finished_job), stateless](bool committed) {
    if (committed || stateless) {  // Otherwise the state this event announced was rolled back.
      send(d, f);
    }
  });
}

}  // namespace llmq::daemon
