// store::DatabaseLock: one llmqd per database. Two daemons on one file (through
// different sockets) would each requeue the other's running jobs and send them
// upstream again, so each job would be paid twice, and each would keep counters
// and budgets of its own. The lock is taken before anything in the file is read.
//
// It is an flock(2) on an open file description of the database file itself:
//   - on the inode, so a second path to the same file (a symlink, a hard link,
//     a bind mount) meets the same lock;
//   - independent of SQLite's own fcntl(2) byte-range locks on Linux, so other
//     programs that read the database (sqlite3, a test beside the daemon) still
//     can, and closing any other descriptor of the file never drops it;
//   - released by the kernel when the process dies, so a crash leaves no stale
//     lock behind.
// The holder's pid comes from /proc/locks, which lists each flock with the pid
// that took it and the inode it is on.
//
// The same step makes the file private: the database, its -wal and -shm files
// (which SQLite creates with the database's mode) are created 0600, and an
// existing one any other user may read or write is narrowed to 0600.
//
// Not thread-safe; held for the life of the object (the daemon's).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "common/result.h"

namespace llmq::store {

class DatabaseLock {
 public:
  // Creates `db_path` (0600, and missing parent directories 0700) when absent,
  // narrows its mode and its -wal/-shm files' to 0600, and locks it. Fails with
  // kInvalidState, "database P is in use by llmqd pid N", when another process
  // holds the lock.
  static Result<std::unique_ptr<DatabaseLock>> acquire(const std::string& db_path);
  ~DatabaseLock();
  DatabaseLock(const DatabaseLock&) = delete;
  DatabaseLock& operator=(const DatabaseLock&) = delete;

 private:
  explicit DatabaseLock(int fd) : fd_(fd) {}
  int fd_;
};

// The pid /proc/locks names as the holder of an flock on the file (device,
// inode), or 0 when none is listed (or /proc is not mounted). `proc_locks` is the
// text of /proc/locks (a parameter for tests).
pid_t flockHolder(const std::string& proc_locks, dev_t dev, ino_t ino);

// Narrows `path` to 0600 if it exists and anyone but its owner may use it. An
// error only when the file exists and its mode cannot be changed.
Result<void> makePrivate(const std::string& path);

}  // namespace llmq::store
