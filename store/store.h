// store::Store: what the engine (daemon/engine.h) keeps in a store, and the one
// seam between the two: the job queue (enqueue, pick and claim the next job,
// record an attempt's outcome, requeue, read), the usage reports and budget sums,
// and the budgets. The engine's parts hold a Store&; store::SqliteStore
// (store/sqlite_store.h) implements it. What belongs to the process rather than
// the engine stays with a backend's own classes and the Daemon: creating and
// migrating the schema, locking, backups, retention and compaction.
//
// THE TURN CONTRACT. llmqd is one thread, and everything it writes in one loop
// turn is one transaction (daemon/turn/commit_cycle.h): begin() before the turn's
// first write, commit() at its end; the daemon sends what depends on the turn
// (the answer to a submit, events, the answer to a wait) only once commit()
// succeeded. A backend must guarantee:
//
//   - All or nothing. A turn's writes are stored together or not at all. When a
//     write fails inside the turn because the store is full (kStorageFull), or
//     commit() fails, the whole turn is lost: nothing of it is ever stored, and
//     until rollback() or the next begin() no write is stored on its own (a
//     write outside a transaction after a lost turn fails; it never commits
//     half of a turn).
//   - Reads see the turn's own writes: a job enqueued in this turn can be
//     picked, claimed and read back in it before commit().
//   - Nothing of an open turn is visible outside it (to another connection or
//     process) before commit() returns; all of it is visible after.
//   - One writer: begin() takes the store's write lock, so no other writer
//     interleaves with a turn's read-then-write (a pick and its claim).
//   - Acknowledged means committed means durable: once commit() returned
//     success, the turn survives a crash of llmqd (SQLite: WAL; with
//     synchronous=FULL also a power loss). A crash before that loses the turn,
//     whole and only it: the jobs it enqueued were never acknowledged, the jobs
//     it claimed are still queued, and the outcomes it recorded are gone, so
//     their jobs are still `running` until recoverInterrupted() at the next
//     start puts them back (or fails them, on_restart = fail).
//
// A write without begin() is its own transaction (startup, tests). Every call
// returns kStorageFull when the store is full, kStorage for other failures.
//
// No per-job cost beyond the call: enqueue, the pick, the claim and the outcome
// are each the backend's fixed set of statements, no more than its own classes
// would run. Loop thread only; not copyable.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "store/budget_row.h"
#include "store/job_query.h"
#include "store/job_record.h"
#include "store/model_figures.h"
#include "store/usage_report.h"

namespace llmq::store {

class Store {
 public:
  Store() = default;
  virtual ~Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // --- The turn's transaction (the contract above) ---

  // Opens the write transaction and takes the write lock.
  virtual Result<void> begin() = 0;
  // Makes the transaction's writes durable and visible, all together. On
  // failure the turn is lost; the caller then calls rollback().
  virtual Result<void> commit() = 0;
  // Ends the transaction without storing anything of it; also ends one the
  // backend already lost on its own, so writes may go through again.
  virtual void rollback() noexcept = 0;
  // Whether a transaction is open. False after begin() means the backend lost
  // the turn on its own (a full store): its writes are gone.
  virtual bool inTransaction() const = 0;

  // --- Jobs: enqueue and read ---

  // Stores a new job (and its tags: the parsed elements of job.tags_json) and
  // returns its id; ids only grow. A second job with the same owner and
  // idempotency key fails with kInvalidState and stores nothing; the turn goes on.
  virtual Result<int64_t> enqueue(const JobRecord& job, const std::vector<std::string>& tags) = 0;
  // The job with `id`, every column; nullopt when there is none.
  virtual Result<std::optional<JobRecord>> getJob(int64_t id) = 0;
  // The job `owner` submitted with idempotency key `key`; keys are per owner.
  virtual Result<std::optional<int64_t>> findByIdempotencyKey(std::string_view owner, std::string_view key) = 0;
  // The jobs `filter` selects, newest first, one at a time (only one is held in
  // memory); `each` returns false to stop early.
  virtual Result<void> listJobs(const ListFilter& filter, const std::function<bool(JobRecord&)>& each) = 0;
  // Writes every mutable column of `job` (state, attempts, times, result,
  // error, usage, model_used, event_seq). Claiming (state running), requeueing
  // (state queued), holding, cancelling and expiring a job are all this write.
  virtual Result<void> updateJob(const JobRecord& job) = 0;

  // --- Picking the next job ---
  // The scheduler (daemon/jobs/scheduler.h) picks the highest priority, then
  // round-robin across owners and across each owner's clients, then FIFO within
  // a client, with these questions, each a seek over queued jobs only (the queue
  // is not held in memory). It claims its pick with updateJob (state running)
  // and insertAttempt in the same turn.

  // The highest priority strictly below `below` that has a queued job.
  virtual Result<std::optional<int>> topQueuedPriority(int below) = 0;
  // The first owner (in byte order) after `after_owner` with a queued job at `priority`.
  virtual Result<std::optional<std::string>> nextQueuedOwner(int priority, std::string_view after_owner) = 0;
  // The oldest queued job at `priority` of `owner`'s first client whose name
  // sorts after `after_client`.
  virtual Result<std::optional<JobRecord>> nextQueued(int priority, std::string_view owner,
                                                      std::string_view after_client) = 0;
  // The first queued job at `priority` of `owner`'s `client` with an id above `after_id`.
  virtual Result<std::optional<JobRecord>> nextQueuedOfClient(int priority, std::string_view owner,
                                                              std::string_view client, int64_t after_id) = 0;

  // --- Attempts and outcomes ---

  // Opens the attempt row of a claim (numbered by job.attempts).
  virtual Result<void> insertAttempt(const AttemptRecord& attempt) = 0;
  // Writes an attempt row's outcome, usage and timings.
  virtual Result<void> updateAttempt(const AttemptRecord& attempt) = 0;
  // How a running attempt ended, in one call: its attempt row and every mutable
  // column of its job. The runner's first write of an outcome and the redo of a
  // turn lost to a full disk both use it, so they cannot write different things.
  virtual Result<void> recordOutcome(const JobRecord& job, const AttemptRecord& attempt) = 0;

  // --- Requeueing jobs that waited ---

  // Moves every held job back to queued (a budget freed up); returns how many.
  virtual Result<int64_t> releaseHeld() = 0;
  // Moves retry_wait jobs whose time (next_attempt_at) is due by `now_ms` back
  // to queued; returns how many.
  virtual Result<int64_t> promoteDueRetries(int64_t now_ms) = 0;
  // The earliest next_attempt_at of a retry_wait job.
  virtual Result<std::optional<int64_t>> nextRetryAt() = 0;
  // The wall clock stepped by `delta_ms`: every retry_wait job's time moves by
  // as much, so its wait keeps its length (common/time.h, WallStepWatch).
  virtual Result<void> shiftRetries(int64_t delta_ms) = 0;
  // At startup: no retry_wait job waits past `latest_ms`; returns how many moved.
  virtual Result<int64_t> clampRetries(int64_t latest_ms) = 0;
  // At startup, before the first turn: jobs left running go back to queued
  // (on_restart = requeue, their event_seq moved past any stream they sent) or
  // fail with INTERRUPTED (on_restart = fail); their open attempts become
  // `interrupted`.
  virtual Result<RecoveryCounts> recoverInterrupted(int64_t now_ms) = 0;

  // --- Deadlines of waiting jobs (queued, retry_wait, held) ---

  virtual Result<std::optional<int64_t>> nextDeadline() = 0;
  // Those due by `now_ms`, earliest first, at most `limit`.
  virtual Result<std::vector<JobRecord>> dueDeadlines(int64_t now_ms, int limit) = 0;

  // --- Counts (startup, and after a lost turn: they may be scans) ---

  virtual Result<std::array<int64_t, kJobStateCount>> countByState() = 0;
  // Per client label: unfinished jobs and the bytes of bodies stored (request,
  // result, upstream error).
  virtual Result<std::vector<ClientUsage>> usageByClient() = 0;

  // --- Usage: the ledger's rollups, reports and budget sums ---

  // Adds one finished attempt to the rollups (its ledger row is its attempt row).
  virtual Result<void> addUsage(const UsageDelta& delta) = 0;
  // usage.report: rows grouped as `query` asks, in key order, and the totals.
  // Grouped by tag, an attempt counts once under each of its tags, and under
  // the tag "" when it has none; the totals count it once.
  virtual Result<UsageReport> usageReport(const UsageQuery& query) = 0;
  // The cost of the attempts that started in [since_ms, until_ms) within `scope`.
  virtual Result<double> spent(const SpendScope& scope, int64_t since_ms, int64_t until_ms) = 0;

  // --- How models perform: the ledger read (models.stats) ---

  // The attempts that reached an upstream and ended, started at or after
  // `since_ms`: newest first, at most `limit`, one at a time.
  virtual Result<void> attemptSamples(int64_t since_ms, int64_t limit,
                                      const std::function<void(const AttemptSample&)>& each) = 0;
  // The same attempts' figures per UTC day, provider and model, in that order;
  // the first `limit` rows.
  virtual Result<std::vector<DailyModelFigures>> dailyModelFigures(int64_t since_ms, int64_t limit) = 0;

  // --- Budgets: one row per (scope, period) ---

  virtual Result<std::vector<BudgetRow>> budgets() = 0;
  // Inserts or replaces the row with the same scope and period.
  virtual Result<void> putBudget(const BudgetRow& row) = 0;
  // Returns whether a row was removed.
  virtual Result<bool> removeBudget(const std::string& scope, const std::string& period) = 0;
  // Records the alert fractions sent in the period that began at `period_start`.
  virtual Result<void> setBudgetAlerted(const std::string& scope, const std::string& period, int64_t period_start,
                                        const std::vector<double>& fractions) = 0;
};

}  // namespace llmq::store
