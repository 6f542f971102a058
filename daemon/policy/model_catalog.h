// daemon::ModelCatalog: what each model costs and how long its context is, for
// pricing jobs and reserving budgets (docs/money.md) and for `models.list`. Sources,
// highest precedence first:
//   1. `mock/...`: the built-in mock provider's price from [mock] (it is what the
//      mock charges, so nothing may contradict it);
//   2. [[prices]] overrides from the config, first match wins (wildcards allowed);
//   3. OpenRouter's `GET /models`, as last fetched (cached in SQLite, so a restart
//      offline still knows it);
//   4. a built-in list of popular OpenRouter models (upstream/builtin_models.h).
// The fetch runs on the daemon's curl multi loop: once right after startup
// (never delaying readiness) and then every [catalog] refresh_s; a failed fetch
// is logged and the previous data stays.
//
// Loop thread only. Owned by the Daemon; init() after the store, providers and
// commit cycle exist; close() before the providers close (it cancels its fetch
// on their curl loop and closes its timer).
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/pricing.h"
#include "common/result.h"
#include "common/uv_timer.h"
#include "daemon/turn/answer_page.h"
#include "daemon/turn/run_state.h"
#include "store/catalog_store.h"

namespace llmq {
class Clock;
namespace store {
class Database;
}  // namespace store
}  // namespace llmq

namespace llmq::upstream {
class HttpGet;
struct HttpGetResponse;
}  // namespace llmq::upstream

namespace llmq::daemon {

struct Config;
class CommitCycle;
class ProviderRegistry;

class ModelCatalog {
 public:
  enum class Source { kConfig, kFetched, kBuiltin, kMock };

  // Where it keeps the catalog, and the providers' curl loop it fetches on.
  struct Parts {
    uv_loop_t* loop;
    const Config& config;
    const Clock& clock;
    store::Database& db;
    CommitCycle& cycle;
    ProviderRegistry& providers;
    const RunState& run;
  };
  explicit ModelCatalog(Parts parts);
  ~ModelCatalog();
  ModelCatalog(const ModelCatalog&) = delete;
  ModelCatalog& operator=(const ModelCatalog&) = delete;

  // Loads the cached catalog from SQLite and arms the startup and periodic fetches.
  Result<void> init();
  // Cancels a running fetch (its waiters hear an error) and closes the timer.
  void close();

  // The entry that prices `model`, or nullptr if no source knows it. For a model
  // only a wildcard matches (a [[prices]] pattern, or any `mock/...`), the entry's
  // id is the pattern. The pointer stays valid until the catalog next changes (a
  // fetch completes, or close()): copy what must outlive the current call.
  const ModelInfo* find(std::string_view model) const;
  // Where find(model)'s answer comes from; nullopt when find() returns nullptr.
  std::optional<Source> sourceOf(std::string_view model) const;

  // Fetches OpenRouter's model list now, stores it (in the turn's transaction) and
  // switches to it. `done` runs exactly once with the number of models fetched or
  // the reason it failed: later, from the loop, or at once when no fetch can start
  // (shutting down, no curl loop). A call while a fetch runs joins that fetch.
  void refresh(std::function<void(Result<size_t>)> done);
  // [[prices]] changed (SIGHUP): the overrides apply from now on.
  void configChanged() { rebuild(); }
  bool refreshing() const;
  // True when a fetch began (refresh(), or the periodic one) less than `ms` ago,
  // on the monotonic clock.
  bool refreshedWithin(int64_t ms) const;

  // The `models.list` result: {"models":[...], "fetched_at": RFC 3339 or null}, the
  // models whose id contains `filter` (all when empty), ordered by id; config
  // patterns (by id) and the mock entry last. See ipc/PROTOCOL.md.
  std::string listJson(std::string_view filter) const;
  // One page of it, with next_cursor (daemon/turn/answer_page.h): the key of an entry
  // is its section (models, patterns, mock) and its id.
  std::string listPage(std::string_view filter, const PageRequest& request, size_t max_bytes) const;
  // When the catalog in use was fetched (ms since the epoch); nullopt if never.
  std::optional<int64_t> fetchedAt() const { return fetched_at_; }

  static const char* sourceName(Source source);

 private:
  struct Entry {
    ModelInfo info;
    Source source;
  };

  // Rebuilds the lookup tables from fetched_, the built-in list and the config.
  void rebuild();
  const Entry* findEntry(std::string_view model) const;
  void onFetched(Result<upstream::HttpGetResponse> response);
  void finish(const Result<size_t>& result);

  Parts p_;
  store::CatalogStore store_;
  std::unique_ptr<upstream::HttpGet> fetch_;
  UvTimer timer_;  // A refresh at startup and every refresh_s.
  std::string fetch_url_;
  std::vector<std::function<void(Result<size_t>)>> waiters_;  // Of the running fetch.
  std::vector<ModelInfo> fetched_;                            // As last fetched (or loaded from SQLite).
  std::optional<int64_t> fetched_at_;
  std::optional<int64_t> fetch_began_mono_;  // When the latest fetch began.
  // Exact ids: the fetched and built-in models with overrides applied, and
  // overrides whose match has no wildcard. Ordered, for listJson().
  std::map<std::string, Entry, std::less<>> models_;
  std::vector<Entry> patterns_;  // One per override, id = its match, in config order.
  Entry mock_;
  bool closed_ = false;
};

}  // namespace llmq::daemon
