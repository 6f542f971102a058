// What usage reports and budget sums take and answer, for every store backend:
// one finished attempt's contribution (UsageDelta), a report's grouping and
// range (UsageQuery) and its rows and totals (UsageReport), and what a budget
// covers (SpendScope). Plain data, and the names of the grouping dimensions as
// usage.report spells them (ipc/PROTOCOL.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmq::store {

// One finished attempt's contribution to the rollups.
struct UsageDelta {
  int64_t started_at = 0;  // ms since the epoch: picks the day.
  std::string model;       // What answered (model_used).
  std::string client;
  std::string key_fp;  // Key fingerprint; "" when no key was used.
  std::vector<std::string> tags;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t cached_tokens = 0;
  int64_t reasoning_tokens = 0;
  double cost_usd = 0;
};

enum class UsageDim { kModel, kClient, kKey, kTag, kDay };

struct UsageQuery {
  std::vector<UsageDim> group_by;  // In the order the rows should name them.
  std::optional<int64_t> since;    // Inclusive, ms since the epoch.
  std::optional<int64_t> until;    // Exclusive.
};

struct UsageFigures {
  int64_t requests = 0;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t cached_tokens = 0;
  int64_t reasoning_tokens = 0;
  double cost_usd = 0;
};

struct UsageRow {
  std::vector<std::string> keys;  // One per group_by entry, in order.
  UsageFigures figures;
};

struct UsageReport {
  std::vector<UsageRow> rows;  // Ordered by the group keys.
  UsageFigures totals;         // Every attempt once, whatever the grouping.
  bool from_rollup = false;    // Answered from the daily rollups alone.
  bool from_ledger = false;    // Read ledger rows (for the parts of days at the ends).
  // The range answered: the one asked for, except that an end inside a day whose
  // ledger rows were pruned moves out to that day's boundary (then `widened`).
  std::optional<int64_t> since;
  std::optional<int64_t> until;
  bool widened = false;
};

// What a budget covers (ipc/PROTOCOL.md, budget.set scopes), for summing the ledger.
struct SpendScope {
  // kUser: every client of one user, "NAME" and "NAME:..." (daemon/policy/access.h).
  enum Kind { kGlobal, kClient, kKey, kModel, kTag, kUser } kind = kGlobal;
  std::string value;  // Client name, key fingerprint, model id, tag or user name.
};

const char* usageDimName(UsageDim d);
bool parseUsageDim(std::string_view name, UsageDim* out);

}  // namespace llmq::store
