// daemon::Services: the daemon's parts, as one bundle handed to handlers and to
// the parts that call each other (scheduler <-> runner). The Daemon owns every
// part and fills this in before the loop runs. Loop thread only.
#pragma once

#include <uv.h>

#include <cstdint>

namespace llmq {
class Clock;
namespace ipc {
class Server;
}
namespace store {
class Database;
class JobStore;
class SettingsStore;
class SecretStore;
class UsageStore;
class BudgetStore;
}  // namespace store
}  // namespace llmq

namespace llmq::daemon {

struct Config;
class CommitCycle;
class EventBus;
class JobLifecycle;
class Scheduler;
class JobRunner;
class CircuitBreakers;
class KeyPool;
class RateLimiter;
class ModelCatalog;
class BudgetBook;
class Accounting;
class ResponseCache;
class DbBackup;
class Access;
class UserQuota;
class Metrics;
class ProviderRegistry;

struct Services {
  const Config* config = nullptr;
  uv_loop_t* loop = nullptr;
  const Clock* clock = nullptr;
  store::Database* db = nullptr;
  store::JobStore* jobs = nullptr;
  store::SettingsStore* settings = nullptr;
  store::SecretStore* secrets = nullptr;
  store::UsageStore* usage = nullptr;
  CommitCycle* cycle = nullptr;
  EventBus* bus = nullptr;
  ipc::Server* server = nullptr;
  JobLifecycle* lifecycle = nullptr;
  Scheduler* scheduler = nullptr;
  JobRunner* runner = nullptr;
  ProviderRegistry* providers = nullptr;
  KeyPool* keys = nullptr;
  RateLimiter* limits = nullptr;
  ModelCatalog* catalog = nullptr;   // Model prices and limits (daemon/policy/model_catalog.h).
  BudgetBook* budgets = nullptr;     // Budgets and reservations (daemon/policy/budget_book.h).
  Metrics* metrics = nullptr;        // What /metrics shows (daemon/turn/metrics.h).
  Access* access = nullptr;          // Who may do what (daemon/policy/access.h).
  UserQuota* quota = nullptr;        // Per-user limits on jobs and bytes (daemon/policy/user_quota.h).
  DbBackup* backup = nullptr;        // db.backup (daemon/db_backup.h).
  ResponseCache* cache = nullptr;    // The opt-in response cache (daemon/policy/response_cache.h).
  Accounting* accounting = nullptr;  // Cost, ledger and budgets per attempt (daemon/policy/accounting.h).
  CircuitBreakers* circuits = nullptr;
  int64_t started_at_ms = 0;
  bool shutting_down = false;
};

}  // namespace llmq::daemon
