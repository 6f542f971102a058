// store::Database owns the one SQLite connection of the daemon: opening with the
// pragmas we rely on (WAL, busy_timeout, foreign_keys, synchronous), the cache of
// prepared statements, and the primitive transaction calls the commit cycle uses.
// Loop thread only. Not copyable; closes the connection in its destructor.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>
#include <unordered_map>

#include "common/result.h"
#include "store/statement.h"

namespace llmq::store {

template <auto Fn>
struct FnDeleter {
  template <class T>
  void operator()(T* p) const noexcept { Fn(p); }
};
using SqliteDbPtr = std::unique_ptr<sqlite3, FnDeleter<sqlite3_close_v2>>;
using SqliteStmtPtr = std::unique_ptr<sqlite3_stmt, FnDeleter<sqlite3_finalize>>;

enum class Synchronous { kOff, kNormal, kFull };

struct OpenOptions {
  // NORMAL survives a process crash (WAL); FULL also survives power loss.
  Synchronous synchronous = Synchronous::kNormal;
  int busy_timeout_ms = 5000;
  // Creates the parent directory (mode 0700) when missing.
  bool create_parent = true;
};

class Database {
 public:
  static Result<std::unique_ptr<Database>> open(const std::string& path, const OpenOptions& opts);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs SQL without results (pragmas, DDL, BEGIN/COMMIT).
  Result<void> exec(const char* sql);

  // Returns the cached prepared statement for `sql`, borrowed until the Statement
  // goes out of scope. `sql` must be a string with static storage duration: the
  // cache is keyed by its address (Chromium's GetCachedStatement idea).
  Statement statement(const char* sql);

  // Prepares a statement that is not cached (for SQL built at run time).
  Result<SqliteStmtPtr> prepare(const std::string& sql);

  // Write transaction control. begin() is BEGIN IMMEDIATE: every read-then-write
  // happens inside it, so no other writer can interleave (STYLE G16).
  Result<void> begin();
  Result<void> commit();
  void rollback() noexcept;
  bool inTransaction() const { return sqlite3_get_autocommit(db_.get()) == 0; }

  int64_t lastInsertRowid() const { return sqlite3_last_insert_rowid(db_.get()); }
  int changes() const { return sqlite3_changes(db_.get()); }
  sqlite3* handle() const { return db_.get(); }
  const std::string& path() const { return path_; }

  // Turns the current SQLite error into an Error with `what` as context.
  Error lastError(const std::string& what) const;

 private:
  Database(SqliteDbPtr db, std::string path) : db_(std::move(db)), path_(std::move(path)) {}

  SqliteDbPtr db_;
  std::string path_;
  std::unordered_map<const char*, SqliteStmtPtr> cache_;
};

// Maps a SQLite result code to an ErrorKind (SQLITE_FULL becomes kStorageFull).
ErrorKind errorKindFor(int sqlite_code);

}  // namespace llmq::store
