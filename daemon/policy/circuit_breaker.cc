// CircuitBreakers: a sliding window of failure times per target.
#include "daemon/policy/circuit_breaker.h"

#include "common/json.h"
#include "common/time.h"

namespace llmq::daemon {

bool CircuitBreakers::blocked(const std::string& key, int64_t now_ms, int64_t* retry_at) const {
  auto it = breakers_.find(key);
  if (it == breakers_.end()) {
    return false;
  }
  const Breaker& b = it->second;
  if (b.state == State::kOpen) {
    if (now_ms - b.opened_at >= options_.cooldown_ms) {
      return false;  // Half-open by now: the next start probes.
    }
    *retry_at = b.opened_at + options_.cooldown_ms;
    return true;
  }
  if (b.state == State::kHalfOpen && b.probing) {
    *retry_at = now_ms + 100;
    return true;
  }
  return false;
}

bool CircuitBreakers::allow(const std::string& key, int64_t now_ms, int64_t* retry_at) {
  auto it = breakers_.find(key);
  if (it == breakers_.end()) {
    return true;
  }
  Breaker& b = it->second;
  if (b.state == State::kOpen && now_ms - b.opened_at >= options_.cooldown_ms) {
    b.state = State::kHalfOpen;
    b.probing = false;
  }
  switch (b.state) {
    case State::kClosed:
      return true;
    case State::kHalfOpen:
      if (!b.probing) {
        b.probing = true;
        return true;
      }
      *retry_at = now_ms + 100;  // A probe is out; look again shortly.
      return false;
    case State::kOpen:
      *retry_at = b.opened_at + options_.cooldown_ms;
      return false;
  }
  return true;
}

void CircuitBreakers::onSuccess(const std::string& key) {
  auto it = breakers_.find(key);
  if (it != breakers_.end()) {
    breakers_.erase(it);  // Closed and clean.
  }
}

void CircuitBreakers::onFailure(const std::string& key, int64_t now_ms) {
  auto it = breakers_.find(key);
  if (it == breakers_.end()) {
    if (breakers_.size() >= kMaxBreakers) {
      forgetClosed(now_ms);
      if (breakers_.size() >= kMaxBreakers) {
        return;  // Every one open or failing lately: this target goes unwatched for now.
      }
    }
    it = breakers_.emplace(key, Breaker{}).first;
  }
  Breaker& b = it->second;
  if (b.state == State::kHalfOpen) {
    b.state = State::kOpen;  // The probe failed.
    b.opened_at = now_ms;
    b.probing = false;
    return;
  }
  b.failures.push_back(now_ms);
  while (!b.failures.empty() && now_ms - b.failures.front() > options_.window_ms) {
    b.failures.pop_front();
  }
  if (b.state == State::kClosed && static_cast<int>(b.failures.size()) >= options_.failures) {
    b.state = State::kOpen;
    b.opened_at = now_ms;
  }
}

void CircuitBreakers::forgetClosed(int64_t now_ms) {
  for (auto it = breakers_.begin(); it != breakers_.end();) {
    Breaker& b = it->second;
    while (!b.failures.empty() && now_ms - b.failures.front() > options_.window_ms) {
      b.failures.pop_front();
    }
    it = b.state == State::kClosed && b.failures.empty() ? breakers_.erase(it) : std::next(it);
  }
}

void CircuitBreakers::onAbandoned(const std::string& key) {
  auto it = breakers_.find(key);
  if (it != breakers_.end()) {
    it->second.probing = false;
  }
}

std::optional<std::vector<std::string>> CircuitBreakers::reset(std::string_view name) {
  std::vector<std::string> closed;
  for (auto it = breakers_.begin(); it != breakers_.end();) {
    const std::string& target = it->first;
    const size_t slash = target.find('/');
    const bool match = name.empty() || target == name ||
                       (slash != std::string::npos && std::string_view(target).substr(slash + 1) == name);
    if (!match) {
      ++it;
      continue;
    }
    closed.push_back(target);
    it = breakers_.erase(it);
  }
  if (closed.empty() && !name.empty()) {
    return std::nullopt;
  }
  return closed;
}

std::vector<std::pair<std::string, std::string>> CircuitBreakers::states(int64_t now_ms) const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [key, b] : breakers_) {
    if (b.state == State::kClosed) {
      continue;
    }
    const bool open = b.state == State::kOpen && now_ms - b.opened_at < options_.cooldown_ms;
    out.emplace_back(key, open ? "open" : "half_open");
  }
  return out;
}

std::string CircuitBreakers::statusJson(int64_t now_ms, int64_t wall_now_ms) const {
  std::string out = "[";
  bool first = true;
  for (const auto& [key, b] : breakers_) {
    State state = b.state;
    if (state == State::kOpen && now_ms - b.opened_at >= options_.cooldown_ms) {
      state = State::kHalfOpen;
    }
    if (!first) {
      out += ",";
    }
    first = false;
    out += "{\"target\":";
    json::appendString(out, key);
    out += ",\"state\":\"";
    out += state == State::kOpen ? "open" : state == State::kHalfOpen ? "half_open" : "closed";
    out += "\",\"failures\":" + std::to_string(b.failures.size()) + ",\"until\":";
    const int64_t left = b.opened_at + options_.cooldown_ms - now_ms;
    out += state == State::kOpen ? "\"" + rfc3339(wall_now_ms + left) + "\"" : "null";
    out += "}";
  }
  out += "]";
  return out;
}

}  // namespace llmq::daemon
