// RateLimiter: sliding windows of request times and token counts per bucket.
#include "daemon/policy/rate_limiter.h"

#include <algorithm>

#include "common/json.h"
#include "common/time.h"
#include "common/wildcard.h"
#include "daemon/policy/request_estimate.h"

namespace llmq::daemon {
namespace {

constexpr int64_t kMinuteMs = 60000;
constexpr int64_t kSecondMs = 1000;

}  // namespace

int64_t estimateRequestTokens(const RequestFacts& facts) {
  return facts.prompt_tokens + facts.completion_cap.value_or(0);
}

RateLimiter::RateLimiter(LimitOptions options) : options_(std::move(options)) {
  counts_tokens_ =
      std::any_of(options_.rules.begin(), options_.rules.end(), [](const LimitRule& r) { return r.tpm > 0; });
}

void RateLimiter::reconfigure(LimitOptions options) {
  options_ = std::move(options);
  counts_tokens_ =
      std::any_of(options_.rules.begin(), options_.rules.end(), [](const LimitRule& r) { return r.tpm > 0; });
  for (Bucket& b : buckets_) {
    auto it = std::find_if(options_.rules.begin(), options_.rules.end(),
                           [&](const LimitRule& r) { return r.scope == b.scope && r.match == b.rule.match; });
    if (it == options_.rules.end()) {
      b.retired = true;
    } else if (!b.retired) {
      b.rule = *it;
    }
  }
  for (auto& index : by_subject_) {
    index.clear();  // Subjects find their rules again on their next request.
  }
}

const std::vector<uint32_t>& RateLimiter::bucketsFor(LimitScope scope, std::string_view subject) {
  auto& index = by_subject_[static_cast<size_t>(scope)];
  auto it = index.find(subject);
  if (it != index.end()) {
    return it->second;
  }
  if (index.size() >= kMaxSubjects) {
    forgetIdle(scope);
  }
  std::vector<uint32_t> ids;
  for (const LimitRule& r : options_.rules) {
    if (r.scope != scope || !wildcardMatch(r.match, subject)) {
      continue;
    }
    // After a reconfigure() the bucket may exist already: keep its windows.
    uint32_t id = static_cast<uint32_t>(buckets_.size());
    for (uint32_t i = 0; i < buckets_.size(); ++i) {
      const Bucket& b = buckets_[i];
      if (!b.retired && !b.unused && b.scope == scope && b.subject == subject && b.rule.match == r.match &&
          std::find(ids.begin(), ids.end(), i) == ids.end()) {
        id = i;
        break;
      }
    }
    if (id == buckets_.size()) {
      Bucket fresh{scope, std::string(subject), r, false, {}, {}, {}, 0, 0, 0, false};
      if (unused_.empty()) {
        buckets_.push_back(std::move(fresh));
      } else {
        id = unused_.back();
        unused_.pop_back();
        buckets_[id] = std::move(fresh);
      }
    }
    ids.push_back(id);
  }
  return index.emplace(std::string(subject), std::move(ids)).first->second;
}

void RateLimiter::forgetIdle(LimitScope scope) {
  for (uint32_t i = 0; i < buckets_.size(); ++i) {
    Bucket& b = buckets_[i];
    if (b.unused || b.scope != scope) {
      continue;
    }
    expire(b, latest_ms_);
    if (b.inflight == 0 && (b.retired || (b.minute.empty() && b.second.empty() && b.tokens.empty()))) {
      Bucket freed;  // Fields set one by one: GCC 12 -O3 misreads the aggregate temporary.
      freed.scope = scope;
      freed.retired = true;
      freed.unused = true;
      b = std::move(freed);
      unused_.push_back(i);
    }
  }
  // Only this scope's index: a caller may be walking the other scope's list. Every
  // subject of this scope finds its (kept) buckets again on its next request.
  by_subject_[static_cast<size_t>(scope)].clear();
  auto& cooldowns = cooldowns_[static_cast<size_t>(scope)];
  for (auto it = cooldowns.begin(); it != cooldowns.end();) {
    it = it->second.until <= latest_ms_ ? cooldowns.erase(it) : std::next(it);
  }
}

void RateLimiter::forgetIdleLearned() {
  for (auto it = learned_.begin(); it != learned_.end();) {
    Learned& l = it->second;
    trim(l, latest_ms_);
    const bool idle = l.sent.empty() && l.ok.empty() && l.pending == 0 &&
                      (l.rps == 0 || latest_ms_ - l.since > kProbeEveryMs);
    it = idle ? learned_.erase(it) : std::next(it);
  }
}

size_t RateLimiter::subjectsHeld() const {
  return buckets_.size() - unused_.size() + by_subject_[0].size() + by_subject_[1].size() + cooldowns_[0].size() +
         cooldowns_[1].size() + learned_.size();
}

RateLimiter::Learned* RateLimiter::learnedFor(std::string_view key, int64_t now_ms) {
  auto it = learned_.find(key);
  if (it != learned_.end()) {
    return &it->second;
  }
  latest_ms_ = std::max(latest_ms_, now_ms);
  if (learned_.size() >= kMaxSubjects) {
    forgetIdleLearned();
    if (learned_.size() >= kMaxSubjects) {
      return nullptr;  // Every one busy: this key learns nothing for now.
    }
  }
  return &learned_.emplace(std::string(key), Learned{}).first->second;
}

void RateLimiter::expire(Bucket& b, int64_t now_ms) {
  latest_ms_ = std::max(latest_ms_, now_ms);
  const int64_t minute_floor = now_ms - kMinuteMs - options_.guard_ms;
  while (!b.minute.empty() && b.minute.front() <= minute_floor) {
    b.minute.pop_front();
  }
  const int64_t second_floor = now_ms - kSecondMs - options_.guard_ms;
  while (!b.second.empty() && b.second.front() <= second_floor) {
    b.second.pop_front();
  }
  while (!b.tokens.empty() && b.tokens.front().at <= minute_floor) {
    b.token_sum -= b.tokens.front().count;
    b.tokens.pop_front();
    ++b.token_base;
  }
}

int64_t RateLimiter::bucketReadyAt(Bucket& b, int64_t tokens, int64_t now_ms) {
  expire(b, now_ms);
  const LimitRule& r = b.rule;
  if (r.concurrency > 0 && b.inflight >= r.concurrency) {
    return kOnRelease;
  }
  int64_t at = now_ms;
  // The window admits another request once enough of its entries have aged out.
  if (r.rpm > 0 && static_cast<int64_t>(b.minute.size()) >= r.rpm) {
    at = std::max(at, b.minute[b.minute.size() - static_cast<size_t>(r.rpm)] + kMinuteMs + options_.guard_ms);
  }
  if (r.rps > 0 && static_cast<int64_t>(b.second.size()) >= r.rps) {
    at = std::max(at, b.second[b.second.size() - static_cast<size_t>(r.rps)] + kSecondMs + options_.guard_ms);
  }
  if (r.tpm > 0 && b.token_sum > 0 && b.token_sum + tokens > r.tpm) {
    // A request larger than the whole budget goes alone, once the window is empty.
    int64_t sum = b.token_sum;
    for (const Bucket::Tokens& t : b.tokens) {
      sum -= t.count;
      if (sum <= 0 || sum + tokens <= r.tpm) {
        at = std::max(at, t.at + kMinuteMs + options_.guard_ms);
        break;
      }
    }
  }
  return at;
}

int64_t RateLimiter::subjectReadyAt(LimitScope scope, std::string_view subject, int64_t tokens, int64_t now_ms) {
  int64_t at = std::max(now_ms, cooldownUntil(scope, subject, now_ms));
  for (uint32_t id : bucketsFor(scope, subject)) {
    at = std::max(at, bucketReadyAt(buckets_[id], tokens, now_ms));
    if (at == kOnRelease) {
      break;
    }
  }
  return at;
}

void RateLimiter::trim(Learned& l, int64_t now_ms) const {
  // A pending count still needs the second before its 429.
  const int64_t floor = std::min(now_ms, l.pending != 0 ? l.pending : now_ms) - kSecondMs - options_.guard_ms;
  while (!l.sent.empty() && l.sent.front() <= floor) {
    l.sent.pop_front();
  }
  while (!l.ok.empty() && l.ok.front() <= floor) {
    l.ok.pop_front();
  }
}

bool RateLimiter::configuredRate(std::string_view key) {
  for (uint32_t id : bucketsFor(LimitScope::kKey, key)) {
    const LimitRule& r = buckets_[id].rule;
    if (r.rps > 0 || r.rpm > 0) {
      return true;
    }
  }
  return false;
}

int64_t RateLimiter::learnedRps(std::string_view key) const {
  auto it = learned_.find(key);
  return it == learned_.end() ? 0 : it->second.rps;
}

int64_t RateLimiter::keyReadyAt(std::string_view key, int64_t tokens, int64_t now_ms) {
  if (key.empty()) {
    return now_ms;
  }
  int64_t at = subjectReadyAt(LimitScope::kKey, key, tokens, now_ms);
  if (at == kOnRelease || learned_.empty()) {
    return at;
  }
  auto it = learned_.find(key);
  if (it != learned_.end() && it->second.pending != 0 && now_ms >= it->second.pending_until) {
    // Every request of the second before the 429 has been answered by now.
    Learned& l = it->second;
    const int64_t from = l.pending - kSecondMs - options_.guard_ms;
    int64_t answered = 0;
    for (int64_t t : l.ok) {
      answered += t > from && t <= l.pending;
    }
    l.rps = std::max<int64_t>(1, answered);
    l.since = now_ms;
    l.pending = 0;
  }
  if (it != learned_.end() && it->second.rps > 0) {
    Learned& l = it->second;
    if (now_ms - l.since >= kProbeEveryMs) {
      l.rps += std::max<int64_t>(1, l.rps / 10);  // Quiet for a while: probe for more.
      l.since = now_ms;
    }
    trim(l, now_ms);
    if (static_cast<int64_t>(l.sent.size()) >= l.rps) {
      at = std::max(at, l.sent[l.sent.size() - static_cast<size_t>(l.rps)] + kSecondMs + options_.guard_ms);
    }
  }
  return at;
}

int64_t RateLimiter::modelReadyAt(std::string_view model, int64_t tokens, int64_t now_ms) {
  return subjectReadyAt(LimitScope::kModel, model, tokens, now_ms);
}

int64_t RateLimiter::readyAt(std::string_view key, std::string_view model, int64_t tokens, int64_t now_ms) {
  int64_t at = modelReadyAt(model, tokens, now_ms);
  return at == kOnRelease ? at : std::max(at, keyReadyAt(key, tokens, now_ms));
}

LimitPermit RateLimiter::acquire(std::string_view key, std::string_view model, int64_t tokens, int64_t now_ms) {
  LimitPermit p;
  p.active = true;
  auto count = [&](LimitScope scope, std::string_view subject) {
    for (uint32_t id : bucketsFor(scope, subject)) {
      Bucket& b = buckets_[id];
      expire(b, now_ms);
      const LimitRule& r = b.rule;
      if (r.rpm > 0) {
        b.minute.push_back(now_ms);
      }
      if (r.rps > 0) {
        b.second.push_back(now_ms);
      }
      uint64_t seq = 0;
      if (r.tpm > 0) {
        seq = b.token_base + b.tokens.size();
        b.tokens.push_back({now_ms, tokens});
        b.token_sum += tokens;
      }
      ++b.inflight;
      p.entries.push_back({id, seq});
    }
  };
  count(LimitScope::kModel, model);
  if (!key.empty()) {
    count(LimitScope::kKey, key);
    if (Learned* l = learnedFor(key, now_ms)) {
      trim(*l, now_ms);
      l->sent.push_back(now_ms);
    }
    p.key = std::string(key);
  }
  p.started_at = now_ms;
  return p;
}

void RateLimiter::release(LimitPermit& permit, int64_t actual_tokens, bool ok) {
  if (!permit.active) {
    return;
  }
  permit.active = false;
  if (ok && !permit.key.empty()) {
    auto it = learned_.find(permit.key);
    if (it != learned_.end()) {
      // Kept in start order: answers come back out of order.
      std::deque<int64_t>& done = it->second.ok;
      done.insert(std::upper_bound(done.begin(), done.end(), permit.started_at), permit.started_at);
    }
  }
  for (const LimitPermit::Entry& e : permit.entries) {
    Bucket& b = buckets_[e.bucket];
    --b.inflight;
    if (actual_tokens >= 0 && b.rule.tpm > 0 && e.token_seq >= b.token_base &&
        e.token_seq - b.token_base < b.tokens.size()) {
      Bucket::Tokens& t = b.tokens[e.token_seq - b.token_base];
      b.token_sum += actual_tokens - t.count;
      t.count = actual_tokens;
    }
  }
}

bool RateLimiter::coolDown(LimitScope scope, std::string_view subject, int64_t until_ms, int64_t now_ms) {
  auto& cooldowns = cooldowns_[static_cast<size_t>(scope)];
  latest_ms_ = std::max(latest_ms_, now_ms);
  auto it = cooldowns.find(subject);
  const bool inserted = it == cooldowns.end();
  if (inserted && cooldowns.size() >= kMaxSubjects) {
    for (auto c = cooldowns.begin(); c != cooldowns.end();) {
      c = c->second.until <= now_ms ? cooldowns.erase(c) : std::next(c);
    }
    if (cooldowns.size() >= kMaxSubjects) {
      // Every one still running: this subject's jobs wait out their retry delay
      // (the Retry-After, job_runner.cc) without holding the others back.
      return true;
    }
  }
  if (inserted) {
    it = cooldowns.emplace(std::string(subject), Cooldown{until_ms, now_ms}).first;
  }
  if (inserted || it->second.until <= now_ms) {
    it->second = Cooldown{until_ms, now_ms};
    if (scope == LimitScope::kKey && !configuredRate(subject)) {
      // What the provider let through in the second before is its rate; counted
      // once the cooldown is over and every request of that second is answered.
      if (Learned* l = learnedFor(subject, now_ms)) {
        l->pending = now_ms;
        l->pending_until = until_ms;
      }
    }
    return true;
  }
  it->second.until = std::max(it->second.until, until_ms);
  return false;
}

int64_t RateLimiter::cooldownUntil(LimitScope scope, std::string_view subject, int64_t now_ms) const {
  const auto& cooldowns = cooldowns_[static_cast<size_t>(scope)];
  if (cooldowns.empty()) {
    return 0;
  }
  auto it = cooldowns.find(subject);
  return it != cooldowns.end() && it->second.until > now_ms ? it->second.until : 0;
}

std::string RateLimiter::statusJson(int64_t now_ms, int64_t wall_now_ms, bool include_keys) {
  std::string o = "{\"guard_ms\":" + std::to_string(options_.guard_ms) + ",\"rules\":[";
  bool first_rule = true;
  for (const LimitRule& r : options_.rules) {
    if (!include_keys && r.scope == LimitScope::kKey) {
      continue;
    }
    o += first_rule ? "{\"scope\":\"" : ",{\"scope\":\"";
    first_rule = false;
    o += limitScopeName(r.scope);
    o += "\",\"match\":";
    json::appendString(o, r.match);
    o += ",\"rpm\":" + std::to_string(r.rpm) + ",\"rps\":" + std::to_string(r.rps) +
         ",\"tpm\":" + std::to_string(r.tpm) + ",\"concurrency\":" + std::to_string(r.concurrency) + "}";
  }
  o += "],\"buckets\":[";
  bool first = true;
  for (Bucket& b : buckets_) {
    expire(b, now_ms);
    if (b.retired || (b.minute.empty() && b.second.empty() && b.tokens.empty() && b.inflight == 0) ||
        (!include_keys && b.scope == LimitScope::kKey)) {
      continue;  // Idle: nothing to show.
    }
    o += first ? "{\"scope\":\"" : ",{\"scope\":\"";
    first = false;
    o += limitScopeName(b.scope);
    o += "\",\"subject\":";
    json::appendString(o, b.subject);
    o += ",\"match\":";
    json::appendString(o, b.rule.match);
    o += ",\"requests_last_minute\":" + std::to_string(b.minute.size()) +
         ",\"requests_last_second\":" + std::to_string(b.second.size()) +
         ",\"tokens_last_minute\":" + std::to_string(b.token_sum) + ",\"inflight\":" + std::to_string(b.inflight) +
         "}";
  }
  o += "],\"learned\":[";
  first = true;
  for (const auto& [k, l] : learned_) {
    if (l.rps == 0) {
      continue;
    }
    o += first ? "{\"key\":" : ",{\"key\":";
    first = false;
    json::appendString(o, k);
    o += ",\"rps\":" + std::to_string(l.rps) + "}";
  }
  o += "],\"cooldowns\":[";
  first = true;
  for (LimitScope scope : {LimitScope::kKey, LimitScope::kModel}) {
    for (const auto& [subject, c] : cooldowns_[static_cast<size_t>(scope)]) {
      if (c.until <= now_ms) {
        continue;
      }
      o += first ? "{\"scope\":\"" : ",{\"scope\":\"";
      first = false;
      o += limitScopeName(scope);
      o += "\",\"subject\":";
      json::appendString(o, subject);
      o += ",\"until\":\"" + rfc3339(wall_now_ms + (c.until - now_ms)) + "\"}";
    }
  }
  o += "]}";
  return o;
}

}  // namespace llmq::daemon
