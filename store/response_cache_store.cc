// ResponseCacheStore: one row per key; expired rows are skipped, then pruned.
#include "store/response_cache_store.h"

#include "store/database.h"

namespace llmq::store {
namespace {

constexpr char kGetSql[] =
    "SELECT model, result, prompt_tokens, completion_tokens, created_at, expires_at "
    "FROM response_cache WHERE key = ?1 AND expires_at > ?2";
constexpr char kPutSql[] =
    "INSERT OR REPLACE INTO response_cache (key, model, result, prompt_tokens, completion_tokens, "
    "created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
constexpr char kPruneSql[] =
    "DELETE FROM response_cache WHERE key IN (SELECT key FROM response_cache INDEXED BY "
    "response_cache_expiry WHERE expires_at <= ?1 LIMIT ?2)";
constexpr char kLiveCountSql[] =
    "SELECT COUNT(*) FROM response_cache INDEXED BY response_cache_expiry WHERE expires_at > ?1";

}  // namespace

Result<std::optional<CachedResponse>> ResponseCacheStore::get(const std::string& key, int64_t now_ms) {
  auto st = db_.statement(kGetSql);
  st.bind(1, key).bind(2, now_ms);
  auto row = st.step();
  if (!row) {
    return row.takeError();
  }
  if (!*row) {
    return std::optional<CachedResponse>();
  }
  CachedResponse c;
  c.model = st.string(0);
  c.result_json = st.string(1);
  c.prompt_tokens = st.int64(2);
  c.completion_tokens = st.int64(3);
  c.created_at = st.int64(4);
  c.expires_at = st.int64(5);
  return std::optional<CachedResponse>(std::move(c));
}

Result<void> ResponseCacheStore::put(const std::string& key, const CachedResponse& e) {
  auto st = db_.statement(kPutSql);
  st.bind(1, key)
      .bind(2, e.model)
      .bind(3, e.result_json)
      .bind(4, e.prompt_tokens)
      .bind(5, e.completion_tokens)
      .bind(6, e.created_at)
      .bind(7, e.expires_at);
  return st.run();
}

Result<int64_t> ResponseCacheStore::prune(int64_t now_ms, int64_t limit) {
  auto st = db_.statement(kPruneSql);
  st.bind(1, now_ms).bind(2, limit);
  if (auto r = st.run(); !r) {
    return r.takeError();
  }
  return static_cast<int64_t>(db_.changes());
}

Result<int64_t> ResponseCacheStore::liveCount(int64_t now_ms) {
  auto st = db_.statement(kLiveCountSql);
  st.bind(1, now_ms);
  auto row = st.step();
  if (!row) {
    return row.takeError();
  }
  return *row ? st.int64(0) : 0;
}

}  // namespace llmq::store
