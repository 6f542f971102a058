// KeyPool: round-robin with per-key health.
#include "daemon/policy/key_pool.h"

#include <sodium.h>

#include <algorithm>
#include <cstdio>

#include "common/json.h"
#include "common/secret.h"
#include "common/text.h"
#include "common/time.h"

namespace llmq::daemon {

const char* keyStateName(KeyState state) {
  switch (state) {
    case KeyState::kOk:
      return "ok";
    case KeyState::kCooldown:
      return "cooldown";
    case KeyState::kExhausted:
      return "exhausted";
    case KeyState::kInvalid:
      return "invalid";
  }
  return "?";
}

KeyPool::KeyPool(const std::vector<std::string>& pool, const std::string& single) {
  for (const std::string& k : pool) {
    bool dup = std::any_of(keys_.begin(), keys_.end(), [&](const PooledKey& p) { return p.secret == k; });
    if (!dup) {
      keys_.push_back(PooledKey{"pool-" + std::to_string(keys_.size() + 1), k, fingerprint(k)});
    }
  }
  if (!single.empty() &&
      std::none_of(keys_.begin(), keys_.end(), [&](const PooledKey& p) { return p.secret == single; })) {
    PooledKey k{"server", single, fingerprint(single)};
    k.last_resort = !keys_.empty();
    keys_.push_back(std::move(k));
  }
}

int KeyPool::next(int64_t now_ms, std::optional<int64_t>* available_at, const ReadyAt& ready_at,
                  KeyStrategy strategy) {
  available_at->reset();
  // The last resort only once no pool key is alive: a pool key that is merely
  // cooling down or at its limits is waited for.
  const bool pool_alive = std::any_of(
      keys_.begin(), keys_.end(), [](const PooledKey& k) { return !k.last_resort && k.state == KeyState::kOk; });
  std::vector<int> ready;
  for (size_t idx = 0; idx < keys_.size(); ++idx) {
    const PooledKey& k = keys_[idx];
    if (k.state != KeyState::kOk || (k.last_resort && pool_alive)) {
      continue;
    }
    const int64_t at = ready_at(k);
    if (at == kSkip) {
      continue;
    }
    if (at <= now_ms) {
      ready.push_back(static_cast<int>(idx));
    } else if (!*available_at || at < **available_at) {
      *available_at = at;
    }
  }
  if (ready.empty()) {
    return -1;
  }
  available_at->reset();
  return choose(ready, strategy);
}

int KeyPool::choose(const std::vector<int>& ready, KeyStrategy strategy) {
  const auto requests = [this](int i) { return keys_[static_cast<size_t>(i)].requests; };
  switch (strategy) {
    case KeyStrategy::kFillFirst:
      return ready.front();
    case KeyStrategy::kLeastUsed:
      return *std::min_element(ready.begin(), ready.end(), [&](int a, int b) { return requests(a) < requests(b); });
    case KeyStrategy::kRandom:
      return ready[draw(static_cast<uint32_t>(ready.size()))];
    case KeyStrategy::kTwoChoices: {
      if (ready.size() == 1) {
        return ready.front();
      }
      // Two distinct keys drawn; the one with fewer errors per request (counts
      // smoothed so a new key is neither perfect nor condemned), then fewer requests.
      const auto n = static_cast<uint32_t>(ready.size());
      const uint32_t first = draw(n);
      const uint32_t second = (first + 1 + draw(n - 1)) % n;
      const auto errorRate = [this](int i) {
        const PooledKey& k = keys_[static_cast<size_t>(i)];
        return (static_cast<double>(k.errors) + 1) / (static_cast<double>(k.requests) + 2);
      };
      const int a = ready[std::min(first, second)];
      const int b = ready[std::max(first, second)];
      if (errorRate(a) != errorRate(b)) {
        return errorRate(a) < errorRate(b) ? a : b;
      }
      return requests(b) < requests(a) ? b : a;
    }
    case KeyStrategy::kRoundRobin:
      break;
  }
  // The first ready key at or after the cursor, cyclically.
  const auto after = std::lower_bound(ready.begin(), ready.end(), static_cast<int>(cursor_));
  const int idx = after != ready.end() ? *after : ready.front();
  cursor_ = (static_cast<size_t>(idx) + 1) % keys_.size();
  return idx;
}

uint32_t KeyPool::draw(uint32_t n) const { return draw_ ? draw_(n) % n : randombytes_uniform(n); }

void KeyPool::markExhausted(int index) {
  PooledKey& k = keys_[static_cast<size_t>(index)];
  k.state = KeyState::kExhausted;
  ++k.errors;
}

void KeyPool::markInvalid(int index) {
  PooledKey& k = keys_[static_cast<size_t>(index)];
  k.state = KeyState::kInvalid;
  ++k.errors;
}

void KeyPool::spend(int index, double usd) {
  KeyCredit& c = keys_[static_cast<size_t>(index)].credit;
  if (c.known && usd > 0) {
    c.usage += usd;
    if (c.remaining) {
      *c.remaining = std::max(0.0, *c.remaining - usd);
    }
  }
}

bool KeyPool::anyCreditKnown() const {
  return std::any_of(keys_.begin(), keys_.end(), [](const PooledKey& k) { return k.credit.known; });
}

bool KeyPool::anyAlive() const {
  return std::any_of(keys_.begin(), keys_.end(), [](const PooledKey& k) { return k.state == KeyState::kOk; });
}

bool KeyPool::allInvalid() const {
  return !keys_.empty() &&
         std::all_of(keys_.begin(), keys_.end(), [](const PooledKey& k) { return k.state == KeyState::kInvalid; });
}

std::optional<std::vector<std::string>> KeyPool::reset(std::string_view name) {
  std::vector<std::string> benched;
  bool found = name.empty();
  for (PooledKey& k : keys_) {
    if (!name.empty() && k.name != name && k.fingerprint != name) {
      continue;
    }
    found = true;
    if (k.state != KeyState::kOk) {
      k.state = KeyState::kOk;
      benched.push_back(k.name);
    }
    k.credit = KeyCredit{};  // Unknown until the next GET /key: a stale "nothing left" benches no more.
  }
  if (!found) {
    return std::nullopt;
  }
  return benched;
}

std::string KeyPool::statusJson(int64_t now_ms, const ReadyAt& cooldown_until) const {
  std::string out = "[";
  for (size_t i = 0; i < keys_.size(); ++i) {
    const PooledKey& k = keys_[i];
    const int64_t until = k.state == KeyState::kOk ? cooldown_until(k) : 0;
    const bool cooling = until > now_ms;
    const KeyState shown = cooling ? KeyState::kCooldown : k.state;
    if (i > 0) {
      out += ",";
    }
    out += "{\"name\":";
    json::appendString(out, k.name);
    out += ",\"fingerprint\":";
    json::appendString(out, k.fingerprint);
    out += k.last_resort ? ",\"last_resort\":true" : ",\"last_resort\":false";
    out += ",\"state\":\"";
    out += keyStateName(shown);
    out += "\",\"until\":";
    out += cooling ? "\"" + rfc3339(until) + "\"" : std::string("null");
    out += ",\"requests\":" + std::to_string(k.requests) + ",\"errors\":" + std::to_string(k.errors);
    out += ",\"credit\":";
    if (k.credit.known) {
      out += "{\"usage_usd\":" + decimal(k.credit.usage) +
             ",\"limit_usd\":" + (k.credit.limit ? decimal(*k.credit.limit) : "null") +
             ",\"remaining_usd\":" + (k.credit.remaining ? decimal(*k.credit.remaining) : "null") +
             ",\"checked_at\":\"" + rfc3339(k.credit.checked_at) + "\"}";
    } else {
      out += "null";
    }
    out += "}";
  }
  out += "]";
  return out;
}

}  // namespace llmq::daemon
