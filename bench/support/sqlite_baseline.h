// The storage ceiling: a plain SQLite program storing the same rows llmqd stores
// for each submit (a jobs row plus its job_tags row), with the daemon's schema
// (store::migrate) and pragmas (store::Database: WAL, synchronous=NORMAL,
// foreign_keys), prepared statements, and `batch` rows per transaction. No IPC,
// no JSON parsing: the best any daemon could do on this disk with this schema.
#pragma once

#include <cstdint>

#include "bench/support/workload.h"
#include "common/result.h"

namespace llmq::bench {

struct InsertResult {
  double seconds = 0;
  int64_t rows = 0;
  double perSecond() const { return seconds > 0 ? static_cast<double>(rows) / seconds : 0; }
};

// Inserts `jobs` jobs into a fresh database in a temp dir.
Result<InsertResult> sqliteInserts(const Workload& w, int64_t jobs, int64_t batch);

}  // namespace llmq::bench
