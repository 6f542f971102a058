// JobRunner: attempt lifecycle. Every state change goes through JobLifecycle so
// counters, events and waiters stay consistent; all writes land in the turn's
// transaction (CommitCycle) and events leave after it commits.
#include "daemon/jobs/job_runner.h"

#include <algorithm>
#include <cstdio>

#include "common/json.h"
#include "common/log.h"
#include "common/schema_check.h"
#include "common/secret.h"
#include "common/time.h"
#include "daemon/config.h"
#include "daemon/jobs/backoff.h"
#include "daemon/jobs/event_data.h"
#include "daemon/jobs/job_json.h"
#include "daemon/jobs/job_lifecycle.h"
#include "daemon/jobs/responses_format.h"
#include "daemon/jobs/retry_plan.h"
#include "daemon/jobs/scheduler.h"
#include "daemon/policy/accounting.h"
#include "daemon/policy/circuit_breaker.h"
#include "daemon/policy/key_pool.h"
#include "daemon/policy/model_chain.h"
#include "daemon/policy/provider_registry.h"
#include "daemon/policy/request_estimate.h"
#include "daemon/policy/response_cache.h"
#include "daemon/policy/route_signals.h"
#include "daemon/turn/commit_cycle.h"
#include "daemon/turn/event_bus.h"
#include "daemon/turn/metrics.h"
#include "daemon/turn/run_state.h"
#include "store/secret_store.h"
#include "store/store.h"
#include "upstream/chat_response.h"

namespace llmq::daemon {
namespace {

// Only the attempts of jobs a [[routes]] rule routed feed RouteSignals, whose
// balancing strategies only such jobs read: the models it follows are then the
// rules' (and those jobs' own fallbacks), not any name a user invents.
bool routedByRule(const store::JobRecord& j) { return j.options.routing && j.options.routing->route; }

}  // namespace
namespace {

using ipc::EventKind;
using store::JobState;

// A 429 without Retry-After still cools its key or model down this long.
constexpr int64_t kMinCooldownMs = 1000;

void logStoreError(const char* what, int64_t job_id, const Error& e) {
  LOG_ERROR("%s %s: %s", what, ipc::formatJobId(job_id).c_str(), e.message.c_str());
}

// An answer that fails the job's structured-output check (response_format,
// common/schema_check.h): a failed attempt, billed as it was answered,
// retried while [retry] schema_attempts allows. Only a chat answer's text is
// checked; an answer that calls tools instead has none to check.
constexpr std::string_view kSchemaMismatch = "SCHEMA_MISMATCH";

std::optional<upstream::Failure> checkOutput(const store::JobRecord& j, const upstream::Completion& c) {
  if (!j.options.output_check || j.kind != JobKind::kChat || c.finish_reason == "tool_calls") {
    return std::nullopt;
  }
  std::string why = checkAnswer(*j.options.output_check, c.content);
  if (why.empty()) {
    return std::nullopt;
  }
  upstream::Failure f{std::string(kSchemaMismatch), std::move(why), c.http_status, true, "local"};
  f.usage = c.usage;
  return f;
}

}  // namespace

ActiveJob::ActiveJob(JobRunner* r, store::JobRecord j) : runner(r), job(std::move(j)) {
  tags = parseTags(job.tags_json);
}

ActiveJob::~ActiveJob() { store::wipe(own_key); }

Spender ActiveJob::spender() const {
  return Spender{job.client, attempt.model, key_name, attempt.key_fingerprint, &tags};
}

void ActiveJob::onDelta(const upstream::StreamDelta& delta) { runner->onDelta(*this, delta); }
void ActiveJob::onComplete(upstream::Completion&& c) { runner->onComplete(*this, std::move(c)); }
void ActiveJob::onFailure(upstream::Failure&& f) { runner->onFailure(*this, std::move(f)); }

JobRunner::JobRunner(Parts parts)
    : p_(parts), timer_(parts.loop, [this] { onTimer(); }), rng_(std::random_device{}()) {}

JobRunner::~JobRunner() = default;

void JobRunner::close() { timer_.close(); }

const ActiveJob* JobRunner::find(int64_t job_id) const {
  auto it = active_.find(job_id);
  return it == active_.end() ? nullptr : it->second.get();
}

int64_t JobRunner::backoffMs(int attempt) {
  return daemon::backoffMs(attempt, p_.config.retry_base_ms, p_.config.retry_cap_ms, rng_);
}

// What the gates of one attempt share while they decide (JobRunner::start): the
// job, the clocks, and what the gates before found.
struct JobRunner::Admission {
  Admission(ActiveJob& job, int64_t now_ms, int64_t mono_ms, JobState before)
      : a(job), now(now_ms), mono(mono_ms), previous(before) {}

  ActiveJob& a;
  const int64_t now;  // Wall clock, for what is stored.
  // Breakers, rate limits and cooldowns keep time on the monotonic clock (a step
  // of the wall clock must not shorten or stretch them); a retry time from them
  // is stored as wall time, `now` plus what remains.
  const int64_t mono;
  const JobState previous;
  std::string model;        // The chain's model this attempt uses (chooseModel).
  ProviderChoice provider;  // Who serves the model (chooseProvider).
  bool byok = false;        // The job's own key goes first.
  int64_t tokens = 0;       // What the rate limits count for it.
  const char* key_source = "none";
  std::string_view api_key;

  // The attempt's worst-case cost, from the request's facts: worked out at
  // most once, and only when key credit or a budget asks for it.
  std::optional<double> worstCase(const Accounting& accounting) {
    if (!worst_case) {
      worst_case = accounting.worstCaseUsd(tokensOf(factsOf(a.job)), model);
    }
    return *worst_case;
  }

 private:
  std::optional<std::optional<double>> worst_case;
};

JobRunner::StartResult JobRunner::start(store::JobRecord job) {
  const JobState previous = job.state;
  auto a = std::make_unique<ActiveJob>(this, std::move(job));
  if (auto w = p_.cycle.write(); !w) {
    logStoreError("starting", a->job.id, w.error());
    return {StartResult::kStoreError};  // The job stays queued in the store; the scheduler tries again later.
  }
  Admission in{*a, p_.clock.nowMs(), p_.clock.monoMs(), previous};
  // Each gate lets the attempt on, or ends here: the job waits (still queued,
  // untouched), or was parked, held, failed or answered from the cache.
  for (Verdict (JobRunner::*gate)(Admission&) :
       {&JobRunner::chooseModel, &JobRunner::chooseProvider, &JobRunner::tryCache, &JobRunner::modelLimit,
        &JobRunner::chooseKey, &JobRunner::keyLimit, &JobRunner::reserveBudget, &JobRunner::probeBreaker}) {
    if (Verdict v = (this->*gate)(in)) {
      return *v;
    }
  }
  return claim(std::move(a), in);
}

// The chain of models, resumed where an earlier attempt left it, past the ones
// whose circuit breaker is open.
JobRunner::Verdict JobRunner::chooseModel(Admission& in) {
  ActiveJob* a = &in.a;
  store::JobRecord& j = a->job;
  const int64_t now = in.now;
  const int64_t mono = in.mono;
  a->chain = modelChain(j, p_.config);
  if (a->chain.empty()) {
    // The message first: j is moved into failNow in the same call.
    upstream::Failure f{"INVALID_REQUEST", "no chain \"" + j.model + "\" is configured", 0, false, "local"};
    failNow(std::move(j), a->tags, f);
    return StartResult{};
  }
  // Resume where an earlier attempt left the chain (model_used survives restarts).
  for (size_t i = 0; i < a->chain.size(); ++i) {
    if (a->chain[i] == j.model_used) {
      a->model_index = i;
    }
  }
  // Circuit breakers: skip the models whose breaker is open (fall over to the next
  // one); when every remaining model is blocked, the job is parked in retry_wait
  // until the first half-opens, without spending an attempt or holding the queue.
  {
    int64_t retry_at = INT64_MAX;
    size_t idx = a->model_index;
    for (; idx < a->chain.size(); ++idx) {
      const ProviderChoice r = p_.providers.resolve(a->chain[idx], j.options.provider.value_or(""));
      int64_t at = INT64_MAX;
      if (r.provider == nullptr || !p_.circuits.blocked(std::string(r.name) + "/" + a->chain[idx], mono, &at)) {
        break;
      }
      retry_at = std::min(retry_at, at);
    }
    if (idx == a->chain.size()) {
      if (j.options.fail_when_cooling) {
        // The HTTP front's callers (SDKs) are told when to come back instead of
        // waiting out the cooldown inside their request.
        const int64_t wait_ms = std::max<int64_t>(1, retry_at - mono);
        upstream::Failure f{"COOLING_DOWN",
                            "every model this job may use has its circuit breaker open after repeated "
                            "upstream failures; retry after " +
                                std::to_string((wait_ms + 999) / 1000) + " s",
                            0, false, "local"};
        f.retry_after_ms = wait_ms;
        failNow(std::move(j), a->tags, f);
        return StartResult{};
      }
      park(std::move(j), a->tags, now + (retry_at - mono), "circuit_open");
      return StartResult{};
    }
    if (idx != a->model_index) {
      j.run_attempts = 0;  // A fresh set of attempts on the model that takes over.
    }
    a->model_index = idx;
  }
  in.model = a->chain[a->model_index];
  return std::nullopt;
}

// The provider that serves the model, and a key for it.
JobRunner::Verdict JobRunner::chooseProvider(Admission& in) {
  ActiveJob* a = &in.a;
  store::JobRecord& j = a->job;
  const std::string& model = in.model;
  const std::string pinned = j.options.provider.value_or("");
  in.provider = p_.providers.resolve(model, pinned);
  const ProviderChoice& choice = in.provider;
  // BYOK (docs/upstream.md): the job's own key comes first, for every HTTP provider.
  in.byok = j.options.byok && choice.provider != nullptr && choice.name != "mock";
  if (choice.provider == nullptr || (choice.needs_key && !choice.has_key && !in.byok)) {
    upstream::Failure f =
        choice.provider == nullptr
            ? upstream::Failure{"INVALID_REQUEST",
                                (pinned.empty() ? std::string("no provider")
                                                : "provider \"" + pinned + "\" no longer") +
                                    " serves model \"" + model + "\"",
                                0, false, "local"}
            : upstream::Failure{"NO_API_KEY", "no API key is configured for provider " + std::string(choice.name),
                                0, false, "local"};
    failNow(std::move(j), a->tags, f);
    return StartResult{};
  }
  a->provider = choice.provider;
  return std::nullopt;
}

// The response cache (opt-in) answers before any key, limit or budget is asked:
// a cached answer reaches no upstream and costs nothing.
JobRunner::Verdict JobRunner::tryCache(Admission& in) {
  ActiveJob& a = in.a;
  const store::JobRecord& j = a.job;
  const std::string& model = in.model;
  if (p_.cache.eligible(j)) {
    a.cache_key = ResponseCache::key(model, model != j.model ? withModel(j.request_json, model) : j.request_json,
                                     j.kind, j.options.provider.value_or(""));
    if (std::optional<store::CachedResponse> hit = p_.cache.lookup(a.cache_key, in.now)) {
      answerFromCache(a, model, std::move(*hit), in.previous);
      return StartResult{};
    }
  }
  return std::nullopt;
}

// Rate limits (docs/configuration.md): the model's first. A job that cannot go now
// stays queued, untouched; the scheduler wakes when it can.
JobRunner::Verdict JobRunner::modelLimit(Admission& in) {
  RateLimiter& limits = p_.limits;
  in.tokens = limits.countsTokens() ? estimateRequestTokens(factsOf(in.a.job)) : 0;
  if (const int64_t at = limits.modelReadyAt(in.model, in.tokens, in.mono); at > in.mono) {
    return StartResult{StartResult::kWait, at};
  }
  return std::nullopt;
}

// The key: the job's own (BYOK), a pool key that is ready and has the credit, or
// the provider's own.
JobRunner::Verdict JobRunner::chooseKey(Admission& in) {
  ActiveJob* a = &in.a;
  store::JobRecord& j = a->job;
  const ProviderChoice& choice = in.provider;
  const int64_t mono = in.mono;
  const int64_t tokens = in.tokens;
  RateLimiter& limits = p_.limits;
  in.key_source = choice.has_key ? "server" : "none";
  if (in.byok) {
    auto secret = p_.secrets.get(j.id);
    if (!secret || !secret->has_value()) {
      failNow(
          std::move(j), a->tags,
          upstream::Failure{"INVALID_REQUEST", "the job's own API key can no longer be read", 0, false, "local"});
      return StartResult{};
    }
    a->own_key = std::move(**secret);
    in.api_key = a->own_key;
    in.key_source = "user";
    a->attempt.key_fingerprint = fingerprint(a->own_key);
    a->limit_key = "user:" + a->attempt.key_fingerprint;
  } else if (choice.uses_pool) {
    std::optional<int64_t> available_at;
    // A key whose known credit cannot cover this job's worst case is passed over
    // like an exhausted one (GET /key, daemon/policy/key_credit.h).
    std::optional<double> worst;
    if (p_.keys.anyCreditKnown()) {
      worst = in.worstCase(p_.accounting);
    }
    a->key_index = p_.keys.next(
        mono, &available_at,
        [&](const PooledKey& k) {
          if (worst && k.credit.known && k.credit.remaining && *k.credit.remaining < *worst) {
            return KeyPool::kSkip;
          }
          return limits.keyReadyAt(k.name, tokens, mono);
        },
        p_.config.key_strategy);
    if (a->key_index < 0 && available_at) {
      // Every usable key is cooling down or at its limits: the job stays queued,
      // untouched, and the scheduler waits until the first key is ready.
      return StartResult{StartResult::kWait, *available_at};
    }
    if (a->key_index < 0 && p_.keys.allInvalid()) {
      // Every server key was refused (401): a configuration problem, not spent credit.
      failNow(std::move(j), a->tags,
              upstream::Failure{"UNAUTHORIZED",
                                "every server key for OpenRouter is invalid (the upstream answered 401); "
                                "fix OPENROUTER_API_KEYS / OPENROUTER_API_KEY, then `llmq keys reset`; "
                                "retrying the request will not change this",
                                0, false, "local"});
      return StartResult{};
    }
    if (a->key_index < 0) {
      failNow(std::move(j), a->tags,
              upstream::Failure{"OPENROUTER_SYSTEM_KEY_EXHAUSTED",
                                worst ? "no server key for OpenRouter can take this job: each is exhausted, "
                                        "invalid, or has less credit left than its worst case; retrying the "
                                        "request will not change this until an operator adds credit or runs "
                                        "`llmq keys reset`"
                                      : "every server key for OpenRouter is exhausted or invalid; retrying the "
                                        "request will not change this until an operator adds credit or runs "
                                        "`llmq keys reset`",
                                0, false, "local"});
      return StartResult{};
    }
    in.api_key = p_.keys.key(a->key_index).secret;
    a->limit_key = p_.keys.key(a->key_index).name;
    a->key_name = p_.keys.key(a->key_index).name;
    a->attempt.key_fingerprint = p_.keys.key(a->key_index).fingerprint;
  } else if (choice.has_key) {
    a->limit_key = std::string(choice.name);  // A configured provider's own key.
  }
  return std::nullopt;
}

// The chosen key's own rate limit (a pool key's was asked while choosing it).
JobRunner::Verdict JobRunner::keyLimit(Admission& in) {
  if (in.a.key_index < 0) {
    if (const int64_t at = p_.limits.keyReadyAt(in.a.limit_key, in.tokens, in.mono); at > in.mono) {
      return StartResult{StartResult::kWait, at};
    }
  }
  return std::nullopt;
}

// Budgets (docs/money.md): the attempt's worst case is reserved against every budget
// that covers it, or the job is held or refused.
JobRunner::Verdict JobRunner::reserveBudget(Admission& in) {
  ActiveJob* a = &in.a;
  store::JobRecord& j = a->job;
  const std::string& model = in.model;
  a->attempt.model = model;
  if (p_.budgets.covers(a->spender())) {
    const std::optional<double> worst = in.worstCase(p_.accounting);
    const Budget* blocking = nullptr;
    const BudgetBook::Outcome outcome = worst ? p_.budgets.reserve(a->spender(), *worst, &a->reservation, &blocking)
                                              : BudgetBook::Outcome::kReject;
    if (outcome == BudgetBook::Outcome::kWait) {
      return StartResult{StartResult::kWait, RateLimiter::kOnRelease};  // Until a running attempt ends.
    }
    if (outcome != BudgetBook::Outcome::kReserved) {
      std::string why =
          !worst ? "no price is known for model " + model + ", so the budgets that cover it cannot be kept"
                 : "budget " + blocking->row.scope + "/" + blocking->row.period + " has $" +
                       std::to_string(std::max(0.0, blocking->remaining())) +
                       " left and this attempt may cost up to $" + std::to_string(*worst);
      if (outcome == BudgetBook::Outcome::kHold) {
        holdForBudget(std::move(j), a->tags, why);
      } else {
        failNow(std::move(j), a->tags, upstream::Failure{"BUDGET_EXCEEDED", why, 0, false, "local"});
      }
      return StartResult{};
    }
  }
  return std::nullopt;
}

// A breaker that is half-open lets one probe through: another job may have taken it.
JobRunner::Verdict JobRunner::probeBreaker(Admission& in) {
  ActiveJob& a = in.a;
  a.circuit = std::string(in.provider.name) + "/" + in.model;
  if (int64_t at = 0; !p_.circuits.allow(a.circuit, in.mono, &at)) {
    p_.budgets.settle(a.reservation, a.spender(), 0, in.now);
    park(std::move(a.job), a.tags, in.now + (at - in.mono), "circuit_open");  // Another probe got there first.
    return StartResult{};
  }
  return std::nullopt;
}

// Every gate let the attempt on: the job is running, its attempt recorded, and
// the request leaves once this turn commits.
JobRunner::StartResult JobRunner::claim(std::unique_ptr<ActiveJob> owned, Admission& in) {
  ActiveJob* a = owned.get();
  store::JobRecord& j = a->job;
  const int64_t now = in.now;
  const std::string& model = in.model;
  const char* key_source = in.key_source;
  const JobState previous = in.previous;
  RateLimiter& limits = p_.limits;
  if (a->key_index >= 0) {
    p_.keys.noteRequest(a->key_index);
  }
  a->permit = limits.acquire(a->limit_key, model, in.tokens, in.mono);

  j.state = JobState::kRunning;
  ++j.attempts;
  ++j.run_attempts;
  if (!j.started_at) {
    j.started_at = now;
    p_.metrics.queueWait(static_cast<double>(now - j.created_at) / 1000.0);
  }
  j.model_used = model;
  j.next_attempt_at.reset();
  if (model != j.model) {
    a->body = withModel(j.request_json, model);
  }

  a->attempt.job_id = j.id;
  a->attempt.attempt = j.attempts;
  a->attempt.provider = std::string(a->provider->name());
  a->attempt.started_at = now;
  a->attempt.model_asked = j.model;
  a->attempt.client = j.client;
  a->attempt.tags_json = j.tags_json;

  p_.lifecycle.emitWith(j, a->tags, EventKind::kStarted,
                        [&] { return event_data::started(j.attempts, j.model_used, key_source); });
  if (auto r = p_.lifecycle.save(j, previous); !r) {
    logStoreError("starting", j.id, r.error());
    return {StartResult::kStoreError};
  }
  if (auto r = p_.store.insertAttempt(a->attempt); !r) {
    logStoreError("recording the attempt of", j.id, r.error());
  }

  a->api_key = in.api_key;

  int64_t attempt_deadline = INT64_MAX;
  // Only a job's own timeout_s takes a place in deadlines_ (entries of finished
  // attempts stay there until due): the default, [http] attempt_timeout_s, goes to
  // the transfer itself (launch(), CURLOPT_TIMEOUT_MS), so a busy queue does not
  // keep ten minutes of entries.
  if (j.timeout_ms) {
    attempt_deadline = now + *j.timeout_ms;
  }
  if (j.deadline_at) {
    attempt_deadline = std::min(attempt_deadline, *j.deadline_at);
  }
  if (attempt_deadline != INT64_MAX) {
    deadlines_.push(Deadline{attempt_deadline, j.id, j.attempts});
    armTimer();
  }
  const int64_t id = j.id;
  const int attempt = j.attempts;
  active_.emplace(id, std::move(owned));
  // The request leaves only once the claim is committed: a rolled-back claim must
  // not cost an upstream call.
  p_.cycle.afterCommit([this, id, attempt](bool committed) { launch(id, attempt, committed); });
  return {};
}

void JobRunner::launch(int64_t job_id, int attempt, bool committed) {
  auto it = active_.find(job_id);
  if (it == active_.end() || it->second->job.attempts != attempt || it->second->done) {
    return;  // Cancelled (or ended) before its claim committed.
  }
  ActiveJob& a = *it->second;
  if (!committed) {
    // The store still holds the job as it was (queued); forget this attempt.
    a.done = true;
    p_.limits.release(a.permit, 0);
    p_.budgets.settle(a.reservation, a.spender(), 0, a.attempt.started_at);
    graveyard_.push_back(std::move(it->second));
    active_.erase(it);
    queue_->kick();
    return;
  }
  const store::JobRecord& j = a.job;
  upstream::AttemptRequest req;
  req.job_id = ipc::formatJobId(j.id);
  req.attempt = j.attempts;
  req.model = a.chain[a.model_index];
  req.request_json = a.body.empty() ? std::string_view(j.request_json) : std::string_view(a.body);
  req.kind = j.kind;
  if (j.kind == JobKind::kResponses) {
    // To the provider's own /responses when it has one, else as chat completions
    // (onComplete turns the answer back into a Response).
    Result<std::string> body = responsesBody(a, req.request_json);
    if (!body) {
      onFailure(a, upstream::Failure{"INVALID_REQUEST", body.error().message, 0, false, "local"});
      return;
    }
    a.upstream_body = std::move(*body);
    req.request_json = a.upstream_body;
    req.kind = a.translated ? JobKind::kChat : JobKind::kResponses;
  }
  req.stream = j.stream;
  req.timeout_ms = attemptTimeoutMs(j);
  req.api_key = a.api_key;
  req.byok = !a.own_key.empty();
  const std::string request_id = requestIdOf(j);
  req.request_id = request_id;
  auto handle = a.provider->start(req, &a);
  if (!handle) {
    onFailure(a, upstream::Failure{"INVALID_REQUEST", handle.error().message, 0, false, "local"});
    return;
  }
  a.handle = *handle;
}

Result<std::string> JobRunner::responsesBody(ActiveJob& a, std::string_view request_json) {
  json::Document request;
  if (!json::parse(request, request_json, nullptr) || !request.IsObject()) {
    return makeError(ErrorKind::kInvalidArgument, "the Responses request is not a JSON object");
  }
  a.translated = !a.provider->speaksResponses() || a.responses_api_missing;
  if (a.translated) {
    return responses::toChatRequest(request);
  }
  // llmqd keeps the conversation (the input already holds it): the upstream is
  // not asked for a response it may not have.
  request.RemoveMember("previous_response_id");
  return json::toString(request);
}

void JobRunner::catchUp(uint64_t subscription, int64_t job_id, uint32_t event_mask) {
  const ActiveJob* a = find(job_id);
  if (a == nullptr || !a->streamed_text || a->provider == nullptr ||
      (event_mask & (1u << static_cast<int>(EventKind::kMessageChunk))) == 0) {
    return;
  }
  const std::string text = a->provider->streamedText(a->handle);
  if (text.empty()) {
    return;
  }
  upstream::StreamDelta chunk;
  chunk.content = text;
  p_.bus.sendTo(subscription, ipc::formatJobId(job_id), a->job.event_seq, EventKind::kMessageChunk,
                event_data::messageChunk(chunk), p_.clock.nowMs(), &chunk);
}

void JobRunner::park(store::JobRecord job, const std::vector<std::string>& tags, int64_t until_ms,
                     const char* reason) {
  const JobState previous = job.state;
  const int64_t now = p_.clock.nowMs();
  job.state = JobState::kRetryWait;
  job.next_attempt_at = until_ms;
  p_.lifecycle.emitWith(job, tags, EventKind::kRetrying, [&] {
    return event_data::retrying(job.attempts + 1, std::max<int64_t>(0, until_ms - now), reason, 0, {});
  });
  if (auto r = p_.lifecycle.save(job, previous); !r) {
    logStoreError("parking", job.id, r.error());
  }
  queue_->noteRetryAt(until_ms);
}

void JobRunner::markSucceeded(ActiveJob& a, upstream::Completion&& c, const store::Usage& usage, bool cached) {
  store::JobRecord& j = a.job;
  j.state = JobState::kSucceeded;
  j.finished_at = p_.clock.nowMs();
  j.result_json = std::move(c.result_json);
  j.usage = usage;
  j.error = {};
  p_.lifecycle.emitWith(j, a.tags, EventKind::kUsage, [&] { return event_data::usage(c, cached); });
  p_.lifecycle.emitWith(
      j, a.tags, EventKind::kFinalResponse, [&] { return event_data::finalResponse(c, cached); }, true);
}

void JobRunner::answerFromCache(ActiveJob& a, const std::string& model, store::CachedResponse hit,
                                store::JobState previous) {
  const int64_t now = p_.clock.nowMs();
  store::JobRecord& j = a.job;
  ++j.attempts;
  ++j.run_attempts;
  if (!j.started_at) {
    j.started_at = now;
  }
  j.model_used = model;
  a.attempt.job_id = j.id;
  a.attempt.attempt = j.attempts;
  a.attempt.model = model;
  a.attempt.provider = "cache";
  a.attempt.started_at = now;
  a.attempt.finished_at = now;
  a.attempt.outcome = "succeeded";
  a.attempt.model_asked = j.model;
  a.attempt.client = j.client;
  a.attempt.tags_json = j.tags_json;
  a.attempt.usage =
      store::Usage{hit.prompt_tokens, hit.completion_tokens, hit.prompt_tokens + hit.completion_tokens, 0.0};
  a.attempt.cost_source = "cache";
  a.attempt.latency_ms = 0;
  a.attempt.ttft_ms = 0;
  a.attempt.cached = true;
  if (auto r = p_.store.insertAttempt(a.attempt); !r) {
    logStoreError("recording the attempt of", j.id, r.error());
  }
  if (auto r = p_.store.updateAttempt(a.attempt); !r) {
    logStoreError("recording the attempt of", j.id, r.error());
  }
  p_.lifecycle.emitWith(j, a.tags, EventKind::kStarted,
                        [&] { return event_data::started(j.attempts, model, "cache"); });
  // The events need the stored chat.completion's text, finish reason and model;
  // the usage is the cached tokens at no cost.
  upstream::Completion c;
  upstream::ChatOutcome stored = upstream::parseChatResponse(hit.result_json);
  if (auto* parsed = std::get_if<upstream::Completion>(&stored)) {
    c = std::move(*parsed);
  } else {
    c.finish_reason = "stop";
    c.model = model;
  }
  if (c.model.empty()) {
    c.model = model;
  }
  c.result_json = std::move(hit.result_json);
  c.provider = "cache";
  c.generation_id.clear();
  c.usage = upstream::Usage{
      hit.prompt_tokens, hit.completion_tokens, hit.prompt_tokens + hit.completion_tokens, 0, 0, 0, 0.0, true};
  markSucceeded(a, std::move(c), *a.attempt.usage, /*cached=*/true);
  if (auto r = p_.lifecycle.save(j, previous); !r) {
    logStoreError("finishing", j.id, r.error());
  }
  p_.lifecycle.answerWaiters(j);
}

void JobRunner::holdForBudget(store::JobRecord job, const std::vector<std::string>& tags,
                              const std::string& reason) {
  const JobState previous = job.state;
  job.state = JobState::kHeld;
  job.error = store::JobError{"BUDGET_EXCEEDED", reason, 0, "local"};
  p_.lifecycle.emitWith(job, tags, EventKind::kHeld, [&] { return event_data::reason(reason); });
  if (auto r = p_.lifecycle.save(job, previous); !r) {
    logStoreError("holding", job.id, r.error());
  }
}

void JobRunner::account(ActiveJob& a, bool reached) {
  Accounting::Charged charged = p_.accounting.charge(a.job, a.tags, a.attempt, a.reservation, a.spender(), reached);
  a.counted = charged.counted || a.counted;
  for (const BudgetAlert& alert : charged.alerts) {
    p_.lifecycle.emitWith(a.job, a.tags, EventKind::kBudgetAlert, [&] { return event_data::budgetAlert(alert); });
  }
}

void JobRunner::beginOutcome(const ActiveJob& a) {
  const int64_t id = a.job.id;
  p_.cycle.beginUnit();
  unsaved_.insert(id);
  // Inside the unit: runs once the outcome is stored, whenever that is.
  p_.cycle.afterCommit([this, id](bool stored) {
    // false only when llmqd stops before there was room (CommitCycle::close):
    // the store still says running, and so do the counters.
    auto it = unsaved_.find(id);
    if (stored && it != unsaved_.end() && redone_.contains(id)) {
      // Stored by a redo, after the lost turn made the counters read the store
      // (running) again: count the move now.
      const RedoneOutcome& r = redone_[id];
      p_.lifecycle.noteMoved(JobState::kRunning, r.state, 1);
      if (r.state == JobState::kRetryWait) {
        queue_->noteRetryAt(r.next_attempt_at);
      }
    }
    redone_.erase(id);
    unsaved_.erase(id);
  });
}

void JobRunner::endOutcome(ActiveJob& a) {
  // The redo writes what this outcome wrote, from the final records, and only
  // that: the transfer, the events, the budgets and the metrics happened once.
  std::optional<store::UsageDelta> usage;
  if (a.counted) {
    usage = Accounting::usageDelta(a.job, a.tags, a.attempt);
  }
  // The request body is not a column update() writes, and may be large: it is
  // set aside rather than copied with the record.
  std::string request = std::move(a.job.request_json);
  store::JobRecord job = a.job;
  a.job.request_json = std::move(request);
  std::string what = "the outcome of job " + ipc::formatJobId(job.id) + " (" +
                     ipc::jobStateName(static_cast<int>(job.state)) + ")";
  p_.cycle.endUnit(std::move(what),
                   [this, job = std::move(job), attempt = a.attempt, usage = std::move(usage)]() -> Result<void> {
                     redone_[job.id] = RedoneOutcome{job.state, job.next_attempt_at.value_or(0)};
                     if (auto r = p_.store.recordOutcome(job, attempt); !r) {
                       return r;
                     }
                     if (usage) {
                       if (auto r = p_.store.addUsage(*usage); !r) {
                         return r;
                       }
                     }
                     if (store::isTerminal(job.state) && job.options.byok) {
                       if (auto r = p_.secrets.erase(job.id); !r) {
                         return r;
                       }
                     }
                     return {};
                   });
}

void JobRunner::failNow(store::JobRecord job, const std::vector<std::string>& tags, const upstream::Failure& f) {
  const JobState previous = job.state;
  job.state = JobState::kFailed;
  job.finished_at = p_.clock.nowMs();
  job.error = store::JobError{f.code,
                              f.message,
                              f.upstream_status,
                              f.source,
                              f.upstream_error_json,
                              f.code == "COOLING_DOWN" ? f.retry_after_ms : 0};
  p_.lifecycle.emit(job, tags, EventKind::kError, event_data::error(f, false), true);
  if (auto r = p_.lifecycle.save(job, previous); !r) {
    logStoreError("failing", job.id, r.error());
  }
  p_.lifecycle.answerWaiters(job);
}

void JobRunner::onDelta(ActiveJob& a, const upstream::StreamDelta& delta) {
  if (delta.index == 0 && !delta.content.empty()) {
    a.streamed_text = true;  // Late subscribers get the first choice's text so far.
  }
  if (a.first_token_at == 0) {
    a.first_token_at = p_.clock.nowMs();
  }
  p_.lifecycle.emitChunk(a.job, a.tags, delta, [&] { return event_data::messageChunk(delta); });
}

template <class Record>
void JobRunner::finish(ActiveJob& a, const Outcome& o, Record&& record) {
  const int64_t now = p_.clock.nowMs();
  if (auto w = p_.cycle.write(); !w) {
    logStoreError(o.doing, a.job.id, w.error());
  }
  beginOutcome(a);
  a.attempt.finished_at = now;
  a.attempt.outcome = o.attempt_outcome;
  a.attempt.error_code = o.attempt_error;
  record(now);
  if (auto r = p_.lifecycle.saveOutcome(a.job, a.attempt); !r) {
    logStoreError(o.doing, a.job.id, r.error());
  }
  if (store::isTerminal(a.job.state)) {
    p_.lifecycle.answerWaiters(a.job);
  }
  endOutcome(a);
  retire(a);
}

void JobRunner::onComplete(ActiveJob& a, upstream::Completion&& c) {
  if (std::optional<upstream::Failure> mismatch = checkOutput(a.job, c)) {
    a.attempt.generation_id = c.generation_id;  // Billed: kept for reconciliation as any answer.
    onFailure(a, std::move(*mismatch));
    return;
  }
  if (a.job.kind == JobKind::kResponses) {
    toResponse(a, c);
  }
  finish(a, Outcome{"finishing", "succeeded", ""}, [&](int64_t now) {
    p_.circuits.onSuccess(a.circuit);
    p_.limits.release(a.permit, c.usage.total_tokens > 0 ? c.usage.total_tokens : -1, /*ok=*/true);
    // The upstream's own figure when it gave one (OpenRouter always does), else
    // the catalog's prices.
    const char* cost_source = "none";
    c.usage.cost_usd = p_.accounting.cost(c.usage, a.attempt.model, &cost_source);
    store::Usage usage{c.usage.prompt_tokens, c.usage.completion_tokens, c.usage.total_tokens, c.usage.cost_usd};
    a.attempt.http_status = c.http_status;
    a.attempt.generation_id = c.generation_id;
    a.attempt.usage = usage;
    a.attempt.cached_tokens = c.usage.cache_read;
    a.attempt.reasoning_tokens = c.usage.reasoning_tokens;
    a.attempt.cost_source = cost_source;
    a.attempt.latency_ms = now - a.attempt.started_at;
    a.attempt.ttft_ms = (a.first_token_at != 0 ? a.first_token_at : now) - a.attempt.started_at;
    account(a, true);
    if (a.key_index >= 0) {
      p_.keys.spend(a.key_index, usage.cost_usd);
    }
    if (routedByRule(a.job)) {
      p_.signals.attemptEnded(a.attempt.model, true, *a.attempt.latency_ms);
    }
    p_.metrics.upstreamRequest(a.attempt.provider, a.attempt.model, c.http_status,
                               static_cast<double>(*a.attempt.latency_ms) / 1000.0,
                               static_cast<double>(*a.attempt.ttft_ms) / 1000.0);
    p_.metrics.tokens(a.attempt.model, c.usage.prompt_tokens, c.usage.completion_tokens, usage.cost_usd);
    if (!a.cache_key.empty()) {
      p_.cache.store(a.cache_key, a.attempt.model, c.result_json, c.usage.prompt_tokens, c.usage.completion_tokens,
                     now);
    }
    a.job.model_used = c.model;
    markSucceeded(a, std::move(c), usage, /*cached=*/false);
  });
}

void JobRunner::toResponse(ActiveJob& a, upstream::Completion& c) {
  // The stored answer is a Response either way (daemon/jobs/responses_format.h).
  const store::JobRecord& j = a.job;
  json::Document answer;
  if (json::parse(answer, c.result_json, nullptr, json::kMaxAnswerDepth) && answer.IsObject()) {
    const std::string job_id = ipc::formatJobId(j.id);
    json::Document request;
    if (!json::parse(request, j.request_json, nullptr) || !request.IsObject()) {
      request.SetObject();
    }
    c.result_json = a.translated ? responses::fromChatCompletion(answer, job_id, j.created_at / 1000, request)
                                 : responses::normalizeResponse(answer, job_id, request);
  }
  if (a.translated && a.responses_api_missing) {
    // /responses failed where chat completions answered: the provider has none.
    a.provider->noteNoResponsesApi();
  }
}

void JobRunner::onFailure(ActiveJob& a, upstream::Failure&& f) {
  if (f.code == "RESPONSES_API_MISSING" && !a.responses_api_missing) {
    // The same attempt again, translated to chat completions (Provider::speaksResponses).
    a.responses_api_missing = true;
    launch(a.job.id, a.job.attempts, /*committed=*/true);
    return;
  }
  finish(a, Outcome{"failing", "failed", f.code}, [&](int64_t now) {
    const int64_t mono = p_.clock.monoMs();  // For breakers and cooldowns (start()).
    queue_->followClockSteps();              // So that a retry time set now is not moved by an older step.
    // An upstream's Retry-After is bounded ([retry] retry_after_max_s): a ten-year
    // value (or a reset stamp far ahead) would stall every job on the key until a
    // restart, so anything longer, absurd values included, counts as the cap.
    f.retry_after_ms = std::clamp<int64_t>(f.retry_after_ms, 0, p_.config.retry_after_max_ms);
    // Retryable failures say the target is unwell; an answer such as a 400, or
    // one that does not match its schema, says it is up (the request was at
    // fault). A 429 says neither: it is the cooldowns' business, and a storm of
    // them must not open the breaker for everyone.
    const bool mismatch = f.code == kSchemaMismatch;
    if (f.code == "RATE_LIMITED") {
      p_.circuits.onAbandoned(a.circuit);
    } else if (f.retryable && !mismatch) {
      p_.circuits.onFailure(a.circuit, mono);
    } else {
      p_.circuits.onSuccess(a.circuit);
    }
    if (mismatch && f.usage) {
      p_.limits.release(a.permit, f.usage->total_tokens > 0 ? f.usage->total_tokens : -1, /*ok=*/true);
    }
    recordFailedAttempt(a, f, now);
    const bool next_key = spendKey(a, f, mono);
    // Retries, then fallbacks along the chain (docs/upstream.md): daemon/jobs/retry_plan.h.
    // A mismatch goes again at once (the upstream is not overloaded), within
    // [retry] schema_attempts.
    store::JobRecord& j = a.job;
    const int max_attempts = mismatch ? std::min(j.max_attempts, p_.config.schema_attempts) : j.max_attempts;
    const int64_t backoff = mismatch ? 0 : backoffMs(std::max(j.run_attempts, 1));
    const RetryPlan plan = planRetry(RetryFacts{f.retryable, f.upstream_status, j.run_attempts, max_attempts,
                                                p_.run.shutting_down, next_key, backoff, f.retry_after_ms, now,
                                                j.deadline_at, a.model_index + 1 < a.chain.size()});
    applyRetryPlan(a, f, plan, now);
  });
}

void JobRunner::recordFailedAttempt(ActiveJob& a, const upstream::Failure& f, int64_t now) {
  a.attempt.http_status = f.upstream_status;
  if (f.usage) {
    // Billed although it failed (the usage came before the stream broke).
    const char* source = "none";
    const double cost = p_.accounting.cost(*f.usage, a.attempt.model, &source);
    a.attempt.usage = store::Usage{f.usage->prompt_tokens, f.usage->completion_tokens, f.usage->total_tokens, cost};
    a.attempt.cached_tokens = f.usage->cache_read;
    a.attempt.reasoning_tokens = f.usage->reasoning_tokens;
    a.attempt.cost_source = source;
    if (a.key_index >= 0) {
      p_.keys.spend(a.key_index, cost);
    }
  }
  a.attempt.latency_ms = now - a.attempt.started_at;
  if (a.first_token_at != 0) {
    a.attempt.ttft_ms = a.first_token_at - a.attempt.started_at;
  }
  account(a, f.upstream_status != 0);
  if (routedByRule(a.job) && (f.upstream_status != 0 || f.source != "local")) {
    p_.signals.attemptEnded(a.attempt.model, false, *a.attempt.latency_ms);
  }
  p_.metrics.upstreamRequest(a.attempt.provider, a.attempt.model, f.upstream_status,
                             static_cast<double>(*a.attempt.latency_ms) / 1000.0,
                             a.attempt.ttft_ms ? static_cast<double>(*a.attempt.ttft_ms) / 1000.0 : -1.0);
  if (a.attempt.usage) {
    p_.metrics.tokens(a.attempt.model, a.attempt.usage->prompt_tokens, a.attempt.usage->completion_tokens,
                      a.attempt.usage->cost_usd);
  }
}

bool JobRunner::spendKey(ActiveJob& a, upstream::Failure& f, int64_t mono) {
  store::JobRecord& j = a.job;
  // A 429 (docs/upstream.md) cools its key down, or the model when the provider behind
  // the upstream is the one limited, until Retry-After: no request goes there
  // before then. Only the 429 that begins a cooldown spends an attempt; the ones
  // answering requests already on their way do not.
  if (f.code == "RATE_LIMITED") {
    const int64_t cooldown = std::max<int64_t>(f.retry_after_ms, kMinCooldownMs);
    const bool model = f.model_scoped || a.limit_key.empty();
    const bool began = p_.limits.coolDown(model ? LimitScope::kModel : LimitScope::kKey,
                                          model ? a.chain[a.model_index] : a.limit_key, mono + cooldown, mono);
    if (!began) {
      --j.run_attempts;
    }
    if (a.key_index >= 0) {
      p_.keys.noteError(a.key_index);
    }
    f.retry_after_ms = cooldown;
  }
  if (a.key_index < 0) {
    return false;
  }
  // Server keys (docs/upstream.md): an exhausted or invalid key is set aside and the job
  // moves on to the next one at once, without spending an attempt; a rate-limited
  // key cools down until its Retry-After.
  const bool exhausted = f.code == "OPENROUTER_SYSTEM_KEY_EXHAUSTED";
  if (!exhausted && f.code != "UNAUTHORIZED") {
    return false;
  }
  exhausted ? p_.keys.markExhausted(a.key_index) : p_.keys.markInvalid(a.key_index);
  LOG_WARN("server key %s is %s; it gets no more requests", p_.keys.key(a.key_index).fingerprint.c_str(),
           exhausted ? "exhausted" : "invalid");
  if (!p_.keys.anyAlive() || p_.run.shutting_down) {
    return false;
  }
  --j.run_attempts;
  return true;
}

void JobRunner::applyRetryPlan(ActiveJob& a, const upstream::Failure& f, const RetryPlan& plan, int64_t now) {
  store::JobRecord& j = a.job;
  const bool will_retry = plan.kind != RetryPlan::kFail;
  const int64_t delay = plan.delay_ms;
  std::string fallback;
  if (plan.kind == RetryPlan::kFallback) {
    fallback = a.chain[a.model_index + 1];
    j.run_attempts = 0;  // A fresh set of attempts on the next model.
    j.model_used = fallback;
  }
  j.error = store::JobError{f.code, f.message, f.upstream_status, f.source, f.upstream_error_json};
  p_.lifecycle.emitWith(
      j, a.tags, EventKind::kError, [&] { return event_data::error(f, will_retry); }, !will_retry);
  if (!will_retry) {
    j.state = JobState::kFailed;
    j.finished_at = now;
    return;
  }
  j.state = JobState::kRetryWait;
  j.next_attempt_at = now + delay;
  p_.lifecycle.emitWith(j, a.tags, EventKind::kRetrying, [&] {
    const std::string_view reason = !fallback.empty() ? std::string_view("fallback")
                                    : !a.streamed_text || f.code == kSchemaMismatch
                                        ? std::string_view(f.code)
                                        : std::string_view("stream_interrupted");
    return event_data::retrying(j.attempts + 1, delay, reason, f.upstream_status, fallback);
  });
  queue_->noteRetryAt(*j.next_attempt_at);
}

void JobRunner::expire(ActiveJob& a) {
  a.provider->cancel(a.handle);
  finish(a, Outcome{"expiring", "cancelled", "EXPIRED"}, [&](int64_t now) {
    store::JobRecord& j = a.job;
    j.state = JobState::kExpired;
    j.finished_at = now;
    j.error = store::JobError{"EXPIRED", "the job's deadline_s passed", 0, "local"};
    p_.lifecycle.emit(j, a.tags, EventKind::kExpired, event_data::reason(j.error.message), true);
  });
}

std::optional<store::JobRecord> JobRunner::cancel(int64_t job_id, std::string_view reason) {
  auto it = active_.find(job_id);
  if (it == active_.end()) {
    return std::nullopt;
  }
  ActiveJob& a = *it->second;
  a.provider->cancel(a.handle);
  finish(a, Outcome{"cancelling", "cancelled", "CANCELLED"}, [&](int64_t now) {
    store::JobRecord& j = a.job;
    j.state = JobState::kCancelled;
    j.finished_at = now;
    j.error = store::JobError{"CANCELLED", std::string(reason), 0, "local"};
    p_.lifecycle.emit(j, a.tags, EventKind::kCancelled, event_data::reason(reason), true);
  });
  return a.job;  // Still alive: retire() put it in the graveyard, freed at the end of the turn.
}

void JobRunner::requeueAll() {
  const int64_t now = p_.clock.nowMs();
  if (!active_.empty()) {
    if (auto w = p_.cycle.write(); !w) {
      LOG_ERROR("requeueing running jobs: %s", w.error().message.c_str());
      return;  // Startup recovery requeues them from the store instead.
    }
  }
  std::vector<ActiveJob*> all;
  for (auto& [id, a] : active_) {
    all.push_back(a.get());
  }
  for (ActiveJob* a : all) {
    a->provider->cancel(a->handle);
    a->attempt.finished_at = now;
    a->attempt.outcome = "interrupted";
    a->attempt.error_code = "INTERRUPTED";
    if (auto r = p_.store.updateAttempt(a->attempt); !r) {
      logStoreError("recording the attempt of", a->job.id, r.error());
    }
    a->job.state = JobState::kQueued;
    a->job.run_attempts = std::max(0, a->job.run_attempts - 1);
    if (auto r = p_.lifecycle.save(a->job, JobState::kRunning); !r) {
      logStoreError("requeueing", a->job.id, r.error());
    }
    retire(*a);
  }
}

void JobRunner::retire(ActiveJob& a) {
  a.done = true;
  p_.limits.release(a.permit, -1);
  if (a.reservation.active) {
    account(a, false);  // Cancelled, expired or requeued: nothing was billed that we know of.
  }
  if (!a.circuit.empty()) {
    p_.circuits.onAbandoned(a.circuit);  // Cancelled or expired probes free the slot.
  }
  auto it = active_.find(a.job.id);
  if (it != active_.end() && it->second.get() == &a) {
    graveyard_.push_back(std::move(it->second));
    active_.erase(it);
  }
  queue_->kick();
}

int64_t JobRunner::attemptTimeoutMs(const store::JobRecord& j) const {
  return j.timeout_ms.value_or(p_.config.default_timeout_ms.value_or(0));
}

void JobRunner::armTimer() {
  if (deadlines_.empty()) {
    return;
  }
  int64_t wait = std::max<int64_t>(0, deadlines_.top().at - p_.clock.nowMs());
  timer_.start(static_cast<uint64_t>(wait));
}

// Called by libuv when the earliest attempt timeout or job deadline has come.
void JobRunner::onTimer() {
  const int64_t now = p_.clock.nowMs();
  while (!deadlines_.empty() && deadlines_.top().at <= now) {
    Deadline d = deadlines_.top();
    deadlines_.pop();
    auto it = active_.find(d.job_id);
    if (it == active_.end() || it->second->job.attempts != d.attempt) {
      continue;  // That attempt already ended.
    }
    ActiveJob& a = *it->second;
    if (a.job.deadline_at && now >= *a.job.deadline_at) {
      expire(a);
    } else {
      a.provider->cancel(a.handle);
      onFailure(a, upstream::Failure{"TIMEOUT",
                                     "the attempt took longer than timeout_s (" +
                                         std::to_string(a.job.timeout_ms.value_or(0)) + " ms)",
                                     0, true, "local"});
    }
  }
  armTimer();
}

}  // namespace llmq::daemon
