// Migrations. Each entry upgrades from version N-1 to N; they are never edited
// once released, only appended. Indexes are chosen so every statement on the loop
// thread is an index seek even with a million queued jobs:
//   jobs_runnable  (priority, owner, client, id) WHERE state = 0 -> next job, fair share
//   jobs_retry     (next_attempt_at)      WHERE state = 2  -> next retry time
//   jobs_client / jobs_state / job_tags                    -> job.list filters
#include "store/schema.h"

#include <string>

#include "store/database.h"
#include "store/transaction.h"

namespace llmq::store {
namespace {

constexpr char kMigrationV1[] = R"sql(
CREATE TABLE jobs (
  id              INTEGER PRIMARY KEY,
  state           INTEGER NOT NULL,
  priority        INTEGER NOT NULL,
  client          TEXT NOT NULL,
  tags            TEXT NOT NULL DEFAULT '[]',
  model           TEXT NOT NULL,
  model_used      TEXT,
  request         TEXT NOT NULL,
  options         TEXT NOT NULL DEFAULT '{}',
  idempotency_key TEXT,
  stream          INTEGER NOT NULL DEFAULT 0,
  max_attempts    INTEGER NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  run_attempts    INTEGER NOT NULL DEFAULT 0,
  on_restart      INTEGER NOT NULL DEFAULT 0,
  timeout_ms      INTEGER,
  deadline_at     INTEGER,
  created_at      INTEGER NOT NULL,
  started_at      INTEGER,
  finished_at     INTEGER,
  next_attempt_at INTEGER,
  event_seq       INTEGER NOT NULL DEFAULT 0,
  result          TEXT,
  error_code      TEXT,
  error_message   TEXT,
  error_status    INTEGER,
  error_source    TEXT,
  prompt_tokens     INTEGER,
  completion_tokens INTEGER,
  total_tokens      INTEGER,
  cost_usd          REAL
);
CREATE UNIQUE INDEX jobs_idempotency ON jobs(idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_runnable ON jobs(priority, client, id) WHERE state = 0;
CREATE INDEX jobs_retry ON jobs(next_attempt_at) WHERE state = 2;
CREATE INDEX jobs_client ON jobs(client, id);
CREATE INDEX jobs_state ON jobs(state, id);

CREATE TABLE job_tags (
  tag    TEXT NOT NULL,
  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  PRIMARY KEY (tag, job_id)
) WITHOUT ROWID;
CREATE INDEX job_tags_job ON job_tags(job_id);

CREATE TABLE attempts (
  job_id            INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  attempt           INTEGER NOT NULL,
  model             TEXT NOT NULL,
  provider          TEXT NOT NULL,
  started_at        INTEGER NOT NULL,
  finished_at       INTEGER,
  outcome           TEXT NOT NULL,
  http_status       INTEGER,
  error_code        TEXT,
  generation_id     TEXT,
  prompt_tokens     INTEGER,
  completion_tokens INTEGER,
  cost_usd          REAL,
  PRIMARY KEY (job_id, attempt)
) WITHOUT ROWID;

CREATE TABLE settings (
  name  TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
)sql";

// v2: the upstream's own error object ({code, message, metadata}) kept with the job.
constexpr char kMigrationV2[] = R"sql(
ALTER TABLE jobs ADD COLUMN error_detail TEXT;
)sql";

// v3: a job's own API key (BYOK), encrypted (store/secret_store.h), until the job ends.
constexpr char kMigrationV3[] = R"sql(
CREATE TABLE job_secrets (
  job_id     INTEGER PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
  nonce      BLOB NOT NULL,
  ciphertext BLOB NOT NULL
);
-- Jobs waiting with a deadline_s (queued, retry_wait, held): the next to expire.
CREATE INDEX jobs_deadline ON jobs(deadline_at)
  WHERE deadline_at IS NOT NULL AND state IN (0, 2, 3);
)sql";

// v4: money. The attempts table becomes the ledger (one row per attempt that
// reached the upstream, with what it cost and how that was known); daily rollups
// answer usage reports without reading the ledger; budgets; the model catalog.
constexpr char kMigrationV4[] = R"sql(
ALTER TABLE attempts ADD COLUMN model_asked TEXT;
ALTER TABLE attempts ADD COLUMN client TEXT;
ALTER TABLE attempts ADD COLUMN tags TEXT;
ALTER TABLE attempts ADD COLUMN key_fingerprint TEXT;
ALTER TABLE attempts ADD COLUMN cached_tokens INTEGER;
ALTER TABLE attempts ADD COLUMN reasoning_tokens INTEGER;
ALTER TABLE attempts ADD COLUMN cost_source TEXT;
ALTER TABLE attempts ADD COLUMN latency_ms INTEGER;
ALTER TABLE attempts ADD COLUMN ttft_ms INTEGER;
ALTER TABLE attempts ADD COLUMN cached INTEGER NOT NULL DEFAULT 0;
-- Ledger scans over a time range (reports off day boundaries, budget periods).
CREATE INDEX attempts_time ON attempts(started_at);

-- Per UTC day of started_at; key_fp '' for the mock and keyless providers.
CREATE TABLE usage_daily (
  day               TEXT NOT NULL,
  model             TEXT NOT NULL,
  client            TEXT NOT NULL,
  key_fp            TEXT NOT NULL,
  requests          INTEGER NOT NULL,
  prompt_tokens     INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  cached_tokens     INTEGER NOT NULL,
  reasoning_tokens  INTEGER NOT NULL,
  cost_usd          REAL NOT NULL,
  PRIMARY KEY (day, model, client, key_fp)
) WITHOUT ROWID;
-- The same per tag; a job without tags counts under tag ''.
CREATE TABLE usage_daily_tag (
  day               TEXT NOT NULL,
  tag               TEXT NOT NULL,
  model             TEXT NOT NULL,
  client            TEXT NOT NULL,
  key_fp            TEXT NOT NULL,
  requests          INTEGER NOT NULL,
  prompt_tokens     INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  cached_tokens     INTEGER NOT NULL,
  reasoning_tokens  INTEGER NOT NULL,
  cost_usd          REAL NOT NULL,
  PRIMARY KEY (day, tag, model, client, key_fp)
) WITHOUT ROWID;

CREATE TABLE budgets (
  scope      TEXT NOT NULL,
  period     TEXT NOT NULL,
  limit_usd  REAL NOT NULL,
  alert_at   TEXT NOT NULL DEFAULT '[]',
  action     TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  -- The alerts already sent: {"period_start": ms, "fractions": [...]}.
  alerted    TEXT NOT NULL DEFAULT '{}',
  PRIMARY KEY (scope, period)
) WITHOUT ROWID;

CREATE TABLE models (
  id                    TEXT PRIMARY KEY,
  provider              TEXT NOT NULL,
  name                  TEXT NOT NULL DEFAULT '',
  context_length        INTEGER,
  max_completion_tokens INTEGER,
  pricing               TEXT NOT NULL,
  fetched_at            INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

// v5: the opt-in response cache (daemon/policy/response_cache.h).
constexpr char kMigrationV5[] = R"sql(
CREATE TABLE response_cache (
  key               TEXT PRIMARY KEY,
  model             TEXT NOT NULL,
  result            TEXT NOT NULL,
  prompt_tokens     INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  created_at        INTEGER NOT NULL,
  expires_at        INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX response_cache_expiry ON response_cache(expires_at);
)sql";

// v6: retention. Finished jobs whose bodies are still there, by finish time, so
// pruning them (daemon/retention.h) is an index range, not a scan.
constexpr char kMigrationV6[] = R"sql(
CREATE INDEX jobs_prunable ON jobs(finished_at) WHERE state >= 4 AND request != '';
)sql";

// v7: every job has an owner, the user part of its client label (Access::ownerOf
// in daemon/policy/access.cc: "alice" of "alice:batch", "uid:N" of "uid:N:batch"), the
// user who may act on it besides administrators. An idempotency key is unique per
// owner, not across users: one user's key can neither find nor block another
// user's job.
constexpr char kMigrationV7[] = R"sql(
ALTER TABLE jobs ADD COLUMN owner TEXT NOT NULL DEFAULT '';
UPDATE jobs SET owner = CASE
  WHEN client LIKE 'uid:%' AND instr(substr(client, 5), ':') > 0
    THEN substr(client, 1, 4 + instr(substr(client, 5), ':') - 1)
  WHEN client LIKE 'uid:%' THEN client
  WHEN instr(client, ':') > 1 THEN substr(client, 1, instr(client, ':') - 1)
  ELSE client END;
DROP INDEX jobs_idempotency;
CREATE UNIQUE INDEX jobs_idempotency ON jobs(owner, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
)sql";

// v8: fair share by user first (daemon/jobs/scheduler.h): the runnable index orders a
// priority's queued jobs by owner, then client, then id, so the next owner, the
// next client of one owner and a client's next job are each one index seek.
constexpr char kMigrationV8[] = R"sql(
DROP INDEX jobs_runnable;
CREATE INDEX jobs_runnable ON jobs(priority, owner, client, id) WHERE state = 0;
)sql";

// v9: jobs of another kind than chat completions (common/job_kind.h): 0 chat,
// 1 embeddings. Every older job is a chat job.
constexpr char kMigrationV9[] = R"sql(
ALTER TABLE jobs ADD COLUMN kind INTEGER NOT NULL DEFAULT 0;
)sql";

constexpr const char* kMigrations[] = {kMigrationV1, kMigrationV2, kMigrationV3, kMigrationV4, kMigrationV5,
                                       kMigrationV6, kMigrationV7, kMigrationV8, kMigrationV9};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kSchemaVersion);

}  // namespace

Result<int> schemaVersion(Database& db) {
  auto st = db.statement("PRAGMA user_version");
  auto row = st.step();
  if (!row) {
    return row.takeError();
  }
  return row.value() ? st.int32(0) : 0;
}

Result<void> migrate(Database& db) {
  auto version = schemaVersion(db);
  if (!version) {
    return version.takeError();
  }
  if (*version > kSchemaVersion) {
    return makeError(ErrorKind::kStorage, "database " + db.path() + " has schema version " +
                                              std::to_string(*version) + ", newer than this llmqd understands (" +
                                              std::to_string(kSchemaVersion) + "); upgrade llmqd");
  }
  if (*version == kSchemaVersion) {
    return {};
  }
  Transaction txn(db);
  if (auto r = txn.begin(); !r) {
    return r;
  }
  for (int v = *version; v < kSchemaVersion; ++v) {
    if (auto r = db.exec(kMigrations[v]); !r) {
      return makeError(r.error().kind, "migrating database " + db.path() + " to version " + std::to_string(v + 1) +
                                           ": " + r.error().message);
    }
  }
  std::string set_version = "PRAGMA user_version=" + std::to_string(kSchemaVersion);
  if (auto r = db.exec(set_version.c_str()); !r) {
    return r;
  }
  return txn.commit();
}

}  // namespace llmq::store
