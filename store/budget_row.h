// store::BudgetRow: one stored budget (ipc/PROTOCOL.md budget.*), as every store
// backend keeps it: one per (scope, period), with its limit, alert fractions,
// action, and the alerts already sent in the current period (so a restart does
// not send them again). Plain data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace llmq::store {

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

}  // namespace llmq::store
