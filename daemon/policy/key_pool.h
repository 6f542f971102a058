// daemon::KeyPool: the server's OpenRouter keys (docs/upstream.md, "Keys and
// fallbacks"): OPENROUTER_API_KEYS (a JSON array or a comma list), handed out
// among the healthy ones by [openrouter] key_strategy (round-robin, fill-first,
// least-used, random, p2c), and OPENROUTER_API_KEY, the last resort: it
// takes requests only once no pool key is left (each exhausted or invalid). A 402
// / "insufficient credits" marks a key exhausted, a 401 invalid, until
// keys.reset (an administrator) or a restart. Time-bound limits (a 429's cooldown, requests per
// minute) live in the RateLimiter; the pool asks through a callback which keys
// may take a request now. Keys appear outside this class only as fingerprints.
//
// Loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/config_types.h"

namespace llmq::daemon {

enum class KeyState { kOk, kCooldown, kExhausted, kInvalid };  // kCooldown: shown only.

// A key's credit as OpenRouter's GET /key last said (daemon/policy/key_credit.h), less
// what llmqd has spent with it since.
struct KeyCredit {
  bool known = false;
  std::optional<double> limit;      // USD; nullopt: the key has no limit.
  double usage = 0;                 // USD spent, as of the last check plus our own since.
  std::optional<double> remaining;  // USD; nullopt: unlimited.
  int64_t checked_at = 0;
};

struct PooledKey {
  std::string name;                // "pool-1", ... or "server" for OPENROUTER_API_KEY.
  std::string secret;              // Never logged, never returned.
  std::string fingerprint;         // "sk-or…f2bf"
  KeyState state = KeyState::kOk;  // kOk, kExhausted or kInvalid.
  bool last_resort = false;        // OPENROUTER_API_KEY beside a pool: used only when no pool key is left.
  uint64_t requests = 0;
  uint64_t errors = 0;
  KeyCredit credit;
};

class KeyPool {
 public:
  KeyPool() = default;
  // `pool`: the elements of OPENROUTER_API_KEYS; `single`: OPENROUTER_API_KEY (may be empty).
  KeyPool(const std::vector<std::string>& pool, const std::string& single);

  bool empty() const { return keys_.empty(); }
  size_t size() const { return keys_.size(); }

  // When a key may take its next request (<= now: at once); RateLimiter::kOnRelease
  // when it waits for a running request to end; kSkip when it cannot take this one
  // at all (its credit would not cover it), as if it were exhausted.
  using ReadyAt = std::function<int64_t(const PooledKey&)>;
  static constexpr int64_t kSkip = INT64_MIN;

  // A usable key that is ready now, chosen among them by `strategy`, or -1. When
  // -1, `*available_at` says when the first healthy key will be ready (or stays
  // nullopt when every key is exhausted or invalid). `now_ms` is on the clock
  // `ready_at` answers in (llmqd: the monotonic one, as RateLimiter).
  int next(int64_t now_ms, std::optional<int64_t>* available_at, const ReadyAt& ready_at,
           KeyStrategy strategy = KeyStrategy::kRoundRobin);
  // The draws of the random and p2c strategies: uniform in [0, n). libsodium's
  // unless a test sets its own.
  void setDrawForTests(std::function<uint32_t(uint32_t)> draw) { draw_ = std::move(draw); }
  const PooledKey& key(int index) const { return keys_[static_cast<size_t>(index)]; }

  void noteRequest(int index) { ++keys_[static_cast<size_t>(index)].requests; }
  void markExhausted(int index);
  void markInvalid(int index);
  void noteError(int index) { ++keys_[static_cast<size_t>(index)].errors; }
  void setCredit(int index, const KeyCredit& credit) { keys_[static_cast<size_t>(index)].credit = credit; }
  // llmqd spent `usd` with the key: its known credit goes down until the next check.
  void spend(int index, double usd);
  bool anyCreditKnown() const;
  // True while some key is neither exhausted nor invalid.
  bool anyAlive() const;
  // True when there are keys and every one is invalid (401): jobs fail UNAUTHORIZED
  // rather than OPENROUTER_SYSTEM_KEY_EXHAUSTED.
  bool allInvalid() const;
  // keys.reset: puts the key named `name` (its name or fingerprint; empty: every
  // key) back to ok. Returns the names of the keys that were benched, or nullopt
  // when no key has that name.
  std::optional<std::vector<std::string>> reset(std::string_view name);

  // [{name, fingerprint, state, until, requests, errors}]; `cooldown_until` gives the
  // end of a key's cooldown (<= now: none).
  std::string statusJson(int64_t now_ms, const ReadyAt& cooldown_until) const;

 private:
  // Among the ready keys (indices, ascending), the one `strategy` takes.
  int choose(const std::vector<int>& ready, KeyStrategy strategy);
  uint32_t draw(uint32_t n) const;

  std::vector<PooledKey> keys_;
  size_t cursor_ = 0;
  std::function<uint32_t(uint32_t)> draw_;
};

const char* keyStateName(KeyState state);

}  // namespace llmq::daemon
