// BenchDaemon: DaemonProcess's gtest AssertionResults become Result errors here,
// so the benchmarks run without a gtest test context.
#include "bench/support/bench_daemon.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/json.h"

namespace llmq::bench {

MemoryUsage readMemory(pid_t pid) {
  MemoryUsage m;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      in >> m.rss_kib;
    } else if (key == "VmHWM:") {
      in >> m.hwm_kib;
    }
    in.ignore(1 << 16, '\n');
  }
  return m;
}

double readCpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(in, stat);  // One line.
  // The command name (field 2) is in parentheses and may hold spaces: count
  // fields after the last ')'. utime and stime are fields 14 and 15.
  size_t close = stat.rfind(')');
  if (close == std::string::npos) {
    return -1;
  }
  std::istringstream fields(stat.substr(close + 1));
  std::string f;
  long long utime = -1;
  long long stime = -1;
  for (int field = 3; field <= 15 && fields >> f; ++field) {
    if (field == 14) {
      utime = std::atoll(f.c_str());
    } else if (field == 15) {
      stime = std::atoll(f.c_str());
    }
  }
  if (utime < 0 || stime < 0) {
    return -1;
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

namespace {

// LLMQ_BENCH_DAEMON overrides the llmqd binary, e.g. with a wrapper script that
// runs it under `valgrind --tool=callgrind` (see bench/README.md).
testing::DaemonOptions daemonOptions(const std::string& config_toml, const std::vector<std::string>& env) {
  testing::DaemonOptions o{.config_toml = config_toml, .extra_env = env};
  if (const char* path = std::getenv("LLMQ_BENCH_DAEMON"); path != nullptr && *path != '\0') {
    o.daemon_path = path;
  }
  return o;
}

}  // namespace

BenchDaemon::BenchDaemon(const std::string& config_toml, const std::vector<std::string>& env)
    : proc_(dir_.path(), daemonOptions(config_toml, env)) {}

Result<std::unique_ptr<BenchDaemon>> BenchDaemon::start(const std::string& config_toml,
                                                        const std::vector<std::string>& env) {
  std::unique_ptr<BenchDaemon> d(new BenchDaemon(config_toml, env));
  if (auto r = d->proc_.start(); !r) {
    return makeError(ErrorKind::kIo, std::string("starting llmqd: ") + r.message());
  }
  return d;
}

Result<std::unique_ptr<ipc::Client>> BenchDaemon::connect() { return ipc::Client::connect(proc_.socketPath()); }

Result<void> BenchDaemon::pauseQueue() {
  auto c = connect();
  if (!c) {
    return c.takeError();
  }
  auto r = (*c)->call("queue.pause", "{}", 10000);
  if (!r) {
    return r.takeError();
  }
  if (!r->ok()) {
    return makeError(ErrorKind::kInternal, "queue.pause failed: " + r->error.message);
  }
  return {};
}

Result<int64_t> BenchDaemon::jobsInState(const char* state) {
  auto c = connect();
  if (!c) {
    return c.takeError();
  }
  auto r = (*c)->call("daemon.status", "{}", 10000);
  if (!r) {
    return r.takeError();
  }
  const json::Value* queue = r->ok() ? json::member(*r->result, "queue") : nullptr;
  const json::Value* n = queue != nullptr ? json::member(*queue, state) : nullptr;
  if (n == nullptr || !n->IsInt64()) {
    return makeError(ErrorKind::kInternal, std::string("daemon.status has no queue count for ") + state);
  }
  return n->GetInt64();
}

Result<void> BenchDaemon::stop() {
  if (auto r = proc_.stop(); !r) {
    return makeError(ErrorKind::kIo, std::string("stopping llmqd: ") + r.message());
  }
  return {};
}

}  // namespace llmq::bench
