// daemon::RateLimiter: the daemon's own limits (DESIGN §4): requests per minute
// and per second, tokens per minute and concurrent requests, per key and per
// model, from [[limits.key]] / [[limits.model]] rules; and the cooldowns a 429
// puts on a key or a model. The scheduler asks readyAt() before it claims a job,
// so a job that cannot go now stays queued and the loop sleeps until the earliest
// moment something can go.
//
// Each rule gives every subject it matches a bucket of its own: `match = "*"` on
// keys limits each key separately. Subjects are key names ("pool-1", "server",
// a configured provider's name, "user:<fingerprint>" for a job's own key) and
// model ids. Windows slide: no more than `rpm` requests in any 60 s (plus
// `guard_ms`, the slack that absorbs the time between our clock and the
// provider's), however the requests bunch. Tokens are the estimate at the start,
// corrected by the real usage at the end.
//
// Time is passed in (milliseconds), so tests drive a minute-long window without
// sleeping. Loop thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace llmq::daemon {

enum class LimitScope { kKey, kModel };

struct LimitRule {
  LimitScope scope = LimitScope::kModel;
  std::string match;    // Wildcard pattern over subjects.
  int64_t rpm = 0;      // 0: no limit.
  int64_t rps = 0;
  int64_t tpm = 0;
  int64_t concurrency = 0;
};

struct LimitOptions {
  std::vector<LimitRule> rules;
  int64_t guard_ms = 20;
};

// The buckets one attempt counted in, so its end can be accounted for.
struct LimitPermit {
  struct Entry {
    uint32_t bucket;
    uint64_t token_seq;  // Its entry in the bucket's token window.
  };
  std::vector<Entry> entries;
  bool held = false;
};

class RateLimiter {
 public:
  // readyAt() when the request waits for a running one to end, not for a time.
  static constexpr int64_t kOnRelease = INT64_MAX;

  explicit RateLimiter(LimitOptions options);

  // True if some rule limits tokens (callers estimate tokens only then).
  bool countsTokens() const { return counts_tokens_; }
  // The earliest time, >= now_ms, at which a request with key subject `key` (empty:
  // no key) for `model`, estimated at `tokens`, may go; kOnRelease when a
  // concurrency limit is full. Changes nothing but expiring old window entries.
  int64_t readyAt(std::string_view key, std::string_view model, int64_t tokens, int64_t now_ms);
  // The same for the key's limits and cooldown only (choosing among pool keys).
  int64_t keyReadyAt(std::string_view key, int64_t tokens, int64_t now_ms);
  int64_t modelReadyAt(std::string_view model, int64_t tokens, int64_t now_ms);
  // Counts a request that goes now.
  LimitPermit acquire(std::string_view key, std::string_view model, int64_t tokens, int64_t now_ms);
  // The request ended: frees its concurrency slot and, when `actual_tokens` >= 0,
  // replaces its token estimate with the real usage. Idempotent.
  void release(LimitPermit& permit, int64_t actual_tokens);

  // A 429: no request for the subject before `until_ms`. Returns true if this began
  // a cooldown, false if the subject was already cooling down (the 429 came from a
  // request sent before the first one was answered).
  bool coolDown(LimitScope scope, std::string_view subject, int64_t until_ms, int64_t now_ms);
  // The end of the subject's cooldown, or 0 when it has none.
  int64_t cooldownUntil(LimitScope scope, std::string_view subject, int64_t now_ms) const;

  // {"guard_ms":..,"rules":[...],"buckets":[...],"cooldowns":[...]}
  std::string statusJson(int64_t now_ms);

 private:
  struct Bucket {
    LimitScope scope;
    std::string subject;
    size_t rule;
    std::deque<int64_t> minute;  // Request times within the last minute.
    std::deque<int64_t> second;  // ... within the last second.
    struct Tokens {
      int64_t at;
      int64_t count;
    };
    std::deque<Tokens> tokens;   // Within the last minute; front has sequence token_base.
    uint64_t token_base = 0;
    int64_t token_sum = 0;
    int64_t inflight = 0;
  };

  const std::vector<uint32_t>& bucketsFor(LimitScope scope, std::string_view subject);
  void expire(Bucket& b, int64_t now_ms);
  int64_t bucketReadyAt(Bucket& b, int64_t tokens, int64_t now_ms);
  int64_t subjectReadyAt(LimitScope scope, std::string_view subject, int64_t tokens, int64_t now_ms);
  static std::string subjectKey(LimitScope scope, std::string_view subject);

  LimitOptions options_;
  bool counts_tokens_ = false;
  std::vector<Bucket> buckets_;
  // "k:pool-1" / "m:openai/gpt-4o" -> the buckets of the rules that match it.
  std::unordered_map<std::string, std::vector<uint32_t>> by_subject_;
  struct Cooldown {
    int64_t until;
    int64_t since;
  };
  std::unordered_map<std::string, Cooldown> cooldowns_;
};

const char* limitScopeName(LimitScope scope);

// A request's tokens before it runs: its prompt at about four bytes a token, plus
// `max_tokens` (or `max_completion_tokens`) when it sets one.
int64_t estimateRequestTokens(std::string_view request_json);

}  // namespace llmq::daemon
