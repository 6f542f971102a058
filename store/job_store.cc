// JobStore: every statement here is a cached prepared statement and an index seek.
#include "store/job_store.h"

#include "store/database.h"
#include "store/job_store_sql.h"

namespace llmq::store {
namespace {

constexpr char kGetJobSql[] = "SELECT " LLMQ_JOB_COLUMNS " FROM jobs WHERE id = ?1";
constexpr char kFindIdempotentSql[] =
    "SELECT id FROM jobs INDEXED BY jobs_idempotency "
    "WHERE owner = ?1 AND idempotency_key = ?2 AND idempotency_key IS NOT NULL";
constexpr char kUpdateJobSql[] =
    "UPDATE jobs SET state = ?2, model_used = ?3, attempts = ?4, run_attempts = ?5, "
    "started_at = ?6, finished_at = ?7, next_attempt_at = ?8, event_seq = ?9, result = ?10, "
    "error_code = ?11, error_message = ?12, error_status = ?13, error_source = ?14, "
    "prompt_tokens = ?15, completion_tokens = ?16, total_tokens = ?17, cost_usd = ?18, "
    "error_detail = ?19 WHERE id = ?1";
constexpr char kInsertAttemptSql[] =
    "INSERT INTO attempts (job_id, attempt, model, provider, started_at, finished_at, outcome, "
    "http_status, error_code, generation_id, prompt_tokens, completion_tokens, cost_usd, "
    "model_asked, client, tags, key_fingerprint, cached) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)";
constexpr char kUpdateAttemptSql[] =
    "UPDATE attempts SET finished_at = ?3, outcome = ?4, http_status = ?5, error_code = ?6, "
    "generation_id = ?7, prompt_tokens = ?8, completion_tokens = ?9, cost_usd = ?10, "
    "cached_tokens = ?11, reasoning_tokens = ?12, cost_source = ?13, latency_ms = ?14, "
    "ttft_ms = ?15, cached = ?16 "
    "WHERE job_id = ?1 AND attempt = ?2";
constexpr char kPruneFinishedSql[] =
    "UPDATE jobs SET request = '', result = NULL, error_detail = NULL WHERE id IN ("
    "SELECT id FROM jobs INDEXED BY jobs_prunable WHERE state >= 4 AND request != '' "
    "AND finished_at < ?1 ORDER BY finished_at LIMIT ?2)";
constexpr char kReleaseHeldSql[] = "UPDATE jobs INDEXED BY jobs_state SET state = 0 WHERE state = 3";
constexpr char kAttemptsSql[] =
    "SELECT job_id, attempt, model, provider, started_at, finished_at, outcome, http_status, "
    "error_code, generation_id, prompt_tokens, completion_tokens, cost_usd, model_asked, client, "
    "tags, key_fingerprint, cached_tokens, reasoning_tokens, cost_source, latency_ms, ttft_ms, cached "
    "FROM attempts WHERE job_id = ?1 ORDER BY attempt";
constexpr char kInterruptAttemptsSql[] =
    "UPDATE attempts SET outcome = 'interrupted', finished_at = ?1 "
    "WHERE outcome = 'running'";
// A running job's stored event_seq lags behind the seqs it sent: message_chunk
// events advance it without a write. After a crash the job's next events would
// reuse seqs a subscriber already saw, so recovery moves it past any stream
// (a gap, which PROTOCOL.md says a client may see; never a seq twice).
#define LLMQ_CRASH_SEQ_GAP "1000000"
constexpr char kRequeueRunningSql[] = "UPDATE jobs SET state = 0, event_seq = event_seq + " LLMQ_CRASH_SEQ_GAP
                                      " WHERE state = 1 AND on_restart = 0";
constexpr char kFailRunningSql[] =
    "UPDATE jobs SET state = 5, event_seq = event_seq + " LLMQ_CRASH_SEQ_GAP
    ", finished_at = ?1, error_code = 'INTERRUPTED', "
    "error_message = 'the daemon stopped while the job was running and on_restart is \"fail\"', "
    "error_source = 'local', error_status = NULL WHERE state = 1 AND on_restart = 1";
constexpr char kCountByStateSql[] = "SELECT state, count(*) FROM jobs GROUP BY state";
// Bytes, not characters: length() of a BLOB. Startup and lost turns only (a scan).
constexpr char kUsageByClientSql[] =
    "SELECT client, sum(state < 4), sum(length(CAST(request AS BLOB)) + "
    "ifnull(length(CAST(result AS BLOB)), 0) + ifnull(length(CAST(error_detail AS BLOB)), 0)) "
    "FROM jobs GROUP BY client";
// The rows kPruneFinishedSql is about to empty (the same rows: same query, same
// transaction), with what each holds.
constexpr char kPrunableSql[] =
    "SELECT client, length(CAST(request AS BLOB)) + ifnull(length(CAST(result AS BLOB)), 0) + "
    "ifnull(length(CAST(error_detail AS BLOB)), 0) FROM jobs WHERE id IN ("
    "SELECT id FROM jobs INDEXED BY jobs_prunable WHERE state >= 4 AND request != '' "
    "AND finished_at < ?1 ORDER BY finished_at LIMIT ?2)";

JobRecord readJob(const Statement& st) {
  JobRecord j;
  j.id = st.int64(0);
  j.state = static_cast<JobState>(st.int32(1));
  j.priority = st.int32(2);
  j.client = st.string(3);
  j.tags_json = st.string(4);
  j.model = st.string(5);
  j.model_used = st.string(6);
  j.request_json = st.string(7);
  j.options = parseJobOptions(st.string(8));
  if (!st.isNull(9)) {
    j.idempotency_key = st.string(9);
  }
  j.stream = st.int32(10) != 0;
  j.max_attempts = st.int32(11);
  j.attempts = st.int32(12);
  j.run_attempts = st.int32(13);
  j.on_restart = static_cast<OnRestart>(st.int32(14));
  auto opt = [&](int col) -> std::optional<int64_t> {
    return st.isNull(col) ? std::nullopt : std::optional<int64_t>(st.int64(col));
  };
  j.timeout_ms = opt(15);
  j.deadline_at = opt(16);
  j.created_at = st.int64(17);
  j.started_at = opt(18);
  j.finished_at = opt(19);
  j.next_attempt_at = opt(20);
  j.event_seq = st.int64(21);
  j.result_json = st.string(22);
  j.error.code = st.string(23);
  j.error.message = st.string(24);
  j.error.upstream_status = st.int32(25);
  j.error.source = st.string(26);
  if (!st.isNull(27)) {
    j.usage = Usage{st.int64(27), st.int64(28), st.int64(29), st.real(30)};
  }
  j.error.detail_json = st.string(31);
  j.owner = st.string(32);
  j.kind = jobKindFromInt(st.int32(33));
  return j;
}

template <class T>
std::optional<T> orNull(bool present, T v) {
  return present ? std::optional<T>(v) : std::nullopt;
}

std::optional<std::string_view> nonEmpty(const std::string& s) {
  return s.empty() ? std::nullopt : std::optional<std::string_view>(s);
}

AttemptRecord readAttempt(const Statement& st) {
  AttemptRecord a;
  a.job_id = st.int64(0);
  a.attempt = st.int32(1);
  a.model = st.string(2);
  a.provider = st.string(3);
  a.started_at = st.int64(4);
  if (!st.isNull(5)) {
    a.finished_at = st.int64(5);
  }
  a.outcome = st.string(6);
  a.http_status = st.int32(7);
  a.error_code = st.string(8);
  a.generation_id = st.string(9);
  if (!st.isNull(10)) {
    a.usage = Usage{st.int64(10), st.int64(11), st.int64(10) + st.int64(11), st.real(12)};
  }
  a.model_asked = st.string(13);
  a.client = st.string(14);
  a.tags_json = st.isNull(15) ? "[]" : st.string(15);
  a.key_fingerprint = st.string(16);
  a.cached_tokens = st.int64(17);
  a.reasoning_tokens = st.int64(18);
  a.cost_source = st.string(19);
  if (!st.isNull(20)) {
    a.latency_ms = st.int64(20);
  }
  if (!st.isNull(21)) {
    a.ttft_ms = st.int64(21);
  }
  a.cached = st.int32(22) != 0;
  return a;
}

// Steps `st` to the end, turning each row into a T with `read`.
template <class T, class Read>
Result<std::vector<T>> collectRows(Statement& st, Read read) {
  std::vector<T> out;
  for (;;) {
    auto row = st.step();
    if (!row) {
      return row.takeError();
    }
    if (!row.value()) {
      return out;
    }
    out.push_back(read(st));
  }
}

}  // namespace

Result<int64_t> JobStore::insert(const JobRecord& job, const std::vector<std::string>& tags) {
  const std::string options = toJson(job.options);
  auto st = db_.statement(sql::kInsertJobSql);
  st.bind(1, static_cast<int>(job.state))
      .bind(2, job.priority)
      .bindStatic(3, job.client)
      .bindStatic(4, job.tags_json)
      .bindStatic(5, job.model)
      .bindStatic(6, job.request_json)
      .bindStatic(7, options);
  if (job.idempotency_key) {
    st.bindStatic(8, *job.idempotency_key);
  }
  st.bind(9, job.stream ? 1 : 0)
      .bind(10, job.max_attempts)
      .bind(11, static_cast<int>(job.on_restart))
      .bind(12, job.timeout_ms)
      .bind(13, job.deadline_at)
      .bind(14, job.created_at)
      .bind(15, job.event_seq)
      .bindStatic(16, job.owner)
      .bind(17, static_cast<int>(job.kind));
  if (auto r = st.run(); !r) {
    return r.takeError();
  }
  int64_t id = db_.lastInsertRowid();
  for (const auto& tag : tags) {
    auto ts = db_.statement(sql::kInsertTagSql);
    ts.bindStatic(1, tag).bind(2, id);
    if (auto r = ts.run(); !r) {
      return r.takeError();
    }
  }
  return id;
}

Result<std::optional<JobRecord>> JobStore::get(int64_t id) {
  auto st = db_.statement(kGetJobSql);
  st.bind(1, id);
  auto row = st.step();
  if (!row) {
    return row.takeError();
  }
  if (!row.value()) {
    return std::optional<JobRecord>();
  }
  return std::optional<JobRecord>(readJob(st));
}

Result<std::optional<int64_t>> JobStore::findByIdempotencyKey(std::string_view owner, std::string_view key) {
  auto st = db_.statement(kFindIdempotentSql);
  st.bindStatic(1, owner).bindStatic(2, key);
  auto row = st.step();
  if (!row) {
    return row.takeError();
  }
  return row.value() ? std::optional<int64_t>(st.int64(0)) : std::nullopt;
}

Result<std::vector<JobRecord>> JobStore::list(const ListFilter& filter) {
  std::vector<JobRecord> out;
  auto r = listEach(filter, [&out](JobRecord& j) {
    out.push_back(std::move(j));
    return true;
  });
  if (!r) {
    return r.takeError();
  }
  return out;
}

Result<void> JobStore::listEach(const ListFilter& filter, const std::function<bool(JobRecord&)>& each) {
  // The filters combine freely, so this one statement is built at run time; its
  // shapes are few and each uses the index of its most selective filter.
  std::string sql = "SELECT " LLMQ_JOB_COLUMNS " FROM jobs WHERE 1";
  if (filter.state) {
    sql += " AND state = ?1";
  }
  if (filter.client) {
    sql += " AND client = ?2";
  }
  if (filter.tag) {
    sql += " AND id IN (SELECT job_id FROM job_tags WHERE tag = ?3)";
  }
  if (filter.before_id > 0) {
    sql += " AND id < ?4";
  }
  if (filter.owner) {
    // "<owner>:" up to but excluding "<owner>;" (';' follows ':'): an index range.
    sql += " AND (client = ?6 OR (client > ?6 || ':' AND client < ?6 || ';'))";
  }
  sql += " ORDER BY id DESC LIMIT ?5";
  auto prepared = db_.prepare(sql);
  if (!prepared) {
    return prepared.takeError();
  }
  Statement st(db_.handle(), prepared->get());
  if (filter.state) {
    st.bind(1, static_cast<int>(*filter.state));
  }
  if (filter.client) {
    st.bind(2, *filter.client);
  }
  if (filter.tag) {
    st.bind(3, *filter.tag);
  }
  if (filter.before_id > 0) {
    st.bind(4, filter.before_id);
  }
  st.bind(5, filter.limit);
  if (filter.owner) {
    st.bind(6, *filter.owner);
  }
  for (;;) {
    auto row = st.step();
    if (!row) {
      return row.takeError();
    }
    if (!row.value()) {
      return {};
    }
    JobRecord j = readJob(st);
    if (!each(j)) {
      return {};
    }
  }
}

Result<void> JobStore::update(const JobRecord& j) {
  auto st = db_.statement(kUpdateJobSql);
  st.bind(1, j.id)
      .bind(2, static_cast<int>(j.state))
      .bind(3, nonEmpty(j.model_used))
      .bind(4, j.attempts)
      .bind(5, j.run_attempts)
      .bind(6, j.started_at)
      .bind(7, j.finished_at)
      .bind(8, j.next_attempt_at)
      .bind(9, j.event_seq)
      .bind(10, nonEmpty(j.result_json))
      .bind(11, nonEmpty(j.error.code))
      .bind(12, nonEmpty(j.error.message))
      .bind(13, orNull(j.error.upstream_status != 0, j.error.upstream_status))
      .bind(14, nonEmpty(j.error.source))
      .bind(19, nonEmpty(j.error.detail_json));
  if (j.usage) {
    st.bind(15, j.usage->prompt_tokens)
        .bind(16, j.usage->completion_tokens)
        .bind(17, j.usage->total_tokens)
        .bind(18, j.usage->cost_usd);
  }
  return st.run();
}

Result<std::optional<int>> JobStore::topQueuedPriority(int below) {
  auto st = db_.statement(sql::kTopQueuedPrioritySql);
  st.bind(1, below);
  auto row = st.step();
  if (!row) {
    return row.takeError();
  }
  return row.value() ? std::optional<int>(st.int32(0)) : std::nullopt;
}

Result<std::optional<std::string>> JobStore::nextQueuedOwner(int priority, std::string_view after_owner) {
  auto st = db_.statement(sql::kNextQueuedOwnerSql);
  st.bind(1, priority).bindStatic(2, after_owner);
  auto row = st.step();
  if (!row) {
    return row.takeError();
  }
  return row.value() ? std::optional<std::string>(st.string(0)) : std::nullopt;
}

Result<std::optional<JobRecord>> JobStore::nextQueued(int priority, std::string_view owner,
                                                      std::string_view after_client) {
  auto st = db_.statement(sql::kNextQueuedSql);
  st.bind(1, priority).bindStatic(2, owner).bindStatic(3, after_client);
  auto row = st.step();
  if (!row) {
    return row.takeError();
  }
  if (!row.value()) {
    return std::optional<JobRecord>();
  }
  return std::optional<JobRecord>(readJob(st));
}

Result<std::optional<JobRecord>> JobStore::nextQueuedOfClient(int priority, std::string_view owner,
                                                              std::string_view client, int64_t after_id) {
  auto st = db_.statement(sql::kNextQueuedOfClientSql);
  st.bind(1, priority).bindStatic(2, owner).bindStatic(3, client).bind(4, after_id);
  auto row = st.step();
  if (!row) {
    return row.takeError();
  }
  if (!row.value()) {
    return std::optional<JobRecord>();
  }
  return std::optional<JobRecord>(readJob(st));
}

Result<int64_t> JobStore::pruneFinished(int64_t cutoff_ms, int64_t limit, std::vector<ClientBytes>* freed) {
  if (freed != nullptr) {
    auto sel = db_.statement(kPrunableSql);
    sel.bind(1, cutoff_ms).bind(2, limit);
    for (;;) {
      auto row = sel.step();
      if (!row) {
        return row.takeError();
      }
      if (!row.value()) {
        break;
      }
      freed->push_back({sel.string(0), sel.int64(1)});
    }
  }
  auto st = db_.statement(kPruneFinishedSql);
  st.bind(1, cutoff_ms).bind(2, limit);
  if (auto r = st.run(); !r) {
    return r.takeError();
  }
  return static_cast<int64_t>(db_.changes());
}

Result<int64_t> JobStore::releaseHeld() {
  auto st = db_.statement(kReleaseHeldSql);
  if (auto r = st.run(); !r) {
    return r.takeError();
  }
  return static_cast<int64_t>(db_.changes());
}

Result<int64_t> JobStore::promoteDueRetries(int64_t now_ms) {
  auto st = db_.statement(sql::kPromoteRetriesSql);
  st.bind(1, now_ms);
  if (auto r = st.run(); !r) {
    return r.takeError();
  }
  return static_cast<int64_t>(db_.changes());
}

Result<void> JobStore::shiftRetries(int64_t delta_ms) {
  auto st = db_.statement(sql::kShiftRetriesSql);
  st.bind(1, delta_ms);
  return st.run();
}

Result<int64_t> JobStore::clampRetries(int64_t latest_ms) {
  auto st = db_.statement(sql::kClampRetriesSql);
  st.bind(1, latest_ms);
  if (auto r = st.run(); !r) {
    return r.takeError();
  }
  return static_cast<int64_t>(db_.changes());
}

Result<std::optional<int64_t>> JobStore::nextRetryAt() {
  auto st = db_.statement(sql::kNextRetrySql);
  auto row = st.step();
  if (!row) {
    return row.takeError();
  }
  return row.value() ? std::optional<int64_t>(st.int64(0)) : std::nullopt;
}

Result<std::optional<int64_t>> JobStore::nextDeadline() {
  auto st = db_.statement(sql::kNextDeadlineSql);
  auto row = st.step();
  if (!row) {
    return row.takeError();
  }
  return row.value() ? std::optional<int64_t>(st.int64(0)) : std::nullopt;
}

Result<std::vector<JobRecord>> JobStore::dueDeadlines(int64_t now_ms, int limit) {
  auto st = db_.statement(sql::kDueDeadlinesSql);
  st.bind(1, now_ms).bind(2, limit);
  return collectRows<JobRecord>(st, readJob);
}

Result<void> JobStore::insertAttempt(const AttemptRecord& a) {
  auto st = db_.statement(kInsertAttemptSql);
  st.bind(1, a.job_id)
      .bind(2, a.attempt)
      .bindStatic(3, a.model)
      .bindStatic(4, a.provider)
      .bind(5, a.started_at)
      .bind(6, a.finished_at)
      .bindStatic(7, a.outcome)
      .bind(8, orNull(a.http_status != 0, a.http_status))
      .bind(9, nonEmpty(a.error_code))
      .bind(10, nonEmpty(a.generation_id));
  if (a.usage) {
    st.bind(11, a.usage->prompt_tokens).bind(12, a.usage->completion_tokens).bind(13, a.usage->cost_usd);
  }
  st.bindStatic(14, a.model_asked)
      .bindStatic(15, a.client)
      .bindStatic(16, a.tags_json)
      .bind(17, nonEmpty(a.key_fingerprint))
      .bind(18, a.cached ? 1 : 0);
  return st.run();
}

Result<void> JobStore::recordOutcome(const JobRecord& job, const AttemptRecord& attempt) {
  if (auto r = updateAttempt(attempt); !r) {
    return r;
  }
  return update(job);
}

Result<void> JobStore::updateAttempt(const AttemptRecord& a) {
  auto st = db_.statement(kUpdateAttemptSql);
  st.bind(1, a.job_id)
      .bind(2, a.attempt)
      .bind(3, a.finished_at)
      .bindStatic(4, a.outcome)
      .bind(5, orNull(a.http_status != 0, a.http_status))
      .bind(6, nonEmpty(a.error_code))
      .bind(7, nonEmpty(a.generation_id));
  if (a.usage) {
    st.bind(8, a.usage->prompt_tokens).bind(9, a.usage->completion_tokens).bind(10, a.usage->cost_usd);
    st.bind(11, a.cached_tokens).bind(12, a.reasoning_tokens);
  }
  st.bind(13, nonEmpty(a.cost_source)).bind(14, a.latency_ms).bind(15, a.ttft_ms).bind(16, a.cached ? 1 : 0);
  return st.run();
}

Result<std::vector<AttemptRecord>> JobStore::attempts(int64_t job_id) {
  auto st = db_.statement(kAttemptsSql);
  st.bind(1, job_id);
  return collectRows<AttemptRecord>(st, readAttempt);
}

Result<RecoveryCounts> JobStore::recoverInterrupted(int64_t now_ms) {
  RecoveryCounts counts;
  {
    auto st = db_.statement(kInterruptAttemptsSql);
    st.bind(1, now_ms);
    if (auto r = st.run(); !r) {
      return r.takeError();
    }
  }
  {
    auto st = db_.statement(kRequeueRunningSql);
    if (auto r = st.run(); !r) {
      return r.takeError();
    }
    counts.requeued = db_.changes();
  }
  {
    auto st = db_.statement(kFailRunningSql);
    st.bind(1, now_ms);
    if (auto r = st.run(); !r) {
      return r.takeError();
    }
    counts.failed = db_.changes();
  }
  return counts;
}

Result<std::array<int64_t, kJobStateCount>> JobStore::countByState() {
  std::array<int64_t, kJobStateCount> counts{};
  auto st = db_.statement(kCountByStateSql);
  for (;;) {
    auto row = st.step();
    if (!row) {
      return row.takeError();
    }
    if (!row.value()) {
      return counts;
    }
    int s = st.int32(0);
    if (s >= 0 && s < kJobStateCount) {
      counts[static_cast<size_t>(s)] = st.int64(1);
    }
  }
}

Result<std::vector<ClientUsage>> JobStore::usageByClient() {
  std::vector<ClientUsage> out;
  auto st = db_.statement(kUsageByClientSql);
  for (;;) {
    auto row = st.step();
    if (!row) {
      return row.takeError();
    }
    if (!row.value()) {
      return out;
    }
    out.push_back({st.string(0), st.int64(1), st.int64(2)});
  }
}

}  // namespace llmq::store
