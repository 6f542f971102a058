// daemon::Scheduler decides what runs next: highest priority first; within a
// priority, round-robin across
// users (a job's owner: the user part of its client label, daemon/policy/access.h), then
// across each user's clients, so one user with twenty client names gets one turn
// for every turn of another user; FIFO within a client; never more than max_inflight attempts at once;
// paused queues (all, or one client) dispatch nothing. It also brings retry_wait
// jobs back when their time comes, with one timer.
//
// Picking is three index seeks in the store (store::Store, "Picking the next
// job"; in SQLite the jobs_runnable index), so it stays cheap with a million
// queued jobs: the queue lives in the store, not in memory.
//
// A job a rate limit or cooldown holds (JobRunner::start says kWait) stays queued
// where it is; the pump passes over it to the client's next job (up to
// kLookahead deep per client and priority), then to other clients and lower
// priorities, so one throttled model does not hold the rest of the queue. It
// passes over at most kMaxHeldPerPump jobs per pump, then sleeps on one timer
// until the earliest moment a held job can go (or until a running one ends).
//
// Loop thread only. kick() marks that something changed; pump() runs at the end
// of the loop turn.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "common/result.h"
#include "common/time.h"
#include "common/uv_handle.h"
#include "daemon/jobs/job_runner.h"
#include "store/job_record.h"

namespace llmq {
class Clock;
namespace ipc {
class Server;
}  // namespace ipc
namespace store {
class SettingsStore;
class Store;
}  // namespace store
}  // namespace llmq

namespace llmq::daemon {

struct Config;
class CommitCycle;
class JobLifecycle;
class Metrics;

class Scheduler final : public RunQueue {
 public:
  // What it picks from, hands jobs to and watches.
  struct Parts {
    uv_loop_t* loop;
    const Config& config;
    const Clock& clock;
    CommitCycle& cycle;
    store::Store& store;
    store::SettingsStore& settings;  // The pause state.
    JobLifecycle& lifecycle;
    Metrics& metrics;
    const ipc::Server& server;  // Its unread output holds dispatch back.
    JobRunner& runner;
  };
  explicit Scheduler(Parts parts);

  // Loads the persisted pause state and arms the retry timer.
  Result<void> init();
  void close();

  void kick() override { dirty_ = true; }
  // Dispatches runnable jobs while capacity allows. Call at the end of a loop turn.
  void pump();
  // Stops dispatching for good (shutdown).
  void stop() { stopped_ = true; }

  // A job entered retry_wait until `at_ms`.
  void noteRetryAt(int64_t at_ms) override;
  // A waiting job must expire at `at_ms` (deadline_s), wherever it waits.
  void noteDeadline(int64_t at_ms);
  // When the wall clock stepped since the last look (common/time.h,
  // WallStepWatch), moves the stored retry times by the step, so each wait keeps
  // its length (cooldowns, breakers and rate-limit waits are on the monotonic
  // clock and need no moving). Cheap when it did not (three clock reads).
  void followClockSteps() override;

  // Pausing persists across restarts. `client` empty means the whole queue.
  Result<void> pause(const std::string& client);
  Result<void> resume(const std::string& client);
  bool pausedAll() const { return paused_all_; }
  const std::set<std::string>& pausedClients() const { return paused_clients_; }
  // {"paused": bool, "paused_clients": [...]}: the paused clients `visible` lets
  // through (all when it is empty).
  std::string stateJson(const std::function<bool(const std::string&)>& visible = {}) const;

 private:
  // Per client and priority, how deep the lookahead past held jobs may go.
  static constexpr int kLookahead = 8;
  static constexpr int kMaxHeldPerPump = 64;

  // The jobs one pump passed over because a limit held them.
  struct Held {
    std::map<std::pair<int, std::string>, std::pair<int64_t, int>> by_client;  // -> (last id, count)
    int total = 0;
    int64_t wake_at = INT64_MAX;
  };

  std::optional<store::JobRecord> pickNext(const Held& held);
  // The next job of `owner` at `priority`, round-robin across its clients;
  // nullopt when none can go (or the store failed: then *failed).
  std::optional<store::JobRecord> pickOfOwner(int priority, const std::string& owner, const Held& held,
                                              bool* failed);
  void noteWakeAt(int64_t at_ms);  // On the monotonic clock (RateLimiter).
  static void onUvWakeTimer(uv_timer_t* t) noexcept;
  bool expireQueued(store::JobRecord job);
  // The store refused a write: try again in a second rather than spin.
  void backOff();
  Result<void> changePause(const std::function<void()>& change);
  Result<void> persistPause();  // In the turn's transaction (changePause opened it).
  void armRetryTimer(int64_t at_ms);
  static void onUvRetryTimer(uv_timer_t* t) noexcept;
  // Moves the retry_wait jobs that are due back to the queue, and re-arms.
  void promoteDueRetries();
  void armDeadlineTimer(int64_t at_ms);
  static void onUvDeadlineTimer(uv_timer_t* t) noexcept;
  // Expires a batch of the waiting jobs whose deadline has come, and re-arms.
  void expireDueJobs();

  Parts p_;
  std::optional<WallStepWatch> steps_;  // From init(): the clock is set by then.
  bool dirty_ = true;
  bool stopped_ = false;
  bool paused_all_ = false;
  std::set<std::string> paused_clients_;
  struct PauseState {
    bool all = false;
    std::set<std::string> clients;
  };
  std::optional<PauseState> pause_before_turn_;  // Set by the turn's first pause change.
  // Round-robin positions: the owner last served per priority, and the client
  // last served per priority and owner (cleared past kMaxRoundRobinPositions).
  static constexpr size_t kMaxRoundRobinPositions = 65536;
  std::map<int, std::string> last_owner_;
  std::map<std::pair<int, std::string>, std::string> last_client_;
  UvHandlePtr<uv_timer_t> retry_timer_;
  int64_t retry_armed_at_ = INT64_MAX;
  UvHandlePtr<uv_timer_t> deadline_timer_;
  int64_t deadline_armed_at_ = INT64_MAX;
  UvHandlePtr<uv_timer_t> wake_timer_;  // A rate-limited job can go.
  int64_t wake_armed_at_ = INT64_MAX;   // Monotonic.
};

}  // namespace llmq::daemon
