// Integrity check and online backup.
#include "store/maintenance.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "store/database.h"

namespace llmq::store {

Result<void> quickCheck(Database& db) {
  auto st = db.prepare("PRAGMA quick_check");
  if (!st) {
    return makeError(ErrorKind::kStorage, "checking database " + db.path() + ": " + st.error().message);
  }
  int rc = sqlite3_step(st->get());
  if (rc != SQLITE_ROW) {
    return makeError(ErrorKind::kStorage, "checking database " + db.path() + ": " + sqlite3_errmsg(db.handle()));
  }
  const unsigned char* first = sqlite3_column_text(st->get(), 0);
  std::string verdict = first != nullptr ? reinterpret_cast<const char*>(first) : "";
  if (verdict != "ok") {
    return makeError(ErrorKind::kStorage,
                     "database " + db.path() + " is damaged (quick_check: " + verdict +
                         "); llmqd will not use it. Restore a backup (llmq db backup makes one) or "
                         "move the file aside to start afresh");
  }
  return {};
}

Result<AutoVacuum> ensureIncrementalVacuum(Database& db, int64_t max_bytes) {
  constexpr int64_t kIncremental = 2;  // PRAGMA auto_vacuum: 0 NONE, 1 FULL, 2 INCREMENTAL.
  auto mode = db.queryInt("PRAGMA auto_vacuum");
  if (!mode) {
    return mode.takeError();
  }
  if (*mode == kIncremental) {
    return AutoVacuum::kIncremental;
  }
  auto pages = db.queryInt("PRAGMA page_count");
  auto page_size = db.queryInt("PRAGMA page_size");
  if (!pages || !page_size) {
    return (!pages ? pages : page_size).takeError();
  }
  if (max_bytes <= 0 || *pages * *page_size > max_bytes) {
    return AutoVacuum::kTooLarge;
  }
  if (auto r = db.exec("PRAGMA auto_vacuum=INCREMENTAL"); !r) {
    return r.takeError();
  }
  if (auto r = db.exec("VACUUM"); !r) {
    return makeError(r.error().kind,
                     "converting " + db.path() + " to incremental auto-vacuum: " + r.error().message);
  }
  return AutoVacuum::kConverted;
}

Result<std::unique_ptr<OnlineBackup>> OnlineBackup::start(Database& db, const std::string& dest_path) {
  // The file is made here, 0600 whatever the umask (the copy holds every prompt
  // and answer), and only if nothing is at the path: O_EXCL never overwrites a
  // file and, with O_NOFOLLOW, never follows a symlink planted there.
  const int fd =
      ::open(dest_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, S_IRUSR | S_IWUSR);
  if (fd < 0) {
    if (errno == EEXIST) {
      return makeError(ErrorKind::kInvalidArgument, dest_path + " exists; a backup never overwrites a file");
    }
    return makeError(ErrorKind::kIo, "creating " + dest_path + ": " + std::strerror(errno));
  }
  struct stat made {};
  const bool stated = ::fstat(fd, &made) == 0;
  ::fchmod(fd, S_IRUSR | S_IWUSR);  // Also where the file system's defaults would widen it.
  ::close(fd);
  sqlite3* dest = nullptr;
  int rc = sqlite3_open_v2(dest_path.c_str(), &dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, nullptr);
  struct stat opened {};
  if (rc == SQLITE_OK && (!stated || ::lstat(dest_path.c_str(), &opened) != 0 || opened.st_ino != made.st_ino ||
                          opened.st_dev != made.st_dev)) {
    // Replaced between our create and SQLite's open: not our file any more, so
    // it is neither written nor removed.
    sqlite3_close(dest);
    return makeError(ErrorKind::kIo, "creating " + dest_path + ": the file was replaced while it was opened");
  }
  if (rc != SQLITE_OK) {
    std::string msg = dest != nullptr ? sqlite3_errmsg(dest) : sqlite3_errstr(rc);
    sqlite3_close(dest);
    ::unlink(dest_path.c_str());
    return makeError(ErrorKind::kIo, "creating " + dest_path + ": " + msg);
  }
  sqlite3_backup* backup = sqlite3_backup_init(dest, "main", db.handle(), "main");
  if (backup == nullptr) {
    std::string msg = sqlite3_errmsg(dest);
    sqlite3_close(dest);
    ::unlink(dest_path.c_str());
    return makeError(ErrorKind::kStorage, "starting the backup to " + dest_path + ": " + msg);
  }
  return std::unique_ptr<OnlineBackup>(new OnlineBackup(dest, backup, dest_path));
}

OnlineBackup::~OnlineBackup() {
  if (backup_ != nullptr) {
    sqlite3_backup_finish(backup_);
  }
  sqlite3_close(dest_);
  if (!done_) {
    ::unlink(path_.c_str());  // Half a backup is worse than none.
  }
}

Result<bool> OnlineBackup::step(int pages) {
  const int rc = sqlite3_backup_step(backup_, pages);
  total_ = std::max(total_, sqlite3_backup_pagecount(backup_));
  if (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
    return false;  // More to copy (or try again next step).
  }
  if (rc != SQLITE_DONE) {
    return makeError(ErrorKind::kStorage, "backing up to " + path_ + ": " + sqlite3_errstr(rc));
  }
  sqlite3_backup_finish(backup_);
  backup_ = nullptr;
  // The copy is a plain rollback-journal database, complete on disk.
  if (int c = sqlite3_exec(dest_, "PRAGMA journal_mode=DELETE", nullptr, nullptr, nullptr); c != SQLITE_OK) {
    return makeError(ErrorKind::kStorage, "finishing the backup " + path_ + ": " + sqlite3_errmsg(dest_));
  }
  done_ = true;
  return true;
}

int OnlineBackup::remaining() const { return backup_ != nullptr ? sqlite3_backup_remaining(backup_) : 0; }

}  // namespace llmq::store
