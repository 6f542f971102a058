// daemon::ResponseCache: the opt-in response cache (docs/money.md). A job whose
// request is not streamed, asks for `temperature: 0` (an embedding job needs not:
// its answer is deterministic; a Responses job never is: its answer names it), and
// opts in (`cache: true` at submit, or `[cache] enabled = true` for every such job
// that did not opt out with `cache: false`)
// is answered from SQLite when an identical request for the same model was answered within `[cache]
// ttl_s`: no key, no rate limit, no budget, cost 0, recorded in the ledger with
// `cached: true`. A successful answer to such a job is stored for the next one.
//
// Identical means the same model and the same request body byte for byte as
// llmqd stores it (RapidJSON's normalised form), hashed with BLAKE2b. Loop thread
// only; writes go in the turn's transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "store/job_record.h"
#include "store/response_cache_store.h"

namespace llmq::store {
class Database;
}  // namespace llmq::store

namespace llmq::daemon {

struct Config;

class ResponseCache {
 public:
  // What the cache did since llmqd started (daemon.status, /metrics).
  struct Stats {
    uint64_t hits = 0;          // Lookups that found an answer.
    uint64_t misses = 0;        // Lookups that found none.
    uint64_t stored = 0;        // Answers stored.
    uint64_t stored_bytes = 0;  // Their size, as stored.
  };

  ResponseCache(const Config& config, store::Database& db);

  // Whether `job` may be answered from (and stored in) the cache.
  bool eligible(const store::JobRecord& job) const;
  // The cache key of `request_json` of kind `kind` sent to `model` (a chat
  // request's key is what it was before there were other kinds), by a job pinned
  // to the provider `pinned` (empty: not pinned; the keys of the two never meet).
  static std::string key(std::string_view model, std::string_view request_json, JobKind kind = JobKind::kChat,
                         std::string_view pinned = {});

  std::optional<store::CachedResponse> lookup(const std::string& key, int64_t now_ms);
  void store(const std::string& key, std::string_view model, std::string_view result_json, int64_t prompt_tokens,
             int64_t completion_tokens, int64_t now_ms);

  const Stats& stats() const { return stats_; }
  // The entries that have not expired by `now_ms`; 0 when the table cannot be read.
  int64_t liveEntries(int64_t now_ms);

 private:
  const Config& config_;
  store::ResponseCacheStore table_;
  Stats stats_;
};

}  // namespace llmq::daemon
