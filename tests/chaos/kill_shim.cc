// kill_shim: an LD_PRELOAD library for the chaos test (tests/chaos/crash_test.cc).
// It lets the test SIGKILL llmqd in the middle of a SQLite commit, which a kill
// sent from outside can only hit by luck: once armed, llmqd kills itself at one
// of its next writes to the WAL file, either before the write (earlier frames of
// the transaction may be there, its commit frame is not) or just after it (when
// that was the commit frame, the transaction is durable but its acknowledgements
// were never sent: the clients' resubmissions must be deduplicated).
//
// Arming: the file named by $LLMQ_CHAOS_TRIGGER appears, holding "n when": n >= 1
// and when 0 (before) or 1 (after). The shim removes it (so the test knows it was
// seen) and dies at the n-th write to a file whose name ends in "-wal" from then
// on. Without the variable the shim does nothing but forward the call. Only
// pwrite64 is wrapped: it is the one write call SQLite's unix VFS makes
// (nm -D libsqlite3.so).
#include <dlfcn.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

using Pwrite64Fn = ssize_t (*)(int, const void*, size_t, off64_t);

char trigger_path[4096];
int countdown = 0;   // > 0: armed; writes to the WAL left before dying.
bool after = false;  // Die after that write instead of before it.

__attribute__((constructor)) void chaosShimInit() {
  const char* path = std::getenv("LLMQ_CHAOS_TRIGGER");
  if (path != nullptr && std::strlen(path) < sizeof trigger_path) {
    std::strcpy(trigger_path, path);
  }
}

// True if `fd` is open on a file whose name ends in "-wal".
bool isWal(int fd) {
  char link[64];
  char target[4096];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = ::readlink(link, target, sizeof target - 1);
  if (n < 4) {
    return false;
  }
  target[n] = '\0';
  return std::strcmp(target + n - 4, "-wal") == 0;
}

// Reads and removes the trigger file if it is there; its number, else 0.
int takeTrigger() {
  if (::access(trigger_path, F_OK) != 0) {
    return 0;
  }
  std::FILE* f = std::fopen(trigger_path, "r");
  if (f == nullptr) {
    return 0;
  }
  int n = 0;
  int when = 0;
  if (std::fscanf(f, "%d %d", &n, &when) < 1 || n < 1) {
    n = 1;
  }
  after = when == 1;
  std::fclose(f);
  ::unlink(trigger_path);
  return n;
}

}  // namespace

extern "C" ssize_t pwrite64(int fd, const void* buf, size_t count, off64_t offset) {
  static Pwrite64Fn real = nullptr;
  if (real == nullptr) {
    real = reinterpret_cast<Pwrite64Fn>(::dlsym(RTLD_NEXT, "pwrite64"));
  }
  if (trigger_path[0] != '\0') {
    if (countdown == 0) {
      countdown = takeTrigger();
    }
    if (countdown > 0 && isWal(fd) && --countdown == 0) {
      const ssize_t written = after ? real(fd, buf, count, offset) : 0;
      (void)written;
      ::kill(::getpid(), SIGKILL);
      for (;;) {
        ::pause();  // SIGKILL is on its way; nothing more happens.
      }
    }
  }
  return real(fd, buf, count, offset);
}
