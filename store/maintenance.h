// Database upkeep that is not about jobs: the integrity check llmqd runs before it
// trusts a database, turning on incremental auto-vacuum in databases made without
// it, and online backups through SQLite's backup API, a few pages at a time so the
// daemon's loop keeps serving while one runs.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>

#include "common/result.h"

namespace llmq::store {

class Database;

// PRAGMA quick_check: an error naming the damage unless the database is sound.
Result<void> quickCheck(Database& db);

// What ensureIncrementalVacuum found or did.
enum class AutoVacuum {
  kIncremental,  // Already INCREMENTAL (as every database this llmqd creates).
  kConverted,    // Was NONE or FULL; a VACUUM made it INCREMENTAL just now.
  kTooLarge,     // Was NONE or FULL and larger than max_bytes: left alone.
};

// Databases created before llmqd asked for auto_vacuum = INCREMENTAL keep their
// mode until a VACUUM rewrites them, which copies the whole file (and needs that
// much free disk) while nothing else may use the database. Done here, at startup,
// only when the database (page_count * page_size) is at most `max_bytes` (0:
// never): a large database is not made to hold the start up for minutes; the
// caller says how to convert it. An error (e.g. no room for the copy) leaves the
// file as it was.
// Must run outside any transaction.
Result<AutoVacuum> ensureIncrementalVacuum(Database& db, int64_t max_bytes);

// A copy of `db` into a new file, made while the daemon runs (other connections'
// writes between steps restart nothing we rely on: SQLite restarts the copy when
// the source changes through another connection, and picks up changes made
// through this one).
class OnlineBackup {
 public:
  // Opens `dest_path` (which must not exist) and prepares the copy.
  static Result<std::unique_ptr<OnlineBackup>> start(Database& db, const std::string& dest_path);
  ~OnlineBackup();
  OnlineBackup(const OnlineBackup&) = delete;
  OnlineBackup& operator=(const OnlineBackup&) = delete;

  // Copies up to `pages` more pages. True when the copy is complete (and synced).
  Result<bool> step(int pages);
  int remaining() const;
  // The pages of the database being copied, as of the last step (so still known
  // once the copy is complete); 0 before the first step.
  int total() const { return total_; }
  const std::string& path() const { return path_; }

 private:
  OnlineBackup(sqlite3* dest, sqlite3_backup* backup, std::string path)
      : dest_(dest), backup_(backup), path_(std::move(path)) {}

  sqlite3* dest_;
  sqlite3_backup* backup_;
  std::string path_;
  int total_ = 0;
  bool done_ = false;
};

}  // namespace llmq::store
