// BenchDaemon: one llmqd in its own temp dir for one benchmark run, started
// through tests/support's DaemonProcess (real READY=1 readiness). Destroying it
// kills and reaps the daemon if stop() did not, then removes the directory, so
// a failed run leaves no process or file behind.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "ipc/client.h"
#include "tests/support/daemon_process.h"
#include "tests/support/temp_dir.h"

namespace llmq::bench {

struct MemoryUsage {
  int64_t rss_kib = 0;  // VmRSS
  int64_t hwm_kib = 0;  // VmHWM, the peak resident set
};

// VmRSS and VmHWM from /proc/<pid>/status (zeros if unreadable).
MemoryUsage readMemory(pid_t pid);

// CPU time (utime + stime) of `pid` in seconds, from /proc/<pid>/stat (-1 if unreadable).
double readCpuSeconds(pid_t pid);

class BenchDaemon {
 public:
  // Starts llmqd with `config_toml` (empty: no config) and `env` ("NAME=value")
  // and waits for READY=1. The binary is LLMQD_PATH unless the LLMQ_BENCH_DAEMON
  // variable names another.
  static Result<std::unique_ptr<BenchDaemon>> start(const std::string& config_toml,
                                                    const std::vector<std::string>& env = {});
  BenchDaemon(const BenchDaemon&) = delete;
  BenchDaemon& operator=(const BenchDaemon&) = delete;

  Result<std::unique_ptr<ipc::Client>> connect();
  // queue.pause for the whole queue: submitted jobs stay queued.
  Result<void> pauseQueue();

  // The number of jobs in `state`, from daemon.status's "queue" counts.
  Result<int64_t> jobsInState(const char* state);

  pid_t pid() const { return proc_.pid(); }
  MemoryUsage memory() const { return readMemory(proc_.pid()); }
  double cpuSeconds() const { return readCpuSeconds(proc_.pid()); }
  // The daemon's log file (stderr), for failure reports.
  const std::string& logPath() const { return proc_.logPath(); }
  std::string log() const { return proc_.log(); }

  // SIGTERM and wait for a clean exit (status 0).
  Result<void> stop();

 private:
  BenchDaemon(const std::string& config_toml, const std::vector<std::string>& env);

  // Declared first: the directory outlives the process that uses it.
  testing::TempDir dir_;
  testing::DaemonProcess proc_;
};

}  // namespace llmq::bench
