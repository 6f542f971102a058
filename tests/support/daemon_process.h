// DaemonProcess: runs the real llmqd binary for an integration test or a
// benchmark, in a TempDir, and waits for real readiness: it binds its own
// NOTIFY_SOCKET and waits (bounded) for READY=1. Like systemd, it
// keeps reading that socket and records every message. The destructor kills and
// reaps the process, so no test leaves a daemon behind.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ipc/client.h"

namespace llmq::testing {

struct DaemonOptions {
  std::string config_toml;  // Written to <dir>/llmqd.toml.
  // Let llmqd fetch OpenRouter's model list (at startup, then hourly) and check
  // its keys' credit (GET /key) by itself, as it does by default. Off unless asked
  // for: those GETs would appear among the fake upstream's records, or reach the
  // internet when OPENROUTER_BASE_URL is not set. A config_toml with a [catalog]
  // or [openrouter] section of its own decides instead.
  bool catalog_fetch = false;
  std::vector<std::string> extra_args;
  std::vector<std::string> extra_env;  // "NAME=value"
  // Start llmqd the way a .socket unit does: systemd-socket-activate listens on
  // socketPath() and, on the first connection (start() makes one), execs llmqd
  // without --socket, passing the listening socket as fd 3 (LISTEN_FDS=1).
  // extra_env reaches llmqd through its --setenv.
  bool socket_activation = false;
  std::string daemon_path = LLMQD_PATH;
};

class DaemonProcess {
 public:
  DaemonProcess(std::string dir, DaemonOptions options = {});
  ~DaemonProcess();
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  // Starts llmqd and waits for READY=1.
  [[nodiscard]] ::testing::AssertionResult start(int timeout_ms = 15000);
  // SIGTERM, then waits for the exit; succeeds if it exited with status 0.
  [[nodiscard]] ::testing::AssertionResult stop(int timeout_ms = 30000);
  // SIGKILL and reap: the crash case.
  void kill9();
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  const std::string& socketPath() const { return socket_; }
  const std::string& dbPath() const { return db_; }
  const std::string& logPath() const { return log_; }
  std::string log() const;
  // Waits (bounded) until log() holds `text` at or after byte `from`; the failure
  // shows the log from there.
  [[nodiscard]] ::testing::AssertionResult waitForLog(const std::string& text, size_t from = 0,
                                                      int timeout_ms = 30000) const;
  // The port of a listener llmqd opened on port 0, from the newest log line with
  // `marker` ("API on http://127.0.0.1:"); 0 when there is none.
  int loggedPort(const std::string& marker) const;
  // loggedPort() of the HTTP front ([api] listen) and of the metrics listener.
  int apiPort() const { return loggedPort("API on http://127.0.0.1:"); }
  int metricsPort() const { return loggedPort("metrics on http://127.0.0.1:"); }

  // A new client connection; fails the test if it cannot connect.
  std::unique_ptr<ipc::Client> connect();

  // Every sd_notify message llmqd sent ("READY=1", "STATUS=...", one datagram
  // each), in order, across restarts. A thread reads them as they come, as
  // systemd does: a listener that stopped reading would block llmqd's sd_notify
  // calls once net.unix.max_dgram_qlen (10) datagrams were waiting.
  std::vector<std::string> notifications() const;
  size_t notificationCount() const;
  // Waits for a message containing `text` among notifications()[from...]; stores
  // it in *message. Fails, listing what did arrive, after timeout_ms.
  [[nodiscard]] ::testing::AssertionResult waitForNotification(const std::string& text, size_t from = 0,
                                                               int timeout_ms = 10000,
                                                               std::string* message = nullptr) const;

 private:
  void readNotifications();
  std::string dir_;
  DaemonOptions options_;
  std::string socket_;
  std::string db_;
  std::string log_;
  std::string notify_;
  int notify_fd_ = -1;
  pid_t pid_ = -1;
  mutable std::mutex notify_mu_;
  mutable std::condition_variable notify_cv_;
  std::vector<std::string> notifications_;  // Guarded by notify_mu_.
  bool notify_stop_ = false;                // Guarded by notify_mu_.
  std::thread notify_thread_;               // Runs readNotifications() once start() bound notify_fd_.
};

// llmqd's environment (DaemonOptions::extra_env) for an upstream at `base_url` as
// OpenRouter (the fake, or a hostile server of the test's own):
// OPENROUTER_API_KEY and OPENROUTER_BASE_URL.
std::vector<std::string> openRouterEnv(const std::string& key, const std::string& base_url);

// Where Debian's systemd package puts systemd-socket-activate(1).
inline constexpr char kSocketActivatePath[] = "/usr/bin/systemd-socket-activate";

// Waits (polling, bounded) for child `pid` to exit; its wait status, or -1 on timeout.
int waitForExit(pid_t pid, int timeout_ms);

// Runs a command to completion, returning its exit status and what it printed on
// stdout (and stderr, when `merge_stderr`). Bounded by timeout_ms (then killed).
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult runCommand(const std::vector<std::string>& argv, const std::string& stdin_text = "",
                         const std::vector<std::string>& extra_env = {}, int timeout_ms = 30000,
                         bool merge_stderr = true);

}  // namespace llmq::testing
