// ResponseCache: eligibility from the job, BLAKE2b keys, lookups and stores.
#include "daemon/policy/response_cache.h"

#include <sodium.h>

#include "common/json.h"
#include "common/log.h"
#include "daemon/config.h"
#include "daemon/policy/request_estimate.h"
#include "store/database.h"

namespace llmq::daemon {
namespace {

constexpr int64_t kPruneBatch = 64;  // Expired entries deleted per store.

}  // namespace

ResponseCache::ResponseCache(const Config& config, store::Database& db) : config_(config), table_(db) {}

bool ResponseCache::eligible(const store::JobRecord& job) const {
  // A Response names its job (resp_<job id>): another job may not answer with it.
  if (job.stream || job.kind == JobKind::kResponses || config_.cache_ttl_ms <= 0) {
    return false;
  }
  if (job.options.no_cache || (!config_.cache_enabled && !job.options.cache)) {
    return false;
  }
  if (job.kind == JobKind::kEmbedding) {
    return true;  // The same input, the same vectors.
  }
  // Only a deterministic request may get someone else's answer (temperature 0,
  // as taken at submit).
  return factsOf(job).deterministic;
}

std::string ResponseCache::key(std::string_view model, std::string_view request_json, JobKind kind,
                               std::string_view pinned) {
  unsigned char hash[crypto_generichash_BYTES];
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, sizeof hash);
  if (!pinned.empty()) {
    // A pinned job's answer came from that provider and only answers jobs pinned there.
    const std::string tag = "provider:" + std::string(pinned);
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(tag.data()), tag.size() + 1);
  }
  if (kind != JobKind::kChat) {
    const std::string_view name = jobKindName(kind);
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(name.data()), name.size());
    const unsigned char separator = 0;
    crypto_generichash_update(&state, &separator, 1);
  }
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(model.data()), model.size());
  const unsigned char zero = 0;
  crypto_generichash_update(&state, &zero, 1);
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(request_json.data()),
                            request_json.size());
  crypto_generichash_final(&state, hash, sizeof hash);
  char hex[crypto_generichash_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
  return hex;
}

std::optional<store::CachedResponse> ResponseCache::lookup(const std::string& k, int64_t now_ms) {
  auto hit = table_.get(k, now_ms);
  if (!hit) {
    LOG_WARN("reading the response cache: %s", hit.error().message.c_str());
    return std::nullopt;
  }
  ++(hit->has_value() ? stats_.hits : stats_.misses);
  return std::move(*hit);
}

int64_t ResponseCache::liveEntries(int64_t now_ms) {
  auto n = table_.liveCount(now_ms);
  if (!n) {
    LOG_WARN("counting the response cache: %s", n.error().message.c_str());
    return 0;
  }
  return *n;
}

void ResponseCache::store(const std::string& k, std::string_view model, std::string_view result_json,
                          int64_t prompt_tokens, int64_t completion_tokens, int64_t now_ms) {
  store::CachedResponse e;
  e.model = std::string(model);
  e.result_json = std::string(result_json);
  e.prompt_tokens = prompt_tokens;
  e.completion_tokens = completion_tokens;
  e.created_at = now_ms;
  e.expires_at = now_ms + config_.cache_ttl_ms;
  if (auto r = table_.put(k, e); !r) {
    LOG_WARN("storing in the response cache: %s", r.error().message.c_str());
    return;
  }
  ++stats_.stored;
  stats_.stored_bytes += result_json.size();
  if (auto r = table_.prune(now_ms, kPruneBatch); !r) {
    LOG_WARN("pruning the response cache: %s", r.error().message.c_str());
  }
}

}  // namespace llmq::daemon
