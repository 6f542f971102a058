// store::UsageStore: what was spent, in SQLite; the part of store::SqliteStore
// (store/sqlite_store.h) that answers usage reports and budget sums. The ledger itself is the attempts table (one
// row per attempt, written by JobStore); this class keeps the daily rollups that
// answer usage.report without reading the ledger, reads the ledger when a report
// is not on day boundaries, and sums the ledger for budget periods.
//
// Ledger retention ([retention] ledger_days): the rollups are written as each
// attempt ends, so they already hold every counted ledger row. pruneLedger()
// deletes the rows of whole UTC days before a cutoff and records that cutoff as
// the ledger horizon (the settings row "ledger_horizon_ms"). Before the horizon
// only the rollups are read: budget sums take whole days from them, and a report
// whose range starts or ends inside a pruned day is widened to that whole day
// (UsageReport::widened). After the horizon nothing changes.
//
// Days are UTC calendar days of the attempt's start ("2026-11-24").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "store/usage_report.h"

namespace llmq::store {

class Database;

class UsageStore {
 public:
  explicit UsageStore(Database& db) : db_(db) {}

  Result<void> add(const UsageDelta& d);
  Result<UsageReport> report(const UsageQuery& asked);
  // The cost of the attempts that started in [since, until) within `scope`: from
  // the ledger, and from the rollups (whole UTC days) before the ledger horizon.
  Result<double> spent(const SpendScope& scope, int64_t since_ms, int64_t until_ms);

  // Ledger retention: deletes up to `limit` finished ledger rows of attempts that
  // started before `before_ms` rounded down to a UTC midnight, after moving the
  // ledger horizon there (in the caller's transaction). Returns how many rows.
  Result<int64_t> pruneLedger(int64_t before_ms, int64_t limit);
  // The ledger horizon (a UTC midnight, ms): the ledger holds no row of an attempt
  // that started before it. 0 when nothing was ever pruned.
  Result<int64_t> ledgerHorizon();

  // "2026-11-24" for a time in ms since the epoch (UTC).
  static std::string utcDay(int64_t ms);

 private:
  Result<UsageReport> fromRollup(const UsageQuery& q);
  Result<UsageReport> fromLedger(const UsageQuery& q);
  // Whole days inside the range from the rollups, the partial days at its ends
  // from the ledger, merged.
  Result<UsageReport> mixed(const UsageQuery& q);
  // The rollups' cost for the UTC days from the one holding `since_ms` up to the
  // one before `until_ms` (a midnight), within `scope`.
  Result<double> rollupSpent(const SpendScope& scope, int64_t since_ms, int64_t until_ms);
  Result<double> ledgerSpent(const SpendScope& scope, int64_t since_ms, int64_t until_ms);

  Database& db_;
};

}  // namespace llmq::store
