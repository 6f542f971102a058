// store::Database owns the one SQLite connection of the daemon: opening with the
// pragmas we rely on (WAL, busy_timeout, foreign_keys, synchronous, incremental
// auto-vacuum), the cache of prepared statements, and the primitive transaction
// calls the commit cycle uses.
//
// A full disk (SQLITE_FULL, or the [store] max_page_count cap) never commits part
// of a transaction: the statement that hits it rolls the whole transaction back
// (store/statement.cc), and until that transaction is ended with rollback() or
// begun again, a write that would run on its own (autocommit) is refused rather
// than committed alone (see onSqliteCommit).
//
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
  void operator()(T* p) const noexcept {
    Fn(p);
  }
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
  // happens inside it, so no other writer can interleave. rollback()
  // also ends a transaction SQLite has already rolled back on its own, which lets
  // autocommit writes through again.
  Result<void> begin();
  Result<void> commit();
  void rollback() noexcept;
  bool inTransaction() const { return sqlite3_get_autocommit(db_.get()) == 0; }

  // A PRAGMA (or other query) that answers one integer: page_count, freelist_count,
  // auto_vacuum, ...
  Result<int64_t> queryInt(const char* sql);
  // [store] max_page_count: caps the file at `pages` pages (0: SQLite's own limit).
  // A cap below the current size holds the file at its current size: writes that
  // need a new page fail with SQLITE_FULL. Returns the cap now in force.
  Result<int64_t> setMaxPageCount(int64_t pages);
  // PRAGMA incremental_vacuum(pages): moves up to `pages` free pages to the end of
  // the file and cuts them off (at the next checkpoint, in WAL mode). Does nothing
  // unless auto_vacuum is INCREMENTAL. Returns how many pages it freed.
  Result<int64_t> incrementalVacuum(int64_t pages);

  int64_t lastInsertRowid() const { return sqlite3_last_insert_rowid(db_.get()); }
  int changes() const { return sqlite3_changes(db_.get()); }
  sqlite3* handle() const { return db_.get(); }
  const std::string& path() const { return path_; }

  // Turns the current SQLite error into an Error with `what` as context.
  Error lastError(const std::string& what) const;

 private:
  Database(SqliteDbPtr db, std::string path) : db_(std::move(db)), path_(std::move(path)) {}
  // Called by SQLite before it commits a write transaction. While a transaction
  // begun here is open, the only commit allowed is commit()'s: a write that runs
  // in autocommit mode then means SQLite has already rolled that transaction back
  // (a full disk), and committing the write alone would store half of a turn.
  static int onSqliteCommit(void* self) noexcept;

  SqliteDbPtr db_;
  std::string path_;
  std::unordered_map<const char*, SqliteStmtPtr> cache_;
  bool txn_begun_ = false;         // begin() succeeded; commit() or rollback() not called yet.
  bool committing_ = false;        // Inside commit()'s COMMIT.
  int64_t default_max_pages_ = 0;  // SQLite's own max_page_count, for a cap of 0.
};

// Creates the missing directories above `path` (mode 0700).
Result<void> makeParentDirs(const std::string& path);

// Maps a SQLite result code to an ErrorKind (SQLITE_FULL becomes kStorageFull; a
// write refused because its transaction was lost is kStorage).
ErrorKind errorKindFor(int sqlite_code);

}  // namespace llmq::store
