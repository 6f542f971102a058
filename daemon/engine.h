// daemon::Engine: every part of llmqd that is not the process around it: the
// stores, the commit cycle, the socket server and its dispatcher, the event
// bus, the policies and the job engine, built and wired by one function,
// Engine::build(). The Daemon runs one on its loop and database; the fuzz
// harness and the engine's tests build one on an in-memory database with the
// mock provider, so they run exactly the wiring llmqd runs.
//
// Each part is given the parts it uses in its constructor (its Parts), in the
// order build() makes them; none reaches for the others through the engine.
// The engine is what the API wing (daemon/api/: the dispatcher, the handlers,
// the HTTP front) works through, as the top of the house.
//
// Loop thread only. Stop and close it before destroying it; the loop must then
// run once more to deliver the handles' close callbacks.
#pragma once

#include <uv.h>

#include <memory>

#include "common/result.h"
#include "daemon/turn/run_state.h"

namespace llmq {
class Clock;
namespace ipc {
class Server;
}  // namespace ipc
namespace store {
class Database;
class Store;
class SettingsStore;
class SecretStore;
}  // namespace store
}  // namespace llmq

namespace llmq::daemon {

struct Config;
class Access;
class Accounting;
class BudgetBook;
class CircuitBreakers;
class CommitCycle;
class DbBackup;
class EventBus;
class JobLifecycle;
class JobRunner;
class KeyCreditPoller;
class KeyPool;
class Metrics;
class ModelCatalog;
class ProviderRegistry;
class RateLimiter;
class ResponseCache;
class RouteSignals;
class RpcDispatcher;
class Scheduler;
class UserQuota;

struct Engine {
  // Builds every part over `db` (open and migrated; jobs interrupted by the
  // last stop already recovered), reads the queue counts, quota figures,
  // pause state and budgets from it, and arms the parts' timers. `config`,
  // `clock` and `db` must outlive the engine.
  static Result<std::unique_ptr<Engine>> build(uv_loop_t* loop, const Config& config, const Clock& clock,
                                               store::Database& db);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // The end of a loop turn: dispatches what may start, commits the turn's
  // writes (then the callbacks that waited for them run), lets the requests
  // the commit launched leave, and flushes the socket server's output. The
  // Daemon runs it from its prepare and check handles.
  void endTurn();

  // Shutdown, first half: puts what still runs back in the queue, commits
  // (with one last try for outcomes a full disk kept waiting), answers what
  // waits on the catalog and a backup, and flushes and closes the socket
  // server's connections. The HTTP front, which speaks through in-process
  // connections, closes after this and before close().
  void stop();
  // Shutdown, second half (after stop(), which it calls if nobody did): closes
  // the runner's, scheduler's, accounting's and providers' handles. Idempotent.
  void close();

  uv_loop_t* const loop;
  const Config& config;
  const Clock& clock;
  store::Database& db;
  RunState run;

  // In the order build() makes them, so they are destroyed in reverse.
  // The queue, usage and budgets: the one store seam (store/store.h), on `db`.
  std::unique_ptr<store::Store> store;
  std::unique_ptr<store::SettingsStore> settings;
  std::unique_ptr<store::SecretStore> secrets;
  std::unique_ptr<CommitCycle> cycle;
  std::unique_ptr<Metrics> metrics;
  std::unique_ptr<UserQuota> quota;
  std::unique_ptr<Access> access;  // Replaced whole on SIGHUP.
  std::unique_ptr<RpcDispatcher> dispatcher;
  std::unique_ptr<ipc::Server> server;
  std::unique_ptr<EventBus> bus;
  std::unique_ptr<JobLifecycle> lifecycle;
  std::unique_ptr<ProviderRegistry> providers;
  std::unique_ptr<KeyPool> keys;
  std::unique_ptr<ModelCatalog> catalog;        // Uses the providers' curl loop.
  std::unique_ptr<KeyCreditPoller> key_credit;  // The same.
  std::unique_ptr<RateLimiter> limits;
  std::unique_ptr<BudgetBook> budgets;
  std::unique_ptr<DbBackup> backup;
  std::unique_ptr<ResponseCache> cache;
  std::unique_ptr<Accounting> accounting;
  std::unique_ptr<CircuitBreakers> circuits;
  std::unique_ptr<RouteSignals> signals;  // Recent traffic, for the balancing routes.
  std::unique_ptr<JobRunner> runner;
  std::unique_ptr<Scheduler> scheduler;

 private:
  Engine(uv_loop_t* on, const Config& with, const Clock& by, store::Database& over);
  // The steps of build(), in order; each uses only what the ones before made.
  Result<void> buildStores();
  void buildTurn();
  Result<void> buildPolicies();
  void buildJobs();
  Result<void> load();

  bool stopped_ = false;
  bool closed_ = false;
};

}  // namespace llmq::daemon
