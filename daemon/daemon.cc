// Daemon: startup, the end-of-turn step, and the shutdown sequence in daemon.h.
#include "daemon/daemon.h"

#include <grp.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

#include <cstdlib>

#include "common/log.h"
#include "daemon/api/api_token.h"
#include "daemon/api/http_front.h"
#include "daemon/api/metrics_server.h"
#include "daemon/api/rpc_dispatcher.h"
#include "daemon/config_keys.h"
#include "daemon/db_backup.h"
#include "daemon/engine.h"
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
#include "daemon/policy/user_quota.h"
#include "daemon/retention.h"
#include "daemon/sd_notify.h"
#include "daemon/signals.h"
#include "daemon/turn/commit_cycle.h"
#include "daemon/turn/event_bus.h"
#include "daemon/turn/metrics.h"
#include "http/server.h"
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

namespace llmq::daemon {

Daemon::Daemon(Config config, CommandLine cli) : config_(std::move(config)), cli_(std::move(cli)) {
  loop_ok_ = uv_loop_init(&loop_) == 0;
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

  // In dependency order: each step uses only what the steps before it built.
  for (Result<void> (Daemon::*step)() : {&Daemon::openDatabase, &Daemon::buildEngine, &Daemon::startLoopHandles,
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
      LOG_WARN(
          "%s; the file keeps the size of its largest backlog (see docs/operations.md, "
          "\"Disk space\")",
          av.error().message.c_str());
    } else if (*av == store::AutoVacuum::kConverted) {
      LOG_NOTICE("database %s converted to incremental auto-vacuum", config_.db_path.c_str());
    } else if (*av == store::AutoVacuum::kTooLarge) {
      LOG_NOTICE(
          "database %s is not in incremental auto-vacuum mode and is larger than "
          "[store] auto_vacuum_convert_max_mb: it keeps its size, reusing freed pages; "
          "see docs/operations.md, \"Disk space\", to convert it",
          config_.db_path.c_str());
    }
  }
  if (auto r = applyMaxPageCount(); !r) {
    return r;
  }
  {
    store::Transaction txn(*db_);
    if (auto r = txn.begin(); !r) {
      return r;
    }
    auto recovered = store::JobStore(*db_).recoverInterrupted(clock_.nowMs());
    if (!recovered) {
      return recovered.takeError();
    }
    if (auto r = txn.commit(); !r) {
      return r;
    }
    if (recovered->requeued + recovered->failed > 0) {
      LOG_NOTICE(
          "recovered jobs interrupted by the last stop: %lld queued again, %lld failed "
          "(on_restart = \"fail\")",
          static_cast<long long>(recovered->requeued), static_cast<long long>(recovered->failed));
    }
  }
  return {};
}

// Every part of llmqd but the process around it, wired by Engine::build.
Result<void> Daemon::buildEngine() {
  auto engine = Engine::build(&loop_, config_, clock_, *db_);
  if (!engine) {
    return engine.takeError();
  }
  engine_ = std::move(*engine);
  return {};
}

// Signals, the per-turn prepare and check handles, the systemd watchdog and status timers.
Result<void> Daemon::startLoopHandles() {
  signals_ = std::make_unique<Signals>(&loop_, Signals::Callbacks{[this](int signum) {
                                                                    LOG_NOTICE("received signal %d, shutting down",
                                                                               signum);
                                                                    requestShutdown(shutdown_requested_);
                                                                  },
                                                                  [this] { reload(); }});
  prepare_ = makeUvHandle<uv_prepare_t>(&loop_, this, uv_prepare_init);
  check_ = makeUvHandle<uv_check_t>(&loop_, this, uv_check_init);
  uv_prepare_start(prepare_.get(), &Daemon::onUvPrepare);
  uv_check_start(check_.get(), &Daemon::onUvCheck);
  if (uint64_t interval = sdnotify::watchdogIntervalMs(); interval > 0) {
    // Every half WATCHDOG_USEC: the loop is alive.
    watchdog_ = UvTimer(&loop_, [] { sdnotify::watchdog(); });
    watchdog_.start(interval, interval);
  }
  if (sdnotify::enabled()) {
    status_timer_ = UvTimer(&loop_, [this] { reportStatus(); });
    status_timer_.start(kStatusIntervalMs, kStatusIntervalMs);
  }
  return {};
}

// Retention, and the TCP listeners: [metrics] and the HTTP front.
Result<void> Daemon::startListeners() {
  retention_ = std::make_unique<Retention>(Retention::Parts{&loop_, config_, clock_, *db_, *engine_->cycle,
                                                            *engine_->settings, *engine_->quota, engine_->run});
  retention_->init();
  if (config_.metrics_port >= 0) {
    metrics_server_ = std::make_unique<MetricsServer>(*engine_);
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
    http.write_stall_timeout_ms = static_cast<uint64_t>(config_.api.idle_timeout_ms);
    http.max_connections = config_.api.max_connections;
    http.max_buffered_request_bytes = config_.api.max_buffered_request_bytes;
    http.max_pending_output_bytes = config_.max_pending_output_bytes;
    http_front_ = std::make_unique<HttpFront>(
        *engine_, HttpFrontOptions{http, token->value, config_.api.retry_memory_ms,
                                   config_.api.stream_head_after_ms, config_.api.keepalive_ms});
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
    if (auto r = engine_->server->listenFd(SD_LISTEN_FDS_START); !r) {
      return r;
    }
    LOG_NOTICE("llmqd %s listening on the socket passed by systemd; database %s", kVersion,
               config_.db_path.c_str());
  } else {
    std::optional<gid_t> group;
    if (!config_.socket_group.empty()) {
      // System mode: the group that may connect (mode 0660), e.g. "llmq".
      const struct group* g = ::getgrnam(config_.socket_group.c_str());
      if (g == nullptr) {
        return makeError(ErrorKind::kInvalidArgument,
                         "[ipc] socket_group: no group \"" + config_.socket_group + "\"");
      }
      group = g->gr_gid;
    }
    if (auto r = engine_->server->listenPath(config_.socket_path, config_.socket_mode, group); !r) {
      return r;
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
  if (!engine_) {
    return;
  }
  engine_->endTurn();
  if (metrics_server_) {
    metrics_server_->flush();
  }
  if (http_front_) {
    http_front_->flush();  // Last: the server's flush hands it the answers for HTTP.
  }
  if (shutdown_requested_ && !shutdown_finished_ && engine_->runner->inflight() == 0) {
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
    engine_->run.shutting_down = true;
    sdnotify::stopping();
    reportStatus();
    engine_->server->stopListening();
    if (http_front_) {
      http_front_->stopListening();
    }
    engine_->scheduler->stop();
    if (engine_->runner->inflight() > 0) {
      LOG_NOTICE("waiting up to %lld ms for %zu running job(s) to finish",
                 static_cast<long long>(config_.shutdown_grace_ms), engine_->runner->inflight());
      grace_timer_ = UvTimer(&loop_, [this] { graceOver(); });
      grace_timer_.start(static_cast<uint64_t>(config_.shutdown_grace_ms));
    }
  }
  if (immediate || engine_->runner->inflight() == 0) {
    finishShutdown();
  }
}

void Daemon::graceOver() {
  LOG_NOTICE("grace period over: %zu job(s) still running go back to the queue", engine_->runner->inflight());
  finishShutdown();
}

void Daemon::reportStatus() {
  const auto& counts = engine_->lifecycle->counts();
  auto count = [&counts](store::JobState state) { return counts[static_cast<size_t>(state)]; };
  sdnotify::QueueFigures f;
  f.queued = count(store::JobState::kQueued);
  f.running = count(store::JobState::kRunning);
  f.retry_wait = count(store::JobState::kRetryWait);
  f.held = count(store::JobState::kHeld);
  f.in_flight = engine_->runner->inflight();
  f.connections = engine_->server->connectionCount();
  f.stopping = shutdown_requested_;
  std::string line = sdnotify::statusLine(f);
  if (line != last_status_) {  // One datagram per change, not one per tick.
    sdnotify::status(line);
    last_status_ = std::move(line);
  }
}

void Daemon::reload() {
  if (!engine_ || engine_->run.shutting_down) {
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
  engine_->scheduler->kick();  // A raised limit or cap may let waiting jobs go now.
  LOG_NOTICE("SIGHUP: configuration reloaded from %s%s%s",
             config_.config_path.empty() ? "defaults (no file)" : config_.config_path.c_str(),
             fixed.empty() ? "" : "; a restart is needed to change ", fixed.c_str());
}

void Daemon::applyReloaded(const Config& before) {
  log::setLevel(config_.log_level);
  if (config_.providers != before.providers) {
    // Running transfers finish on the provider they started with.
    engine_->providers->reconfigure(config_);
    std::string names;
    for (const ProviderConfig& p : config_.providers) {
      names += (names.empty() ? "" : ", ") + p.name + " (" + p.base_url + ")";
    }
    LOG_NOTICE("SIGHUP: providers now: %s", names.c_str());
  }
  engine_->limits->reconfigure(config_.limits);
  engine_->circuits->setOptions(config_.circuit);
  engine_->catalog->configChanged();
  if (config_.retention != before.retention) {
    retention_->init();  // The next pass follows the new settings.
  }
  if (config_.storage.max_page_count != before.storage.max_page_count) {
    if (auto r = applyMaxPageCount(); !r) {
      LOG_ERROR("SIGHUP: %s", r.error().message.c_str());
    }
    engine_->cycle->retrySoon();  // Room may be back for what a full database kept waiting.
  }
  engine_->access = std::make_unique<Access>(config_);
  if (config_.budget_time_zone != before.budget_time_zone) {
    ::setenv("TZ", config_.budget_time_zone.c_str(), 1);
    ::tzset();
    if (auto r = engine_->budgets->load(clock_.nowMs()); !r) {
      LOG_ERROR("SIGHUP: reloading budgets for time zone %s: %s", config_.budget_time_zone.c_str(),
                r.error().message.c_str());
    }
    engine_->accounting->budgetsChanged();
  }
}

Result<void> Daemon::applyMaxPageCount() {
  const int64_t cap = config_.storage.max_page_count;
  auto in_force = db_->setMaxPageCount(cap);
  if (!in_force) {
    return makeError(in_force.error().kind, "[store] max_page_count: " + in_force.error().message);
  }
  if (cap > 0) {
    LOG_NOTICE("database capped at %lld pages ([store] max_page_count = %lld)%s", static_cast<long long>(*in_force),
               static_cast<long long>(cap),
               *in_force > cap ? ": the file is already larger, so it may not grow" : "");
  }
  return {};
}

void Daemon::finishShutdown() {
  if (shutdown_finished_) {
    return;
  }
  shutdown_finished_ = true;
  if (engine_) {
    engine_->stop();  // Requeues what runs, commits, closes the socket's connections.
  }
  if (metrics_server_) {
    metrics_server_->close();
  }
  if (retention_) {
    retention_->close();
  }
  if (http_front_) {
    http_front_->flush();
    http_front_->close();  // Shutting down: their jobs stay queued (RpcDispatcher::onClosed).
  }
  if (engine_) {
    engine_->close();
  }
  if (signals_) {
    signals_->close();
  }
  prepare_.reset();
  check_.reset();
  grace_timer_.close();
  watchdog_.close();
  status_timer_.close();
}

}  // namespace llmq::daemon
