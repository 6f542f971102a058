// DatabaseLock: flock on the database file, the holder's pid from /proc/locks.
#include "store/db_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "store/database.h"

namespace llmq::store {
namespace {

constexpr mode_t kPrivate = S_IRUSR | S_IWUSR;  // 0600.

Result<void> narrow(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return makeError(ErrorKind::kIo, "checking the mode of " + path + ": " + std::strerror(errno));
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) == 0) {
    return {};
  }
  if (::fchmod(fd, kPrivate) != 0) {
    return makeError(ErrorKind::kIo, "making " + path + " private (chmod 600): " + std::strerror(errno));
  }
  return {};
}

std::string readProcLocks() {
  std::ifstream in("/proc/locks");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

pid_t flockHolder(const std::string& proc_locks, dev_t dev, ino_t ino) {
  // "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF", device numbers in hex;
  // waiters show as "1: -> FLOCK ..." and are not holders.
  char want[64];
  std::snprintf(want, sizeof want, "%02x:%02x:%llu", major(dev), minor(dev), static_cast<unsigned long long>(ino));
  std::istringstream lines(proc_locks);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string ordinal, kind, advisory, access, pid, where;
    if (!(fields >> ordinal >> kind >> advisory >> access >> pid >> where) || kind != "FLOCK" || where != want) {
      continue;
    }
    char* end = nullptr;
    const long n = std::strtol(pid.c_str(), &end, 10);
    if (end != pid.c_str() && *end == '\0' && n > 0) {
      return static_cast<pid_t>(n);
    }
  }
  return 0;
}

Result<void> makePrivate(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    if (errno == ENOENT) {
      return {};
    }
    return makeError(ErrorKind::kIo, "opening " + path + " to check its mode: " + std::strerror(errno));
  }
  auto r = narrow(fd, path);
  ::close(fd);
  return r;
}

Result<std::unique_ptr<DatabaseLock>> DatabaseLock::acquire(const std::string& db_path) {
  if (auto r = makeParentDirs(db_path); !r) {
    return r.takeError();
  }
  // 0600 whatever the umask: the file holds every prompt and answer.
  const int fd = ::open(db_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, kPrivate);
  if (fd < 0) {
    return makeError(ErrorKind::kIo, "opening database " + db_path + ": " + std::strerror(errno));
  }
  std::unique_ptr<DatabaseLock> self(new DatabaseLock(fd));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) {
      return makeError(ErrorKind::kIo, "locking database " + db_path + ": " + std::strerror(errno));
    }
    struct stat st {};
    const pid_t holder = ::fstat(fd, &st) == 0 ? flockHolder(readProcLocks(), st.st_dev, st.st_ino) : 0;
    return makeError(ErrorKind::kInvalidState,
                     "database " + db_path + " is in use by " +
                         (holder > 0 ? "llmqd pid " + std::to_string(holder) : std::string("another llmqd")) +
                         "; one database serves one llmqd (stop it, or give this one another --db)");
  }
  // Narrowed only once the file is ours: the holder of a lock decides for its file.
  for (const std::string& path : {db_path + "-wal", db_path + "-shm"}) {
    if (auto r = makePrivate(path); !r) {
      return r.takeError();
    }
  }
  if (auto r = narrow(fd, db_path); !r) {
    return r.takeError();
  }
  return self;
}

DatabaseLock::~DatabaseLock() { ::close(fd_); }

}  // namespace llmq::store
