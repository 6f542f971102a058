// daemon::JobRunner runs attempts: it claims a queued job (state running, attempt
// row), starts it on its provider, turns the provider's callbacks into events and
// state (succeeded, retry_wait with backoff, failed), and enforces per-attempt
// timeouts and job deadlines with one timer. Each running job is an ActiveJob,
// the provider's sink for its transfer.
//
// Loop thread only. ActiveJobs that ended are freed at the end of the loop turn
// (collectGarbage), never from inside a provider callback.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/uv_timer.h"
#include "daemon/policy/budget_book.h"
#include "daemon/policy/rate_limiter.h"
#include "daemon/turn/run_state.h"
#include "store/job_record.h"
#include "store/response_cache_store.h"
#include "upstream/provider.h"

namespace llmq {
class Clock;
namespace store {
class SecretStore;
class Store;
}  // namespace store
}  // namespace llmq

namespace llmq::daemon {

struct Config;
class Accounting;
class CircuitBreakers;
class CommitCycle;
class EventBus;
class JobLifecycle;
class JobRunner;
struct RetryPlan;
class KeyPool;
class Metrics;
class ProviderRegistry;
class ResponseCache;
class RouteSignals;

// What the runner tells the queue it takes jobs from: something changed (a
// slot freed, a job came back), a job waits in retry_wait until a time, and
// the wall clock may have stepped. The Scheduler implements it; the runner
// never sees the scheduler, which is the one that calls it.
class RunQueue {
 public:
  virtual void kick() = 0;
  virtual void noteRetryAt(int64_t at_ms) = 0;
  virtual void followClockSteps() = 0;

 protected:
  ~RunQueue() = default;
};

struct ActiveJob final : upstream::TransferSink {
  ActiveJob(JobRunner* r, store::JobRecord j);
  ~ActiveJob() override;
  void onDelta(const upstream::StreamDelta& delta) override;
  void onComplete(upstream::Completion&& completion) override;
  void onFailure(upstream::Failure&& failure) override;

  JobRunner* runner;
  store::JobRecord job;
  std::vector<std::string> tags;
  upstream::Provider* provider = nullptr;
  uint64_t handle = 0;
  store::AttemptRecord attempt;
  // Choice 0 streamed text in this attempt. The text itself is kept once, by the
  // provider (Provider::streamedText), not here as well.
  bool streamed_text = false;
  std::vector<std::string> chain;  // The models to try, in order (model_chain.h).
  size_t model_index = 0;          // The one this attempt uses.
  std::string body;                // The request with a fallback's model; empty: verbatim.
  std::string circuit;             // "provider/model": the breaker this attempt reports to.
  int key_index = -1;              // The KeyPool key of this attempt, if it uses one.
  std::string_view api_key;        // Into the KeyPool or own_key; empty: the provider's own key.
  std::string own_key;             // The job's own key (BYOK), decrypted; wiped on destruction.
  std::string limit_key;           // The key as the RateLimiter knows it (see rate_limiter.h).
  LimitPermit permit;              // What this attempt counts in the rate limits.
  std::string key_name;            // The pool key's name ("pool-1"), for key: budgets.
  BudgetReservation reservation;   // Its worst-case cost, held against the budgets.
  int64_t first_token_at = 0;      // When the first streamed delta came (0: none yet).
  std::string cache_key;           // Set when the answer may be stored in the response cache.
  // A Responses job (JobKind::kResponses): what this attempt sends upstream, and
  // whether it went translated to chat completions; responses_api_missing once
  // the provider's /responses answered 404, 405 or 501 (the attempt goes again,
  // translated).
  std::string upstream_body;
  bool translated = false;
  bool responses_api_missing = false;

  // This attempt as the budgets see it.
  Spender spender() const;
  bool done = false;
  bool counted = false;  // The attempt went into the usage rollups (Accounting::charge).
};

class JobRunner {
 public:
  // What an attempt passes through, runs on, and is recorded in.
  struct Parts {
    uv_loop_t* loop;
    const Config& config;
    const Clock& clock;
    const RunState& run;
    CommitCycle& cycle;
    store::Store& store;          // Claims, attempts, outcomes; a lost turn's rollups, written again.
    store::SecretStore& secrets;  // Jobs' own keys (BYOK).
    EventBus& bus;
    JobLifecycle& lifecycle;
    ProviderRegistry& providers;
    KeyPool& keys;
    RateLimiter& limits;
    BudgetBook& budgets;
    Accounting& accounting;
    ResponseCache& cache;
    CircuitBreakers& circuits;
    Metrics& metrics;
    RouteSignals& signals;  // Told how each attempt ended (the balancing routes read it).
  };
  explicit JobRunner(Parts parts);
  // The queue the runner reports to (the Scheduler, built after it).
  void setQueue(RunQueue& queue) { queue_ = &queue; }
  ~JobRunner();

  size_t inflight() const { return active_.size(); }
  const ActiveJob* find(int64_t job_id) const;

  // What became of a job the scheduler handed over.
  struct StartResult {
    enum Kind { kStarted, kStoreError, kWait } kind = kStarted;
    // kWait: a limit or cooldown holds the job until then, on the monotonic clock
    // (RateLimiter::kOnRelease: until a running request ends); it stays queued,
    // untouched.
    int64_t wait_until_ms = 0;
  };
  // Starts the next attempt of `job`, which the scheduler picked from the queue
  // (or ends it at once if it cannot run at all).
  StartResult start(store::JobRecord job);
  // Aborts a running job and marks it cancelled. Returns its final record, or
  // nullopt if the job is not running here.
  std::optional<store::JobRecord> cancel(int64_t job_id, std::string_view reason = "cancelled by request");
  // Shutdown: aborts every running attempt and puts its job back in the queue,
  // without counting the interrupted attempt against max_attempts.
  void requeueAll();
  // A subscriber that joins a running streamed job first receives the text so far
  // as one message_chunk (ipc/PROTOCOL.md). Does nothing if the job is not streaming now.
  void catchUp(uint64_t subscription, int64_t job_id, uint32_t event_mask);
  // True while the outcome of a job that ended here is not stored yet: the turn
  // that recorded it was lost to a full disk, and CommitCycle keeps writing it
  // again. The store still says `running`; nothing may change the job meanwhile.
  bool unsaved(int64_t job_id) const { return unsaved_.contains(job_id); }
  // Frees ActiveJobs that ended during this turn.
  void collectGarbage() { graveyard_.clear(); }
  void close();

  // Backoff before retry number `attempt` (1-based): full jitter,
  // uniform in [0, min(cap, base * 2^(attempt-1))].
  int64_t backoffMs(int attempt);

 private:
  friend struct ActiveJob;
  // The gates an attempt passes in start(), in this order. Each lets it on
  // (nullopt) or ends start() with its result: the job waits (kWait: still
  // queued, untouched), or was failed, parked, held or answered from the cache
  // (kStarted: handled), or the store failed. `Admission` is what they share.
  struct Admission;
  using Verdict = std::optional<StartResult>;
  Verdict chooseModel(Admission& in);     // The chain, past open breakers.
  Verdict chooseProvider(Admission& in);  // Who serves the model, and that a key exists.
  Verdict tryCache(Admission& in);        // The response cache.
  Verdict modelLimit(Admission& in);      // The model's rate limits.
  Verdict chooseKey(Admission& in);       // The job's own key, a pool key, or the provider's.
  Verdict keyLimit(Admission& in);        // That key's rate limits.
  Verdict reserveBudget(Admission& in);   // The worst case against every covering budget.
  Verdict probeBreaker(Admission& in);    // A half-open breaker's one probe.
  // All gates passed: the job becomes running and its attempt leaves after commit.
  StartResult claim(std::unique_ptr<ActiveJob> owned, Admission& in);

  struct Deadline {
    int64_t at;
    int64_t job_id;
    int attempt;
    bool operator>(const Deadline& o) const { return at > o.at; }
  };

  // Sends the claimed attempt upstream once its claim has committed.
  void launch(int64_t job_id, int attempt, bool committed);
  // What an attempt of a Responses job sends: the request for the provider's
  // /responses, or its chat-completions translation (sets a.translated).
  static Result<std::string> responsesBody(ActiveJob& a, std::string_view request_json);
  void onDelta(ActiveJob& a, const upstream::StreamDelta& delta);
  void onComplete(ActiveJob& a, upstream::Completion&& c);
  void onFailure(ActiveJob& a, upstream::Failure&& f);
  void expire(ActiveJob& a);
  void retire(ActiveJob& a);
  void failNow(store::JobRecord job, const std::vector<std::string>& tags, const upstream::Failure& f);
  // Holds a job a budget cannot pay for now (state held) until the budget frees up.
  void holdForBudget(store::JobRecord job, const std::vector<std::string>& tags, const std::string& reason);
  // How a running attempt ended, for finish(): what the log says it was doing,
  // and the attempt row's outcome and error code.
  struct Outcome {
    const char* doing;            // "finishing", "failing", "expiring", "cancelling".
    const char* attempt_outcome;  // "succeeded", "failed" or "cancelled".
    std::string attempt_error;    // Empty on success.
  };
  // The one ending of a running attempt (success, failure, expiry, cancellation):
  // opens the turn's write and the outcome's CommitCycle unit, closes the
  // attempt row, lets `record(now)` do what this ending does (the breakers,
  // limits, cost and metrics; the job's next state, error and events), stores
  // the job and its attempt in one call (JobLifecycle::saveOutcome), answers
  // the waiters of a job that ended, hands the unit its redo, and retires the
  // attempt.
  template <class Record>
  void finish(ActiveJob& a, const Outcome& o, Record&& record);
  // A Responses job's answer becomes llmqd's Response (daemon/jobs/responses_format.h).
  static void toResponse(ActiveJob& a, upstream::Completion& c);
  // The failed attempt's row, cost, ledger and metrics.
  void recordFailedAttempt(ActiveJob& a, const upstream::Failure& f, int64_t now);
  // A 429 cools the key or model down; an exhausted or invalid server key is set
  // aside. True when the job goes on at once with the next server key.
  bool spendKey(ActiveJob& a, upstream::Failure& f, int64_t mono);
  // The job's next state after a failure: retry_wait (a retry or the next model
  // of its chain) or failed, with the error and retrying events.
  void applyRetryPlan(ActiveJob& a, const upstream::Failure& f, const RetryPlan& plan, int64_t now);
  // Sets `a`'s job succeeded with `c`: its result, usage, and the usage and
  // final_response events; `cached` marks an answer from the cache. The caller
  // stores it.
  void markSucceeded(ActiveJob& a, upstream::Completion&& c, const store::Usage& usage, bool cached);
  // Ends `a`'s job with a cached answer: no upstream, cost 0, `cached` in the ledger.
  void answerFromCache(ActiveJob& a, const std::string& model, store::CachedResponse hit, store::JobState previous);
  // The attempt ended: its cost goes to the ledger and the budgets.
  void account(ActiveJob& a, bool reached);
  // A running job's outcome (success, failure, retry_wait, expiry, cancellation)
  // is a CommitCycle unit: begun after write(), ended once it is written, so that
  // a turn lost to a full disk does not lose it (commit_cycle.h).
  void beginOutcome(const ActiveJob& a);
  void endOutcome(ActiveJob& a);
  // Puts a job that cannot run before `until_ms` into retry_wait, no attempt spent.
  void park(store::JobRecord job, const std::vector<std::string>& tags, int64_t until_ms, const char* reason);
  // The attempt timeout of `j`: its timeout_s, else [http] attempt_timeout_s; 0: none.
  int64_t attemptTimeoutMs(const store::JobRecord& j) const;
  void armTimer();
  void onTimer();

  Parts p_;
  RunQueue* queue_ = nullptr;
  std::unordered_map<int64_t, std::unique_ptr<ActiveJob>> active_;
  std::vector<std::unique_ptr<ActiveJob>> graveyard_;
  std::unordered_set<int64_t> unsaved_;
  // Outcomes a lost turn kept that a redo has written again since (see beginOutcome).
  struct RedoneOutcome {
    store::JobState state;
    int64_t next_attempt_at;
  };
  std::unordered_map<int64_t, RedoneOutcome> redone_;
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines_;
  UvTimer timer_;
  std::mt19937_64 rng_;
};

}  // namespace llmq::daemon
