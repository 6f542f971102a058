// daemon::CircuitBreakers: one breaker per provider+model (docs/upstream.md). After
// `failures` retryable failures within `window`, the breaker opens: no request
// goes to that model, jobs fall over to their next model. After `cooldown` it is
// half-open and lets one probe through: success closes it, failure opens it again.
// Times are milliseconds on the monotonic clock (Clock::monoMs()), so a step of
// the wall clock neither shortens nor stretches a cooldown. Loop thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daemon/config_types.h"

namespace llmq::daemon {

class CircuitBreakers {
 public:
  explicit CircuitBreakers(CircuitOptions options) : options_(options) {}
  // Targets are provider/model, and any user may name a model: at most this many
  // breakers are kept. Past it, closed ones without a recent failure are
  // forgotten; if every one is open or failing, a new target is not watched
  // until one is (its jobs still retry with backoff).
  static constexpr size_t kMaxBreakers = 4096;
  // New thresholds (SIGHUP); breakers keep their state.
  void setOptions(CircuitOptions options) { options_ = options; }

  // True when `key` takes no request now (open, or half-open with its probe out);
  // `*retry_at` says when to look again. Changes nothing.
  bool blocked(const std::string& key, int64_t now_ms, int64_t* retry_at) const;
  // May a request go to `key` (provider/model) now? A half-open breaker admits one
  // probe at a time. When not, `*retry_at` says when it half-opens.
  bool allow(const std::string& key, int64_t now_ms, int64_t* retry_at);
  void onSuccess(const std::string& key);
  void onFailure(const std::string& key, int64_t now_ms);
  // A probe that ended without a verdict (cancelled): let another one through.
  void onAbandoned(const std::string& key);
  // breakers.reset: closes (forgets) the breaker of `name`, a target
  // ("provider/model") or a model (every provider's breaker for it); empty: every
  // breaker. Returns the targets that were not closed and clean, or nullopt when
  // no breaker matches a non-empty name.
  std::optional<std::vector<std::string>> reset(std::string_view name);

  // [{"target": "...", "state": "open|half_open|closed", "failures": N, "until": ...}]
  // for every breaker that is not closed and clean. "until" is a wall time:
  // `wall_now_ms` (the wall clock at `now_ms`) plus what remains of the cooldown.
  std::string statusJson(int64_t now_ms, int64_t wall_now_ms) const;
  // How many breakers are kept (at most kMaxBreakers).
  size_t size() const { return breakers_.size(); }
  // The breakers that are not closed: (target, "open" | "half_open").
  std::vector<std::pair<std::string, std::string>> states(int64_t now_ms) const;

 private:
  enum class State { kClosed, kOpen, kHalfOpen };
  struct Breaker {
    State state = State::kClosed;
    std::deque<int64_t> failures;  // Times of recent failures, within the window.
    int64_t opened_at = 0;
    bool probing = false;
  };

  // Forgets the breakers that are closed with no failure left in the window.
  void forgetClosed(int64_t now_ms);

  CircuitOptions options_;
  std::map<std::string, Breaker> breakers_;
};

}  // namespace llmq::daemon
