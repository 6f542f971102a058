// store::BudgetStore: the budgets table (ipc/PROTOCOL.md budget.*): one row per
// (scope, period) with its limit, alert fractions, action, and the alerts already
// sent in the current period (so a restart does not send them again).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace llmq::store {

class Database;

struct BudgetRow {
  std::string scope;   // "global", "client:NAME", "key:NAME", "model:ID", "tag:T"
  std::string period;  // "day", "week", "month", "total"
  double limit_usd = 0;
  std::vector<double> alert_at;  // Fractions of the limit, ascending.
  std::string action;            // "reject" or "hold"
  int64_t created_at = 0;
  int64_t alerted_period = 0;   // Start of the period the fractions below were sent in.
  std::vector<double> alerted;  // Fractions already sent in that period.
};

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
