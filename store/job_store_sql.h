// The SQL of the queue's hot statements, shared by store/job_store.cc, the tests
// that check their query plans (each must be an index seek with a million queued
// rows) and the storage baseline of bench/submit. INDEXED BY pins the partial indexes: without ANALYZE statistics
// SQLite prefers jobs_state and sorts every queued row.
#pragma once

namespace llmq::store::sql {

#define LLMQ_JOB_COLUMNS                                                                        \
  "id, state, priority, client, tags, model, model_used, request, options, idempotency_key, "   \
  "stream, max_attempts, attempts, run_attempts, on_restart, timeout_ms, deadline_at, "         \
  "created_at, started_at, finished_at, next_attempt_at, event_seq, result, error_code, "       \
  "error_message, error_status, error_source, prompt_tokens, completion_tokens, total_tokens, " \
  "cost_usd, error_detail, owner, kind"

inline constexpr char kInsertJobSql[] =
    "INSERT INTO jobs (state, priority, client, tags, model, request, options, idempotency_key, "
    "stream, max_attempts, on_restart, timeout_ms, deadline_at, created_at, event_seq, owner, kind) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)";
inline constexpr char kInsertTagSql[] = "INSERT OR IGNORE INTO job_tags (tag, job_id) VALUES (?1, ?2)";
inline constexpr char kTopQueuedPrioritySql[] =
    "SELECT priority FROM jobs INDEXED BY jobs_runnable "
    "WHERE state = 0 AND priority < ?1 ORDER BY priority DESC LIMIT 1";

// Fair share: the first owner after `?2` with a queued job at priority `?1`, then
// the first job of that owner's first client after `?3`.
inline constexpr char kNextQueuedOwnerSql[] =
    "SELECT owner FROM jobs INDEXED BY jobs_runnable "
    "WHERE state = 0 AND priority = ?1 AND owner > ?2 ORDER BY owner LIMIT 1";
inline constexpr char kNextQueuedSql[] =
    "SELECT " LLMQ_JOB_COLUMNS
    " FROM jobs INDEXED BY jobs_runnable "
    "WHERE state = 0 AND priority = ?1 AND owner = ?2 AND client > ?3 ORDER BY client, id LIMIT 1";

// The next queued job of one client after job `?4`: the pick passes over a job a
// rate limit holds without holding the client's other jobs behind it.
inline constexpr char kNextQueuedOfClientSql[] =
    "SELECT " LLMQ_JOB_COLUMNS
    " FROM jobs INDEXED BY jobs_runnable "
    "WHERE state = 0 AND priority = ?1 AND owner = ?2 AND client = ?3 AND id > ?4 ORDER BY id LIMIT 1";

inline constexpr char kPromoteRetriesSql[] =
    "UPDATE jobs INDEXED BY jobs_retry SET state = 0, next_attempt_at = NULL "
    "WHERE state = 2 AND next_attempt_at <= ?1";

// The wall clock stepped by ?1 ms: retry times move with it, so a wait keeps its length.
inline constexpr char kShiftRetriesSql[] =
    "UPDATE jobs INDEXED BY jobs_retry SET next_attempt_at = next_attempt_at + ?1 "
    "WHERE state = 2 AND next_attempt_at IS NOT NULL";
// No stored retry time lies beyond ?1 (a clock that was far ahead when it was written).
inline constexpr char kClampRetriesSql[] =
    "UPDATE jobs INDEXED BY jobs_retry SET next_attempt_at = ?1 "
    "WHERE state = 2 AND next_attempt_at > ?1";

inline constexpr char kNextRetrySql[] =
    "SELECT next_attempt_at FROM jobs INDEXED BY jobs_retry "
    "WHERE state = 2 ORDER BY next_attempt_at LIMIT 1";

// Waiting jobs (queued, retry_wait, held) by deadline, for expiry wherever they are.
inline constexpr char kNextDeadlineSql[] =
    "SELECT deadline_at FROM jobs INDEXED BY jobs_deadline "
    "WHERE deadline_at IS NOT NULL AND state IN (0, 2, 3) ORDER BY deadline_at LIMIT 1";

inline constexpr char kDueDeadlinesSql[] =
    "SELECT " LLMQ_JOB_COLUMNS
    " FROM jobs INDEXED BY jobs_deadline "
    "WHERE deadline_at IS NOT NULL AND state IN (0, 2, 3) AND deadline_at <= ?1 "
    "ORDER BY deadline_at LIMIT ?2";

}  // namespace llmq::store::sql
