// store::BudgetStore: the budgets table (ipc/PROTOCOL.md budget.*) in SQLite, one
// BudgetRow (store/budget_row.h) per (scope, period); the part of
// store::SqliteStore (store/sqlite_store.h) that holds the budgets.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "store/budget_row.h"

namespace llmq::store {

class Database;

class BudgetStore {
 public:
  explicit BudgetStore(Database& db) : db_(db) {}

  Result<std::vector<BudgetRow>> all();
  // Inserts or replaces the row with the same scope and period.
  Result<void> put(const BudgetRow& row);
  // Returns whether a row was deleted.
  Result<bool> remove(const std::string& scope, const std::string& period);
  Result<void> setAlerted(const std::string& scope, const std::string& period, int64_t period_start,
                          const std::vector<double>& fractions);

 private:
  Database& db_;
};

}  // namespace llmq::store
