// store::JobStore: the queue's semantics as named SQL over the jobs, job_tags and
// attempts tables, for SQLite: the part of store::SqliteStore (store/sqlite_store.h)
// that holds the jobs, and retention's view of them. It does not open
// transactions itself: the caller (the daemon's commit cycle, or a test) decides
// what commits together. Loop thread only.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "store/job_query.h"
#include "store/job_record.h"

namespace llmq::store {

class Database;

class JobStore {
 public:
  explicit JobStore(Database& db) : db_(db) {}

  // Inserts a new job (and its tag rows); returns its id. `tags` are the parsed
  // elements of job.tags_json.
  Result<int64_t> insert(const JobRecord& job, const std::vector<std::string>& tags);
  Result<std::optional<JobRecord>> get(int64_t id);
  // The job `owner` submitted with idempotency key `key`: keys are per owner
  // (schema v7), so another user's key finds nothing.
  Result<std::optional<int64_t>> findByIdempotencyKey(std::string_view owner, std::string_view key);
  Result<std::vector<JobRecord>> list(const ListFilter& filter);
  // The same rows, one at a time (only one is held in memory); `each` returns
  // false to stop early.
  Result<void> listEach(const ListFilter& filter, const std::function<bool(JobRecord&)>& each);

  // Writes every mutable column of `job` (state, attempts, times, result, error,
  // usage, model_used, event_seq).
  Result<void> update(const JobRecord& job);

  // Scheduling queries: the highest priority strictly below `below` that has a
  // queued job; the first owner after `after_owner` with a queued job at
  // `priority`; and the first queued job at `priority` of `owner`'s first client
  // whose name sorts after `after_client` (round-robin across owners, then across
  // an owner's clients, FIFO within one).
  Result<std::optional<int>> topQueuedPriority(int below);
  Result<std::optional<std::string>> nextQueuedOwner(int priority, std::string_view after_owner);
  Result<std::optional<JobRecord>> nextQueued(int priority, std::string_view owner, std::string_view after_client);
  // The first queued job at `priority` of `owner`'s `client` with an id above `after_id`.
  Result<std::optional<JobRecord>> nextQueuedOfClient(int priority, std::string_view owner, std::string_view client,
                                                      int64_t after_id);

  // Retention: drops the request and result bodies of up to `limit` jobs that
  // finished before `cutoff_ms` (the rows, states, usage and ledger stay).
  // Returns how many.
  // With `freed`, also appends each pruned job's client and the bytes it held.
  Result<int64_t> pruneFinished(int64_t cutoff_ms, int64_t limit, std::vector<ClientBytes>* freed = nullptr);
  // Moves every held job back to queued (a budget freed up); returns how many.
  Result<int64_t> releaseHeld();
  // Moves retry_wait jobs whose time has come back to queued; returns how many.
  Result<int64_t> promoteDueRetries(int64_t now_ms);
  // The wall clock stepped by `delta_ms`: every retry_wait job's time moves by as
  // much, so its wait keeps its length (common/time.h, WallStepWatch).
  Result<void> shiftRetries(int64_t delta_ms);
  // At startup: no retry_wait job waits past `latest_ms` (a retry time written
  // while the clock was far ahead would otherwise stall the job).
  Result<int64_t> clampRetries(int64_t latest_ms);
  Result<std::optional<int64_t>> nextRetryAt();

  // Deadlines of waiting jobs (queued, retry_wait, held): the earliest, and those
  // due by `now_ms` (at most `limit`, earliest first).
  Result<std::optional<int64_t>> nextDeadline();
  Result<std::vector<JobRecord>> dueDeadlines(int64_t now_ms, int limit);

  Result<void> insertAttempt(const AttemptRecord& attempt);
  Result<void> updateAttempt(const AttemptRecord& attempt);
  // How a running attempt ended, in one call: its attempt row (outcome, usage,
  // timings) and every mutable column of its job. The runner's first write of
  // an outcome and the redo of a turn lost to a full disk both use it, so they
  // cannot write different things.
  Result<void> recordOutcome(const JobRecord& job, const AttemptRecord& attempt);
  Result<std::vector<AttemptRecord>> attempts(int64_t job_id);

  // Startup recovery: jobs left running go back to queued (on_restart=requeue) or
  // fail with INTERRUPTED (on_restart=fail); their open attempts are marked
  // interrupted and kept for reconciliation.
  Result<RecoveryCounts> recoverInterrupted(int64_t now_ms);

  Result<std::array<int64_t, kJobStateCount>> countByState();
  // Per client label: unfinished jobs and the bytes of bodies stored (request,
  // result, upstream error). A scan of the table: for startup (daemon/policy/user_quota.h).
  Result<std::vector<ClientUsage>> usageByClient();

 private:
  Database& db_;
};

}  // namespace llmq::store
