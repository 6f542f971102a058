// store::ModelFiguresStore: the ledger (the attempts table) read for how models
// perform: the samples of a recent window, newest first and bounded, and the
// figures of whole UTC days grouped by provider and model. Reads only; cache
// answers (`cached = 1`) and attempts still running are left out. The part of
// store::SqliteStore (store/sqlite_store.h) behind models.stats.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "common/result.h"
#include "store/model_figures.h"

namespace llmq::store {

class Database;

class ModelFiguresStore {
 public:
  explicit ModelFiguresStore(Database& db) : db_(db) {}

  // The attempts that started at or after `since_ms`, newest first, at most
  // `limit` of them, one at a time.
  Result<void> samples(int64_t since_ms, int64_t limit, const std::function<void(const AttemptSample&)>& each);
  // Per UTC day of the start, from the day holding `since_ms` on, then per
  // provider and model, in that order; the first `limit` rows.
  Result<std::vector<DailyModelFigures>> daily(int64_t since_ms, int64_t limit);

 private:
  Database& db_;
};

}  // namespace llmq::store
