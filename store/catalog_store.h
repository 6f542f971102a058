// store::CatalogStore: the model catalog as last fetched (the `models` table), so
// a restart prices jobs with the last known prices without going online. One row
// per model; `pricing` is compact JSON of Pricing's fields (USD per
// token): {"prompt","completion","request","image","cache_read","cache_write"},
// plus "known":false for a model whose price is unknown.
//
// common/pricing.h is a header-only value type with no behaviour beyond
// arithmetic; the store uses it as vocabulary and owns the column format.
// Loop thread only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/pricing.h"
#include "common/result.h"

namespace llmq::store {

class Database;

struct CatalogRow {
  ModelInfo model;
  int64_t fetched_at = 0;  // ms since the epoch.
};

class CatalogStore {
 public:
  explicit CatalogStore(Database& db) : db_(db) {}

  // Replaces every row of `provider` with `models`, all stamped `fetched_at`.
  // Rows of other providers stay. All or nothing (a savepoint), inside the
  // caller's transaction when one is open, so a failure half way never leaves
  // half a catalog behind and never disturbs the caller's other writes.
  Result<void> replaceProvider(std::string_view provider, const std::vector<ModelInfo>& models, int64_t fetched_at);
  // Every stored model, ordered by id. A row whose pricing does not parse loads
  // with pricing.known = false rather than failing the whole load.
  Result<std::vector<CatalogRow>> loadAll();

  // The pricing column's text for `p`, and back; exposed for tests.
  static std::string pricingJson(const Pricing& p);
  static Pricing parsePricingJson(std::string_view text);

 private:
  Result<void> writeRows(std::string_view provider, const std::vector<ModelInfo>& models, int64_t fetched_at);

  Database& db_;
};

}  // namespace llmq::store
