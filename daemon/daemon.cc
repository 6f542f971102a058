// Daemon: startup, the end-of-turn step, and the shutdown sequence in daemon.h.
#include "daemon/daemon.h"

#include <systemd/sd-daemon.h>
#include <unistd.h>
#include <cstring>
#include <cerrno>
#include <grp.h>

#include <cstdlib>

#include "common/log.h"
#include "daemon/config_keys.h"
#include "daemon/turn/commit_cycle.h"
#include "daemon/turn/event_bus.h"
#include "daemon/jobs/job_lifecycle.h"
#include "daemon/jobs/job_runner.h"
#include "daemon/policy/key_credit.h"
#include "daemon/policy/model_catalog.h"
#include "daemon/api/rpc_dispatcher.h"
#include "daemon/jobs/scheduler.h"
#include "daemon/sd_notify.h"
#include "daemon/signals.h"
#include "ipc/protocol.h"
#include "ipc/server.h"
#include "llmq/version.h"
#include "store/database.h"
#include "store/db_lock.h"
#include "store/job_store.h"
#include "store/maintenance.h"
#include "store/schema.h"
#include "store/secret_store.h"
#include "store/settings_store.h"
#include "store/transaction.h"
#include "daemon/policy/key_pool.h"
#include "daemon/policy/rate_limiter.h"
#include "daemon/policy/accounting.h"
#include "daemon/policy/response_cache.h"
#include "daemon/db_backup.h"
#include "daemon/policy/access.h"
#include "daemon/turn/metrics.h"
#include "daemon/api/metrics_server.h"
#include "daemon/api/http_front.h"
#include "daemon/api/api_token.h"
#include "http/server.h"
#include "daemon/retention.h"
#include "daemon/policy/user_quota.h"
#include "daemon/policy/budget_book.h"
#include "store/budget_store.h"
#include "store/usage_store.h"
#include "daemon/policy/provider_registry.h"

namespace llmq::daemon {

Daemon::Daemon(Config config, CommandLine cli) : config_(std::move(config)), cli_(std::move(cli)) {
  loop_ok_ = uv_loop_init(&loop_) == 0;
  services_.config = &config_;
  services_.loop = &loop_;
  services_.clock = &clock_;
}

Daemon::~Daemon() {
  if (loop_ok_ && !shutdown_finished_) {
    // start() failed half way: close whatever handles exist and drain the loop.
    finishShutdown();
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
  }
}

Result<void> Daemon::start() {
  if (!loop_ok_) {
    return makeError(ErrorKind::kInternal, "initialising the event loop failed");
  }
  log::setLevel(config_.log_level);
  services_.started_at_ms = clock_.nowMs();

  // In dependency order: each step uses only what the steps before it built.
  for (Result<void> (Daemon::*step)() : {&Daemon::openDatabase, &Daemon::buildTurn, &Daemon::buildPolicies,
                                         &Daemon::buildEngine, &Daemon::startLoopHandles,
                                         &Daemon::startListeners, &Daemon::listenOnSocket}) {
    if (auto r = (this->*step)(); !r) {
      return r;
    }
  }
  return {};
}

// The database: locked for this llmqd alone, checked, migrated, its stores, and the
// jobs the last stop interrupted recovered.
Result<void> Daemon::openDatabase() {
  // One llmqd per database, decided before anything in it is read or requeued
  // (store/db_lock.h); a second one stops here, without READY=1.
  if (config_.db_path != ":memory:") {
    auto lock = store::DatabaseLock::acquire(config_.db_path);
    if (!lock) {
      return lock.takeError();
    }
    db_lock_ = std::move(*lock);
  }
  store::OpenOptions opts;
  opts.synchronous = config_.synchronous;
  sdnotify::status("opening database " + config_.db_path);
  auto db = store::Database::open(config_.db_path, opts);
  if (!db) {
    return db.takeError();
  }
  db_ = std::move(*db);
  sdnotify::status("checking database");
  if (auto r = store::quickCheck(*db_); !r) {
    return r;
  }
  sdnotify::status("migrating database");
  if (auto r = store::migrate(*db_); !r) {
    return r;
  }
  {
    // Incremental auto-vacuum lets Retention give freed pages back to the file
    // system; older databases need one VACUUM for it (store/maintenance.h).
    sdnotify::status("checking the database's vacuum mode");
    auto av = store::ensureIncrementalVacuum(*db_, config_.storage.auto_vacuum_convert_max_bytes);
    if (!av) {
      LOG_WARN("%s; the file keeps the size of its largest backlog (see docs/operations.md, "
               "\"Disk space\")", av.error().message.c_str());
    } else if (*av == store::AutoVacuum::kConverted) {
      LOG_NOTICE("database %s converted to incremental auto-vacuum", config_.db_path.c_str());
    } else if (*av == store::AutoVacuum::kTooLarge) {
      LOG_NOTICE("database %s is not in incremental auto-vacuum mode and is larger than "
                 "[store] auto_vacuum_convert_max_mb: it keeps its size, reusing freed pages; "
                 "see docs/operations.md, \"Disk space\", to convert it",
                 config_.db_path.c_str());
    }
  }
  if (auto r = applyMaxPageCount(); !r) {
    return r;
  }
  jobs_ = std::make_unique<store::JobStore>(*db_);
  {
    std::string dir = config_.db_path.substr(0, config_.db_path.rfind('/') + 1);
    auto secrets = store::SecretStore::open(*db_, (dir.empty() ? std::string("./") : dir) + "secret.key");
    if (!secrets) {
      return secrets.takeError();
    }
    secrets_ = std::move(*secrets);
  }
  settings_ = std::make_unique<store::SettingsStore>(*db_);
  {
    store::Transaction txn(*db_);
    if (auto r = txn.begin(); !r) {
      return r;
    }
    auto recovered = jobs_->recoverInterrupted(clock_.nowMs());
    if (!recovered) {
      return recovered.takeError();
    }
    if (auto r = txn.commit(); !r) {
      return r;
    }
    if (recovered->requeued + recovered->failed > 0) {
      LOG_NOTICE("recovered jobs interrupted by the last stop: %lld queued again, %lld failed "
                 "(on_restart = \"fail\")",
                 static_cast<long long>(recovered->requeued),
                 static_cast<long long>(recovered->failed));
    }
  }
  return {};
}

// What every turn runs on: the commit cycle, the socket server and its dispatcher, the
// event bus, the job lifecycle, the providers and the key pool.
Result<void> Daemon::buildTurn() {
  cycle_ = std::make_unique<CommitCycle>(*db_, &loop_);
  cycle_->setOnLost([this] {
    // The queue counters may have counted the lost transaction's changes.
    if (lifecycle_) {
      if (auto r = lifecycle_->loadCounts(); !r) {
        LOG_ERROR("reloading queue counts: %s", r.error().message.c_str());
      }
    }
    if (quota_) {
      if (auto r = quota_->load(*jobs_); !r) {
        LOG_ERROR("reloading the users' quota figures: %s", r.error().message.c_str());
      }
    }
  });
  dispatcher_ = std::make_unique<RpcDispatcher>(services_);
  ipc::ServerOptions server_opts;
  server_opts.max_frame_bytes = config_.max_frame_bytes;
  server_opts.max_pending_output_bytes = config_.max_pending_output_bytes;
  server_opts.max_pending_output_hard_bytes = config_.max_pending_output_hard_bytes;
  server_opts.stall_timeout_ms = static_cast<uint64_t>(config_.stall_timeout_ms);
  server_opts.max_connections = config_.max_connections;
  server_opts.max_connections_per_uid = config_.max_connections_per_uid;
  server_opts.line_timeout_ms = static_cast<uint64_t>(config_.line_timeout_ms);
  server_opts.max_partial_bytes_total = config_.max_partial_bytes_total;
  // Administrators (daemon/policy/access.h) may open more than one user's share.
  server_opts.uncapped = [this](const ipc::PeerCred& peer) {
    return services_.access != nullptr && services_.access->isAdmin(peer);
  };
  server_ = std::make_unique<ipc::Server>(&loop_, dispatcher_.get(), server_opts);
  bus_ = std::make_unique<EventBus>(
      *server_, *cycle_, EventBusLimits{config_.max_subscriptions_per_connection, config_.max_subscriptions});
  lifecycle_ = std::make_unique<JobLifecycle>(services_);
  providers_ = std::make_unique<ProviderRegistry>(&loop_, config_);
  for (const ProviderConfig& p : config_.providers) {
    if (p.openrouter) {
      keys_ = std::make_unique<KeyPool>(config_.openrouter_pool, p.api_key);
    }
  }
  if (!keys_) {
    keys_ = std::make_unique<KeyPool>();
  }
  services_.db = db_.get();
  services_.jobs = jobs_.get();
  services_.settings = settings_.get();
  services_.secrets = secrets_.get();
  services_.cycle = cycle_.get();
  services_.bus = bus_.get();
  services_.server = server_.get();
  services_.lifecycle = lifecycle_.get();
  services_.providers = providers_.get();
  services_.keys = keys_.get();
  return {};
}

// The policies: the model catalog, key credit, rate limits, budgets and the ledger,
// metrics, access, backups, the response cache, accounting.
Result<void> Daemon::buildPolicies() {
  // The catalog early: the parts built next price jobs with it. Its first fetch
  // waits for the loop to run, after READY=1.
  catalog_ = std::make_unique<ModelCatalog>(services_);
  services_.catalog = catalog_.get();
  if (auto r = catalog_->init(); !r) {
    return r;
  }
  key_credit_ = std::make_unique<KeyCreditPoller>(services_);
  key_credit_->init();
  limits_ = std::make_unique<RateLimiter>(config_.limits);
  services_.limits = limits_.get();
  // Budget days, weeks and months begin in [budgets] time_zone (default UTC), not
  // in whatever zone the machine happens to run in. Nothing else here uses local time.
  ::setenv("TZ", config_.budget_time_zone.c_str(), 1);
  ::tzset();
  usage_ = std::make_unique<store::UsageStore>(*db_);
  services_.usage = usage_.get();
  budget_store_ = std::make_unique<store::BudgetStore>(*db_);
  budgets_ = std::make_unique<BudgetBook>(*budget_store_, *usage_, [this](std::string_view name) {
    for (size_t i = 0; i < keys_->size(); ++i) {
      if (keys_->key(static_cast<int>(i)).name == name) {
        return keys_->key(static_cast<int>(i)).fingerprint;
      }
    }
    return std::string(name);  // Already a fingerprint (or a key this daemon does not have).
  });
  services_.budgets = budgets_.get();
  metrics_ = std::make_unique<Metrics>();
  services_.metrics = metrics_.get();
  access_ = std::make_unique<Access>(config_);
  services_.access = access_.get();
  backup_ = std::make_unique<DbBackup>(services_);
  services_.backup = backup_.get();
  cache_ = std::make_unique<ResponseCache>(services_);
  services_.cache = cache_.get();
  accounting_ = std::make_unique<Accounting>(services_);
  services_.accounting = accounting_.get();
  accounting_->on_released = [this](int64_t released) {
    lifecycle_->noteMoved(store::JobState::kHeld, store::JobState::kQueued, released);
    scheduler_->kick();
  };
  return {};
}

// The engine: breakers, the runner and the scheduler, with the queue counts and quota
// figures read from the store.
Result<void> Daemon::buildEngine() {
  circuits_ = std::make_unique<CircuitBreakers>(config_.circuit);
  services_.circuits = circuits_.get();
  runner_ = std::make_unique<JobRunner>(services_);
  services_.runner = runner_.get();
  scheduler_ = std::make_unique<Scheduler>(services_);
  services_.scheduler = scheduler_.get();
  if (auto r = lifecycle_->loadCounts(); !r) {
    return r;
  }
  quota_ = std::make_unique<UserQuota>();
  if (auto r = quota_->load(*jobs_); !r) {
    return makeError(r.error().kind, "reading each user's jobs for [quota]: " + r.error().message);
  }
  services_.quota = quota_.get();
  if (auto r = scheduler_->init(); !r) {
    return r;
  }
  if (auto r = accounting_->init(); !r) {
    return r;
  }
  return {};
}

// Signals, the per-turn prepare and check handles, the systemd watchdog and status timers.
Result<void> Daemon::startLoopHandles() {
  signals_ = std::make_unique<Signals>(
      &loop_, Signals::Callbacks{
                  [this](int signum) {
                    LOG_NOTICE("received signal %d, shutting down", signum);
                    requestShutdown(shutdown_requested_);
                  },
                  [this] { reload(); }});
  prepare_ = makeUvHandle<uv_prepare_t>(&loop_, this, uv_prepare_init);
  check_ = makeUvHandle<uv_check_t>(&loop_, this, uv_check_init);
  uv_prepare_start(prepare_.get(), &Daemon::onUvPrepare);
  uv_check_start(check_.get(), &Daemon::onUvCheck);
  if (uint64_t interval = sdnotify::watchdogIntervalMs(); interval > 0) {
    watchdog_ = makeUvHandle<uv_timer_t>(&loop_, this, uv_timer_init);
    uv_timer_start(watchdog_.get(), &Daemon::onUvWatchdog, interval, interval);
  }
  if (sdnotify::enabled()) {
    status_timer_ = makeUvHandle<uv_timer_t>(&loop_, this, uv_timer_init);
    uv_timer_start(status_timer_.get(), &Daemon::onUvStatusTimer, kStatusIntervalMs, kStatusIntervalMs);
  }
  return {};
}

// Retention, and the TCP listeners: [metrics] and the HTTP front.
Result<void> Daemon::startListeners() {
  retention_ = std::make_unique<Retention>(services_);
  retention_->init();
  if (config_.metrics_port >= 0) {
    metrics_server_ = std::make_unique<MetricsServer>(services_, *metrics_);
    auto port = metrics_server_->listen(config_.metrics_host, config_.metrics_port);
    if (!port) {
      return port.takeError();
    }
  }

  if (config_.api.port >= 0) {
    auto token = loadApiToken(config_.api, config_.db_path);
    if (!token) {
      return token.takeError();
    }
    http::HttpServerOptions http;
    http.limits.max_body_bytes = config_.api.max_body_bytes;
    http.header_timeout_ms = static_cast<uint64_t>(config_.api.header_timeout_ms);
    http.idle_timeout_ms = static_cast<uint64_t>(config_.api.idle_timeout_ms);
    http.max_connections = config_.api.max_connections;
    http.max_buffered_request_bytes = config_.api.max_buffered_request_bytes;
    http.max_pending_output_bytes = config_.max_pending_output_bytes;
    http_front_ = std::make_unique<HttpFront>(services_, *metrics_, HttpFrontOptions{http, token->value, config_.api.retry_memory_ms,
                                                                          config_.api.stream_head_after_ms,
                                                                          config_.api.keepalive_ms});
    auto port = http_front_->listen(config_.api.host, config_.api.port);
    if (!port) {
      return port.takeError();
    }
    LOG_NOTICE("OpenAI-compatible API on http://%s:%d/v1 (bearer token %s)",
               config_.api.host.find(':') != std::string::npos ? ("[" + config_.api.host + "]").c_str()
                                                               : config_.api.host.c_str(),
               *port, token->file.empty() ? "from [api] token" : ("in " + token->file).c_str());
  }
  return {};
}

// The socket last: once it listens, clients may connect, and everything they can reach
// is ready.
Result<void> Daemon::listenOnSocket() {
  // Socket activation wins unless a path was named explicitly.
  int fds = config_.socket_explicit ? 0 : sd_listen_fds(1);
  if (fds > 0) {
    if (auto r = server_->listenFd(SD_LISTEN_FDS_START); !r) {
      return r;
    }
    LOG_NOTICE("llmqd %s listening on the socket passed by systemd; database %s", kVersion,
               config_.db_path.c_str());
  } else {
    if (auto r = server_->listenPath(config_.socket_path, config_.socket_mode); !r) {
      return r;
    }
    if (!config_.socket_group.empty()) {
      // System mode: the group that may connect (mode 0660), e.g. "llmq".
      const struct group* g = ::getgrnam(config_.socket_group.c_str());
      if (g == nullptr) {
        return makeError(ErrorKind::kInvalidArgument, "[ipc] socket_group: no group \"" +
                                                          config_.socket_group + "\"");
      }
      if (::chown(config_.socket_path.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0) {
        return makeError(ErrorKind::kIo, "giving " + config_.socket_path + " to group " +
                                             config_.socket_group + ": " + std::strerror(errno));
      }
    }
    LOG_NOTICE("llmqd %s listening on %s; database %s", kVersion, config_.socket_path.c_str(),
               config_.db_path.c_str());
  }
  return {};
}

int Daemon::run() {
  sdnotify::ready();
  reportStatus();
  uv_run(&loop_, UV_RUN_DEFAULT);
  int rc = uv_loop_close(&loop_);
  if (rc != 0) {
    LOG_ERROR("the event loop closed with handles still open: %s", uv_strerror(rc));
    return 1;
  }
  loop_ok_ = false;
  LOG_NOTICE("llmqd stopped");
  return 0;
}

void Daemon::endOfTurn() {
  if (!cycle_) {
    return;
  }
  // Dispatch first, so a job submitted in this turn is claimed in the same
  // transaction that stores it: one commit, then its ack and its request leave.
  // Bounded: a callback may open the next transaction (e.g. a dispatch after a
  // commit); two more rounds settle everything one turn can cause.
  for (int round = 0; round < 3; ++round) {
    scheduler_->pump();
    cycle_->commit();  // A lost turn reloads the counters (setOnLost above).
    // Requests launched by the commit leave now, before this turn's output is
    // flushed and wakes the clients up.
    providers_->kick();
    if (!cycle_->open()) {
      break;
    }
  }
  runner_->collectGarbage();
  server_->flush();
  if (http_front_) {
    http_front_->flush();  // Last: the server's flush hands it the answers for HTTP.
  }
  if (shutdown_requested_ && !shutdown_finished_ && runner_->inflight() == 0) {
    finishShutdown();
  }
}

// Called by libuv right before it blocks for I/O.
void Daemon::onUvPrepare(uv_prepare_t* h) noexcept { static_cast<Daemon*>(h->data)->endOfTurn(); }
// Called by libuv right after the I/O callbacks of an iteration.
void Daemon::onUvCheck(uv_check_t* h) noexcept { static_cast<Daemon*>(h->data)->endOfTurn(); }

void Daemon::requestShutdown(bool immediate) {
  if (!shutdown_requested_) {
    shutdown_requested_ = true;
    services_.shutting_down = true;
    sdnotify::stopping();
    reportStatus();
    server_->stopListening();
    if (http_front_) {
      http_front_->stopListening();
    }
    scheduler_->stop();
    if (runner_->inflight() > 0) {
      LOG_NOTICE("waiting up to %lld ms for %zu running job(s) to finish",
                 static_cast<long long>(config_.shutdown_grace_ms), runner_->inflight());
      grace_timer_ = makeUvHandle<uv_timer_t>(&loop_, this, uv_timer_init);
      uv_timer_start(grace_timer_.get(), &Daemon::onUvGraceTimer,
                     static_cast<uint64_t>(config_.shutdown_grace_ms), 0);
    }
  }
  if (immediate || runner_->inflight() == 0) {
    finishShutdown();
  }
}

// Called by libuv when the shutdown grace period is over.
void Daemon::onUvGraceTimer(uv_timer_t* h) noexcept {
  auto* self = static_cast<Daemon*>(h->data);
  LOG_NOTICE("grace period over: %zu job(s) still running go back to the queue",
             self->runner_->inflight());
  self->finishShutdown();
}

// Called by libuv every half WATCHDOG_USEC: the loop is alive.
void Daemon::onUvWatchdog(uv_timer_t*) noexcept { sdnotify::watchdog(); }

// Called by libuv every kStatusIntervalMs while NOTIFY_SOCKET is set.
void Daemon::onUvStatusTimer(uv_timer_t* h) noexcept { static_cast<Daemon*>(h->data)->reportStatus(); }

void Daemon::reportStatus() {
  const auto& counts = lifecycle_->counts();
  auto count = [&counts](store::JobState state) { return counts[static_cast<size_t>(state)]; };
  sdnotify::QueueFigures f;
  f.queued = count(store::JobState::kQueued);
  f.running = count(store::JobState::kRunning);
  f.retry_wait = count(store::JobState::kRetryWait);
  f.held = count(store::JobState::kHeld);
  f.in_flight = runner_->inflight();
  f.connections = server_->connectionCount();
  f.stopping = shutdown_requested_;
  std::string line = sdnotify::statusLine(f);
  if (line != last_status_) {  // One datagram per change, not one per tick.
    sdnotify::status(line);
    last_status_ = std::move(line);
  }
}

void Daemon::reload() {
  if (services_.shutting_down) {
    return;
  }
  auto loaded = loadConfig(cli_);
  if (!loaded) {
    LOG_ERROR("SIGHUP: %s; the configuration in force stays", loaded.error().message.c_str());
    return;
  }
  Config& next = *loaded;
  // What only a restart changes: say so rather than half-apply it.
  const std::string fixed = restartOnlyChanges(config_, next);
  const Config before = config_;
  // Everything else takes effect now: the keys the table marks for SIGHUP, then
  // what no row holds (the tables of tables, and the job defaults the environment
  // gave). The scheduler, limits and routing read these on their next decision;
  // nothing running is interrupted.
  copyReloadable(config_, next);
  config_.config_path = next.config_path;
  config_.providers = next.providers;
  config_.limits = std::move(next.limits);
  config_.chains = std::move(next.chains);
  config_.aliases = std::move(next.aliases);
  config_.routes = std::move(next.routes);
  config_.prices = std::move(next.prices);
  config_.preferred_models = std::move(next.preferred_models);
  config_.default_max_attempts = next.default_max_attempts;
  applyReloaded(before);
  scheduler_->kick();  // A raised limit or cap may let waiting jobs go now.
  LOG_NOTICE("SIGHUP: configuration reloaded from %s%s%s",
             config_.config_path.empty() ? "defaults (no file)" : config_.config_path.c_str(),
             fixed.empty() ? "" : "; a restart is needed to change ", fixed.c_str());
}

void Daemon::applyReloaded(const Config& before) {
  log::setLevel(config_.log_level);
  if (config_.providers != before.providers) {
    // Running transfers finish on the provider they started with.
    providers_->reconfigure(config_);
    std::string names;
    for (const ProviderConfig& p : config_.providers) {
      names += (names.empty() ? "" : ", ") + p.name + " (" + p.base_url + ")";
    }
    LOG_NOTICE("SIGHUP: providers now: %s", names.c_str());
  }
  limits_->reconfigure(config_.limits);
  circuits_->setOptions(config_.circuit);
  catalog_->configChanged();
  if (config_.retention != before.retention) {
    retention_->init();  // The next pass follows the new settings.
  }
  if (config_.storage.max_page_count != before.storage.max_page_count) {
    if (auto r = applyMaxPageCount(); !r) {
      LOG_ERROR("SIGHUP: %s", r.error().message.c_str());
    }
    cycle_->retrySoon();  // Room may be back for what a full database kept waiting.
  }
  access_ = std::make_unique<Access>(config_);
  services_.access = access_.get();
  if (config_.budget_time_zone != before.budget_time_zone) {
    ::setenv("TZ", config_.budget_time_zone.c_str(), 1);
    ::tzset();
    if (auto r = budgets_->load(clock_.nowMs()); !r) {
      LOG_ERROR("SIGHUP: reloading budgets for time zone %s: %s", config_.budget_time_zone.c_str(),
                r.error().message.c_str());
    }
    accounting_->budgetsChanged();
  }
}

Result<void> Daemon::applyMaxPageCount() {
  const int64_t cap = config_.storage.max_page_count;
  auto in_force = db_->setMaxPageCount(cap);
  if (!in_force) {
    return makeError(in_force.error().kind, "[store] max_page_count: " + in_force.error().message);
  }
  if (cap > 0) {
    LOG_NOTICE("database capped at %lld pages ([store] max_page_count = %lld)%s",
               static_cast<long long>(*in_force), static_cast<long long>(cap),
               *in_force > cap ? ": the file is already larger, so it may not grow" : "");
  }
  return {};
}

void Daemon::finishShutdown() {
  if (shutdown_finished_) {
    return;
  }
  shutdown_finished_ = true;
  services_.shutting_down = true;
  if (runner_) {
    runner_->requeueAll();
  }
  if (cycle_) {
    cycle_->close();  // Commits; one last try for outcomes a full disk kept waiting.
  }
  if (catalog_) {
    catalog_->close();  // A refresh still waited for is answered before the flush.
  }
  if (key_credit_) {
    key_credit_->close();  // Its GET runs on the providers' curl loop.
  }
  if (metrics_server_) {
    metrics_server_->close();
  }
  if (retention_) {
    retention_->close();
  }
  if (backup_) {
    backup_->close();  // A backup under way is abandoned (its file removed) and answered.
  }
  if (server_) {
    server_->stopListening();
    server_->flush();
    server_->closeAll();
  }
  if (http_front_) {
    http_front_->flush();
    http_front_->close();  // Shutting down: their jobs stay queued (RpcDispatcher::onClosed).
  }
  if (runner_) {
    runner_->collectGarbage();
    runner_->close();
  }
  if (scheduler_) {
    scheduler_->close();
  }
  if (accounting_) {
    accounting_->close();  // The budget rollover timer.
  }
  if (providers_) {
    providers_->close();  // curl_multi_cleanup, then the timers; the runner is idle.
  }
  if (signals_) {
    signals_->close();
  }
  prepare_.reset();
  check_.reset();
  grace_timer_.reset();
  watchdog_.reset();
  status_timer_.reset();
}

}  // namespace llmq::daemon
