// daemon::Daemon wires llmqd together: it owns the loop, the store, the IPC
// server, the event bus, the scheduler, the runner and the providers, and runs
// the end-of-turn step that commits the turn's writes and flushes output.
//
// Shutdown order, started by SIGINT/SIGTERM:
//   1. Stop accepting connections and unlink the self-bound socket; STOPPING=1.
//   2. Stop dispatching; refuse new submits (-32005).
//   3. Let running attempts finish for up to shutdown_grace_s.
//   4. Abort what still runs and put those jobs back to `queued`; commit, with
//      one last try for job outcomes a full disk kept waiting (commit_cycle.h).
//   5. Cancel the model catalog's fetch and close its timer; flush output, close
//      connections, timers, providers and signal handles.
//   6. uv_run until no handle is left; uv_loop_close() must return 0.
//   7. Close SQLite (the Database destructor).
// A second SIGINT/SIGTERM skips the grace period.
//
// Loop thread only.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "common/time.h"
#include "common/uv_handle.h"
#include "common/uv_timer.h"
#include "daemon/config.h"

namespace llmq::store {
class Database;
class DatabaseLock;
}  // namespace llmq::store

namespace llmq::daemon {

struct Engine;
class Retention;
class MetricsServer;
class HttpFront;
class Signals;

class Daemon {
 public:
  // `cli` is what SIGHUP reads the configuration with again.
  explicit Daemon(Config config, CommandLine cli = {});
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Opens and migrates the store, recovers interrupted jobs, and starts listening.
  Result<void> start();
  // Runs the loop until shutdown has completed. Returns the process exit code.
  int run();
  void requestShutdown(bool immediate);

 private:
  // The steps of start(), in the order they run (each uses only what the ones
  // before it built): daemon/daemon.cc says what each builds.
  Result<void> openDatabase();
  Result<void> buildEngine();
  Result<void> startLoopHandles();
  Result<void> startListeners();
  Result<void> listenOnSocket();

  void endOfTurn();
  void finishShutdown();
  static void onUvPrepare(uv_prepare_t* h) noexcept;
  static void onUvCheck(uv_check_t* h) noexcept;
  // The shutdown grace period is over: running jobs go back to the queue.
  void graceOver();
  // Sends STATUS= with the queue figures when they changed since the last one.
  void reportStatus();
  // [store] max_page_count onto the connection (at start and on SIGHUP).
  Result<void> applyMaxPageCount();

  // How often STATUS= is refreshed while systemd (NOTIFY_SOCKET) listens.
  static constexpr uint64_t kStatusIntervalMs = 2000;

  Config config_;
  uv_loop_t loop_{};
  SystemClock clock_;
  std::unique_ptr<store::DatabaseLock> db_lock_;  // Before db_: released after it closes.
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<Engine> engine_;  // Before db_ is closed, after the listeners.
  // SIGHUP: reads the configuration again and applies what can change while
  // running; a bad file changes nothing.
  void reload();
  // After a reload changed config_ from `before`: tells the parts that keep their
  // own copy of a setting (log level, providers, limits, breakers, retention, the
  // page cap, access, the budgets' time zone).
  void applyReloaded(const Config& before);
  CommandLine cli_;
  std::unique_ptr<Retention> retention_;
  std::unique_ptr<MetricsServer> metrics_server_;
  std::unique_ptr<HttpFront> http_front_;  // [api]: the OpenAI-compatible HTTP API.
  std::unique_ptr<Signals> signals_;
  UvHandlePtr<uv_prepare_t> prepare_;
  UvHandlePtr<uv_check_t> check_;
  UvTimer grace_timer_;
  UvTimer watchdog_;
  UvTimer status_timer_;  // Every kStatusIntervalMs while NOTIFY_SOCKET is set.
  std::string last_status_;
  bool shutdown_requested_ = false;
  bool shutdown_finished_ = false;
  bool loop_ok_ = false;
};

}  // namespace llmq::daemon
