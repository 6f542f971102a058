// The job and attempt rows as the store reads and writes them. Plain data: the
// daemon keeps a JobRecord in memory for every job it is running.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/job_kind.h"
#include "common/job_options.h"

namespace llmq::store {

// Persisted as integers; never renumber.
enum class JobState : int {
  kQueued = 0,
  kRunning = 1,
  kRetryWait = 2,
  kHeld = 3,
  kSucceeded = 4,
  kFailed = 5,
  kCancelled = 6,
  kExpired = 7,
};
inline constexpr int kJobStateCount = 8;

inline bool isTerminal(JobState s) { return static_cast<int>(s) >= static_cast<int>(JobState::kSucceeded); }

enum class OnRestart : int { kRequeue = 0, kFail = 1 };

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t total_tokens = 0;
  double cost_usd = 0.0;
};

struct JobError {
  std::string code;  // Symbolic job error code, e.g. "UPSTREAM_ERROR"; empty if none.
  std::string message;
  int upstream_status = 0;  // 0 when the error did not come from an upstream response.
  std::string source;       // "local" or "upstream".
  std::string detail_json;  // The upstream's own error object, verbatim; empty if none.
  // COOLING_DOWN: when a path opens again, from when the job failed. Not stored:
  // only those waiting for the job read it.
  int64_t retry_after_ms = 0;
};

struct JobRecord {
  int64_t id = 0;
  JobState state = JobState::kQueued;
  int priority = 0;
  std::string client;
  std::string tags_json = "[]";  // JSON array of strings, as the job object shows it.
  std::string model;             // As requested.
  std::string model_used;        // What answered; empty until an attempt starts.
  std::string request_json;      // The chat-completions body, verbatim.
  JobOptions options;            // Submit options the columns do not hold.
  std::optional<std::string> idempotency_key;
  bool stream = false;
  int max_attempts = 4;
  int attempts = 0;      // Attempts ever made; numbers the attempt rows.
  int run_attempts = 0;  // Attempts since the last job.retry; compared with max_attempts.
  OnRestart on_restart = OnRestart::kRequeue;
  std::optional<int64_t> timeout_ms;   // Per attempt.
  std::optional<int64_t> deadline_at;  // Whole job, ms since the epoch.
  int64_t created_at = 0;
  std::optional<int64_t> started_at;
  std::optional<int64_t> finished_at;
  std::optional<int64_t> next_attempt_at;
  int64_t event_seq = 0;    // Last event seq emitted for this job.
  std::string result_json;  // Empty until succeeded.
  JobError error;
  std::optional<Usage> usage;
  // The user the job belongs to: the user part of its client label (set by
  // daemon::Access::ownerOf; for a non-administrator always the submitter).
  // Idempotency keys are unique per owner; fair share goes by it.
  std::string owner;
  JobKind kind = JobKind::kChat;
};

struct AttemptRecord {
  int64_t job_id = 0;
  int attempt = 0;
  std::string model;
  std::string provider;
  int64_t started_at = 0;
  std::optional<int64_t> finished_at;
  std::string outcome = "running";  // running, succeeded, failed, cancelled, interrupted.
  int http_status = 0;
  std::string error_code;
  std::string generation_id;
  std::optional<Usage> usage;
  // The ledger (schema v4): who asked for what, with which key, and how the cost
  // was known.
  std::string model_asked;  // The job's model as submitted (a chain, a route, ...).
  std::string client;
  std::string tags_json = "[]";
  std::string key_fingerprint;  // "" when no key was used (mock, keyless providers).
  int64_t cached_tokens = 0;
  int64_t reasoning_tokens = 0;
  std::string cost_source;            // "upstream" (usage.cost), "catalog" (our prices), "none".
  std::optional<int64_t> latency_ms;  // Start of the attempt to its end.
  std::optional<int64_t> ttft_ms;     // Start to the first streamed token.
  bool cached = false;                // Answered from the response cache.
};

}  // namespace llmq::store
