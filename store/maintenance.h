// Database upkeep that is not about jobs: the integrity check llmqd runs before it
// trusts a database, and online backups through SQLite's backup API, a few pages
// at a time so the daemon's loop keeps serving while one runs.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>

#include "common/result.h"

namespace llmq::store {

class Database;

// PRAGMA quick_check: an error naming the damage unless the database is sound.
Result<void> quickCheck(Database& db);

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
  int total() const;
  const std::string& path() const { return path_; }

 private:
  OnlineBackup(sqlite3* dest, sqlite3_backup* backup, std::string path)
      : dest_(dest), backup_(backup), path_(std::move(path)) {}

  sqlite3* dest_;
  sqlite3_backup* backup_;
  std::string path_;
  bool done_ = false;
};

}  // namespace llmq::store
