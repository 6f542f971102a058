// Engine: the one wiring of llmqd's parts (engine.h), in dependency order.
#include "daemon/engine.h"

#include <cstdlib>
#include <ctime>
#include <string>

#include "common/log.h"
#include "daemon/api/rpc_dispatcher.h"
#include "daemon/config.h"
#include "daemon/db_backup.h"
#include "daemon/jobs/job_lifecycle.h"
#include "daemon/jobs/job_runner.h"
#include "daemon/jobs/scheduler.h"
#include "daemon/policy/access.h"
#include "daemon/policy/accounting.h"
#include "daemon/policy/budget_book.h"
#include "daemon/policy/circuit_breaker.h"
#include "daemon/policy/key_credit.h"
#include "daemon/policy/key_pool.h"
#include "daemon/policy/model_catalog.h"
#include "daemon/policy/provider_registry.h"
#include "daemon/policy/rate_limiter.h"
#include "daemon/policy/response_cache.h"
#include "daemon/policy/route_signals.h"
#include "daemon/policy/user_quota.h"
#include "daemon/turn/commit_cycle.h"
#include "daemon/turn/event_bus.h"
#include "daemon/turn/metrics.h"
#include "ipc/server.h"
#include "store/database.h"
#include "store/secret_store.h"
#include "store/settings_store.h"
#include "store/sqlite_store.h"

namespace llmq::daemon {

Engine::Engine(uv_loop_t* on, const Config& with, const Clock& by, store::Database& over)
    : loop(on), config(with), clock(by), db(over) {}

Engine::~Engine() = default;

Result<std::unique_ptr<Engine>> Engine::build(uv_loop_t* loop, const Config& config, const Clock& clock,
                                              store::Database& db) {
  std::unique_ptr<Engine> e(new Engine(loop, config, clock, db));
  e->run.started_at_ms = clock.nowMs();
  if (auto r = e->buildStores(); !r) {
    return r.takeError();
  }
  e->buildTurn();
  if (auto r = e->buildPolicies(); !r) {
    e->close();
    return r.takeError();
  }
  e->buildJobs();
  if (auto r = e->load(); !r) {
    e->close();
    return r.takeError();
  }
  return e;
}

// The stores over the database. The engine's parts see the queue, usage and
// budgets only as a store::Store: the backend is chosen here, and only here.
// The secret key lives beside the database file.
Result<void> Engine::buildStores() {
  store = std::make_unique<store::SqliteStore>(db);
  settings = std::make_unique<store::SettingsStore>(db);
  const std::string& path = config.db_path;
  std::string dir = path.substr(0, path.rfind('/') + 1);
  auto opened = store::SecretStore::open(db, (dir.empty() ? std::string("./") : dir) + "secret.key");
  if (!opened) {
    return opened.takeError();
  }
  secrets = std::move(*opened);
  return {};
}

// What every turn runs on: the commit cycle, the counters, who may do what, the
// socket server and its dispatcher, the event bus and the job lifecycle.
void Engine::buildTurn() {
  cycle = std::make_unique<CommitCycle>(*store, loop);
  cycle->setOnLost([this] {
    // The queue counters and quota figures may have counted the lost turn's changes.
    if (auto r = lifecycle->loadCounts(); !r) {
      LOG_ERROR("reloading queue counts: %s", r.error().message.c_str());
    }
    if (auto r = quota->load(*store); !r) {
      LOG_ERROR("reloading the users' quota figures: %s", r.error().message.c_str());
    }
  });
  metrics = std::make_unique<Metrics>();
  quota = std::make_unique<UserQuota>();
  access = std::make_unique<Access>(config);
  dispatcher = std::make_unique<RpcDispatcher>(*this);
  ipc::ServerOptions server_opts;
  server_opts.max_frame_bytes = config.max_frame_bytes;
  server_opts.max_pending_output_bytes = config.max_pending_output_bytes;
  server_opts.max_pending_output_hard_bytes = config.max_pending_output_hard_bytes;
  server_opts.stall_timeout_ms = static_cast<uint64_t>(config.stall_timeout_ms);
  server_opts.max_connections = config.max_connections;
  server_opts.max_connections_per_uid = config.max_connections_per_uid;
  server_opts.line_timeout_ms = static_cast<uint64_t>(config.line_timeout_ms);
  server_opts.max_partial_bytes_total = config.max_partial_bytes_total;
  // Administrators (daemon/policy/access.h) may open more than one user's share.
  server_opts.uncapped = [this](const ipc::PeerCred& peer) { return access->isAdmin(peer); };
  server = std::make_unique<ipc::Server>(loop, dispatcher.get(), server_opts);
  bus = std::make_unique<EventBus>(
      *server, *cycle, EventBusLimits{config.max_subscriptions_per_connection, config.max_subscriptions});
  lifecycle =
      std::make_unique<JobLifecycle>(JobLifecycle::Parts{config, clock, *store, *secrets, *bus, *metrics, *quota});
}

// The policies: providers and keys, the model catalog and key credit, rate
// limits, budgets, backups, the response cache and accounting.
Result<void> Engine::buildPolicies() {
  providers = std::make_unique<ProviderRegistry>(loop, config);
  for (const ProviderConfig& p : config.providers) {
    if (p.openrouter) {
      keys = std::make_unique<KeyPool>(config.openrouter_pool, p.api_key);
    }
  }
  if (!keys) {
    keys = std::make_unique<KeyPool>();
  }
  // The catalog early: the parts built next price jobs with it. Its first fetch
  // waits for the loop to run.
  catalog = std::make_unique<ModelCatalog>(ModelCatalog::Parts{loop, config, clock, db, *cycle, *providers, run});
  if (auto r = catalog->init(); !r) {
    return r;
  }
  key_credit =
      std::make_unique<KeyCreditPoller>(KeyCreditPoller::Parts{loop, config, clock, *keys, *providers, run});
  key_credit->init();
  limits = std::make_unique<RateLimiter>(config.limits);
  // Budget days, weeks and months begin in [budgets] time_zone (default UTC), not
  // in whatever zone the machine happens to run in. Nothing else here uses local time.
  ::setenv("TZ", config.budget_time_zone.c_str(), 1);
  ::tzset();
  budgets = std::make_unique<BudgetBook>(*store, [this](std::string_view name) {
    for (size_t i = 0; i < keys->size(); ++i) {
      if (keys->key(static_cast<int>(i)).name == name) {
        return keys->key(static_cast<int>(i)).fingerprint;
      }
    }
    return std::string(name);  // Already a fingerprint (or a key this daemon does not have).
  });
  backup = std::make_unique<DbBackup>(loop, db, clock);
  cache = std::make_unique<ResponseCache>(config, db);
  accounting =
      std::make_unique<Accounting>(Accounting::Parts{loop, config, clock, *cycle, *store, *budgets, *catalog});
  accounting->on_released = [this](int64_t released) {
    lifecycle->noteMoved(store::JobState::kHeld, store::JobState::kQueued, released);
    scheduler->kick();
  };
  return {};
}

// The job engine: breakers, the runner and the scheduler that feeds it.
void Engine::buildJobs() {
  circuits = std::make_unique<CircuitBreakers>(config.circuit);
  signals = std::make_unique<RouteSignals>(clock);
  runner = std::make_unique<JobRunner>(JobRunner::Parts{loop, config, clock, run, *cycle, *store, *secrets, *bus,
                                                        *lifecycle, *providers, *keys, *limits, *budgets,
                                                        *accounting, *cache, *circuits, *metrics, *signals});
  scheduler = std::make_unique<Scheduler>(Scheduler::Parts{loop, config, clock, *cycle, *store, *settings,
                                                           *lifecycle, *metrics, *server, *runner, *accounting});
  runner->setQueue(*scheduler);
}

// What the parts read from the store before the first turn.
Result<void> Engine::load() {
  if (auto r = lifecycle->loadCounts(); !r) {
    return r;
  }
  if (auto r = quota->load(*store); !r) {
    return makeError(r.error().kind, "reading each user's jobs for [quota]: " + r.error().message);
  }
  if (auto r = scheduler->init(); !r) {
    return r;
  }
  return accounting->init();
}

void Engine::endTurn() {
  // Dispatch first, so a job submitted in this turn is claimed in the same
  // transaction that stores it: one commit, then its ack and its request leave.
  // Bounded: a callback may open the next transaction (e.g. a dispatch after a
  // commit); two more rounds settle everything one turn can cause.
  for (int round = 0; round < 3; ++round) {
    scheduler->pump();
    cycle->commit();  // A lost turn reloads the counters (buildTurn's setOnLost).
    // Requests launched by the commit leave now, before this turn's output is
    // flushed and wakes the clients up.
    providers->kick();
    if (!cycle->open()) {
      break;
    }
  }
  runner->collectGarbage();
  server->flush();
}

void Engine::stop() {
  if (stopped_) {
    return;
  }
  stopped_ = true;
  run.shutting_down = true;
  if (runner) {
    runner->requeueAll();
  }
  if (cycle) {
    cycle->close();  // Commits; one last try for outcomes a full disk kept waiting.
  }
  if (catalog) {
    catalog->close();  // A refresh still waited for is answered before the flush.
  }
  if (key_credit) {
    key_credit->close();  // Its GET runs on the providers' curl loop.
  }
  if (backup) {
    backup->close();  // A backup under way is abandoned (its file removed) and answered.
  }
  if (server) {
    server->stopListening();
    server->flush();
    server->closeAll();
  }
}

void Engine::close() {
  stop();
  if (closed_) {
    return;
  }
  closed_ = true;
  if (runner) {
    runner->collectGarbage();
    runner->close();
  }
  if (scheduler) {
    scheduler->close();
  }
  if (accounting) {
    accounting->close();  // The budget rollover timer.
  }
  if (providers) {
    providers->close();  // curl_multi_cleanup, then the timers; the runner is idle.
  }
}

}  // namespace llmq::daemon
