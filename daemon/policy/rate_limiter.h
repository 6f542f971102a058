// daemon::RateLimiter: the daemon's own limits (docs/configuration.md, Rate limits): requests per minute
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
// Learning (docs/configuration.md, Rate limits: "learns from 429s"): a key nobody configured a request
// rate for (rps or rpm) still gets one once a 429 shows where the provider's
// limit lies. When the cooldown that 429 began is over (so every request of the
// second before it has been answered), the key's rate becomes the number of its
// requests that started within that second and were answered: what the provider
// let through. Every `kProbeEveryMs` without a 429 the learned rate grows by a
// tenth, so a raised limit is found again; the next 429 learns anew.
//
// Time is passed in (milliseconds on the monotonic clock, Clock::monoMs()), so a
// step of the wall clock neither shortens nor stretches a cooldown or a window,
// and tests drive a minute-long window without sleeping. Loop thread only.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

#include <vector>

#include "common/job_kind.h"
#include "common/job_options.h"
#include "common/string_map.h"
#include "daemon/config_types.h"

namespace llmq::daemon {

// The buckets one attempt counted in, so its end can be accounted for.
struct LimitPermit {
  struct Entry {
    uint32_t bucket;
    uint64_t token_seq;  // Its entry in the bucket's token window.
  };
  std::vector<Entry> entries;
  std::string key;  // The key subject, for learning ("" when none).
  int64_t started_at = 0;
  bool active = false;
};

class RateLimiter {
 public:
  // readyAt() when the request waits for a running one to end, not for a time.
  static constexpr int64_t kOnRelease = INT64_MAX;

  explicit RateLimiter(LimitOptions options);

  // New rules (SIGHUP): a bucket whose rule is still there (same scope and match)
  // keeps its windows and running requests under the rule's new figures; buckets
  // of rules that are gone stop limiting (their running requests still end here).
  void reconfigure(LimitOptions options);

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
  // replaces its token estimate with the real usage. `ok`: the upstream answered
  // it (what learning counts). Idempotent.
  void release(LimitPermit& permit, int64_t actual_tokens, bool ok = false);

  // A 429: no request for the subject before `until_ms`. Returns true if this began
  // a cooldown, false if the subject was already cooling down (the 429 came from a
  // request sent before the first one was answered).
  bool coolDown(LimitScope scope, std::string_view subject, int64_t until_ms, int64_t now_ms);
  // The rate learned for key `key` from its 429s; 0 while none was learned.
  int64_t learnedRps(std::string_view key) const;
  static constexpr int64_t kProbeEveryMs = 30000;

  // The end of the subject's cooldown, or 0 when it has none.
  int64_t cooldownUntil(LimitScope scope, std::string_view subject, int64_t now_ms) const;

  // {"guard_ms":..,"rules":[...],"buckets":[...],"cooldowns":[...]}
  // Without `include_keys`, the rules and buckets of key scope are left out (for
  // anyone but an administrator: key names are the pool's business). A cooldown's
  // "until" is shown as a wall time: `wall_now_ms` (the wall clock at `now_ms`)
  // plus what remains of it.
  std::string statusJson(int64_t now_ms, int64_t wall_now_ms, bool include_keys = true);

  // What is kept per subject: buckets in use, index entries, cooldowns and learned
  // rates. Bounded (kMaxSubjects) whatever subjects outsiders name.
  size_t subjectsHeld() const;

  // Subjects come from outside (model names any user may ask for, the
  // fingerprints of users' own keys), so what is kept per subject is bounded:
  // past this many subjects of one scope, or this many cooldowns or learned
  // rates, what holds nothing (no request, token or 429 still in a window, no
  // permit out) is forgotten. A forgotten subject starts afresh on its next
  // request, as after a restart.
  static constexpr size_t kMaxSubjects = 4096;

 private:
  struct Bucket {
    LimitScope scope;
    std::string subject;
    LimitRule rule;              // A copy: reconfigure() may change it in place.
    bool retired = false;        // Its rule is gone: it limits nothing any more.
    std::deque<int64_t> minute;  // Request times within the last minute.
    std::deque<int64_t> second;  // ... within the last second.
    struct Tokens {
      int64_t at;
      int64_t count;
    };
    std::deque<Tokens> tokens;  // Within the last minute; front has sequence token_base.
    uint64_t token_base = 0;
    int64_t token_sum = 0;
    int64_t inflight = 0;
    bool unused = false;  // A free slot (forgetIdle()), taken again by a new bucket.
  };

  const std::vector<uint32_t>& bucketsFor(LimitScope scope, std::string_view subject);
  void forgetIdle(LimitScope scope);
  void forgetIdleLearned();
  void expire(Bucket& b, int64_t now_ms);
  int64_t bucketReadyAt(Bucket& b, int64_t tokens, int64_t now_ms);
  int64_t subjectReadyAt(LimitScope scope, std::string_view subject, int64_t tokens, int64_t now_ms);

  LimitOptions options_;
  bool counts_tokens_ = false;
  std::vector<Bucket> buckets_;
  // "k:pool-1" / "m:openai/gpt-4o" -> the buckets of the rules that match it.
  // Per scope (LimitScope as index): subject -> the buckets of the rules that match it.
  std::array<StringMap<std::vector<uint32_t>>, 2> by_subject_;
  struct Cooldown {
    int64_t until;
    int64_t since;
  };
  std::array<StringMap<Cooldown>, 2> cooldowns_;  // Per scope, by subject.
  // Per key subject: when its recent requests started, and which were answered.
  struct Learned {
    std::deque<int64_t> sent;   // Start times within the last second (+ guard).
    std::deque<int64_t> ok;     // Start times of answered requests, same window.
    int64_t rps = 0;            // 0: nothing learned.
    int64_t since = 0;          // When rps was last set (learned or probed up).
    int64_t pending = 0;        // A 429 at this time awaits its count (0: none).
    int64_t pending_until = 0;  // ... once its cooldown is over.
  };
  bool configuredRate(std::string_view key);
  // The learned rate of `key`, made if missing; null when kMaxSubjects keys are
  // all busy.
  Learned* learnedFor(std::string_view key, int64_t now_ms);
  void trim(Learned& l, int64_t now_ms) const;
  StringMap<Learned> learned_;
  std::vector<uint32_t> unused_;  // Slots of buckets_ free for reuse.
  int64_t latest_ms_ = 0;         // The latest time any caller passed in.
};

// A request's tokens before it runs, from its facts (taken at submit): its
// prompt at about four bytes a token, plus `max_tokens` (or
// `max_completion_tokens`) when it sets one.
int64_t estimateRequestTokens(const RequestFacts& facts);

}  // namespace llmq::daemon
