// store::ResponseCacheStore: the opt-in response cache's table (schema v5):
// chat.completion results by request key, each with the tokens it cost when it
// was made and when it expires.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.h"

namespace llmq::store {

class Database;

struct CachedResponse {
  std::string model;
  std::string result_json;  // The chat.completion object as the job stored it.
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t created_at = 0;
  int64_t expires_at = 0;
};

class ResponseCacheStore {
 public:
  explicit ResponseCacheStore(Database& db) : db_(db) {}

  // The entry for `key` unless it expired by `now_ms`.
  Result<std::optional<CachedResponse>> get(const std::string& key, int64_t now_ms);
  Result<void> put(const std::string& key, const CachedResponse& entry);
  // Deletes up to `limit` expired entries; returns how many.
  Result<int64_t> prune(int64_t now_ms, int64_t limit);
  // How many entries have not expired by `now_ms`: read from the expiry index,
  // not the answers.
  Result<int64_t> liveCount(int64_t now_ms);

 private:
  Database& db_;
};

}  // namespace llmq::store
