// UsageStore: rollup upserts, reports from the rollups or the ledger, ledger sums.
#include "store/usage_store.h"

#include <algorithm>
#include <ctime>
#include <map>

#include "common/usage_bounds.h"
#include "store/database.h"

namespace llmq::store {
namespace {

constexpr int64_t kDayMs = 86'400'000;

constexpr char kAddDailySql[] =
    "INSERT INTO usage_daily (day, model, client, key_fp, requests, prompt_tokens, "
    "completion_tokens, cached_tokens, reasoning_tokens, cost_usd) "
    "VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?7, ?8, ?9) "
    "ON CONFLICT (day, model, client, key_fp) DO UPDATE SET requests = requests + 1, "
    "prompt_tokens = prompt_tokens + excluded.prompt_tokens, "
    "completion_tokens = completion_tokens + excluded.completion_tokens, "
    "cached_tokens = cached_tokens + excluded.cached_tokens, "
    "reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens, "
    "cost_usd = cost_usd + excluded.cost_usd";
constexpr char kAddDailyTagSql[] =
    "INSERT INTO usage_daily_tag (day, tag, model, client, key_fp, requests, prompt_tokens, "
    "completion_tokens, cached_tokens, reasoning_tokens, cost_usd) "
    "VALUES (?1, ?10, ?2, ?3, ?4, 1, ?5, ?6, ?7, ?8, ?9) "
    "ON CONFLICT (day, tag, model, client, key_fp) DO UPDATE SET requests = requests + 1, "
    "prompt_tokens = prompt_tokens + excluded.prompt_tokens, "
    "completion_tokens = completion_tokens + excluded.completion_tokens, "
    "cached_tokens = cached_tokens + excluded.cached_tokens, "
    "reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens, "
    "cost_usd = cost_usd + excluded.cost_usd";

// Ledger retention (see the header): the horizon is a settings row, written in the
// same transaction as the first batch of deletes below it.
constexpr char kLedgerHorizonSql[] = "SELECT CAST(value AS INTEGER) FROM settings WHERE name = 'ledger_horizon_ms'";
constexpr char kSetLedgerHorizonSql[] =
    "INSERT INTO settings (name, value) VALUES ('ledger_horizon_ms', ?1) "
    "ON CONFLICT (name) DO UPDATE SET value = excluded.value";
// A batch of finished ledger rows before the cutoff, oldest first, on attempts_time.
constexpr char kPruneLedgerSql[] =
    "DELETE FROM attempts WHERE (job_id, attempt) IN (SELECT job_id, attempt FROM attempts "
    "INDEXED BY attempts_time WHERE started_at < ?1 AND finished_at IS NOT NULL "
    "ORDER BY started_at LIMIT ?2)";

int64_t floorDay(int64_t ms) { return ms - ((ms % kDayMs) + kDayMs) % kDayMs; }

// The ledger rows that count as requests: finished, and the upstream answered
// (or billed). The same rule decides which attempts reach the rollups.
constexpr char kCounted[] = "a.finished_at IS NOT NULL AND (a.http_status IS NOT NULL OR a.cost_usd > 0)";

const char* rollupColumn(UsageDim d) {
  switch (d) {
    case UsageDim::kModel:
      return "model";
    case UsageDim::kClient:
      return "client";
    case UsageDim::kKey:
      return "key_fp";
    case UsageDim::kTag:
      return "tag";
    case UsageDim::kDay:
      return "day";
  }
  return "model";
}

const char* ledgerColumn(UsageDim d) {
  switch (d) {
    case UsageDim::kModel:
      return "a.model";
    case UsageDim::kClient:
      return "COALESCE(a.client, '')";
    case UsageDim::kKey:
      return "COALESCE(a.key_fingerprint, '')";
    case UsageDim::kTag:
      return "t.value";
    case UsageDim::kDay:
      return "strftime('%Y-%m-%d', a.started_at / 1000, 'unixepoch')";
  }
  return "a.model";
}

bool hasDim(const UsageQuery& q, UsageDim d) {
  for (UsageDim g : q.group_by) {
    if (g == d) {
      return true;
    }
  }
  return false;
}

// Sums are taken with total() (a double, which cannot overflow as SUM() does on
// integers) and clamped here (common/usage_bounds.h): the database may hold rows an
// older llmqd wrote from unclamped upstream figures.
int64_t tokenSum(const Statement& st, int col) {
  return static_cast<int64_t>(clampSum(st.real(col), kMaxTokenSum));
}

UsageFigures readFigures(const Statement& st, int first) {
  UsageFigures f;
  f.requests = tokenSum(st, first);
  f.prompt_tokens = tokenSum(st, first + 1);
  f.completion_tokens = tokenSum(st, first + 2);
  f.cached_tokens = tokenSum(st, first + 3);
  f.reasoning_tokens = tokenSum(st, first + 4);
  f.cost_usd = clampSum(st.real(first + 5), kMaxCostSumUsd);
  return f;
}

void addFigures(UsageFigures& to, const UsageFigures& f) {
  const auto add = [](int64_t a, int64_t b) {
    return static_cast<int64_t>(clampSum(static_cast<double>(a) + static_cast<double>(b), kMaxTokenSum));
  };
  to.requests = add(to.requests, f.requests);
  to.prompt_tokens = add(to.prompt_tokens, f.prompt_tokens);
  to.completion_tokens = add(to.completion_tokens, f.completion_tokens);
  to.cached_tokens = add(to.cached_tokens, f.cached_tokens);
  to.reasoning_tokens = add(to.reasoning_tokens, f.reasoning_tokens);
  to.cost_usd = clampSum(to.cost_usd + f.cost_usd, kMaxCostSumUsd);
}

// One ledger figure as it is summed: a row's count within [0, kMaxAttemptTokens],
// its cost within [0, kMaxAttemptCostUsd] (NULL, as SQLite stores NaN, is skipped).
std::string ledgerCount(const char* column) {
  return std::string("total(MIN(MAX(") + column + ", 0), " + std::to_string(kMaxAttemptTokens) + "))";
}
const std::string& ledgerCostSum() {
  static const std::string sql = "total(MIN(MAX(a.cost_usd, 0), " + std::to_string(kMaxAttemptCostUsd) + "))";
  return sql;
}

// Runs a report query whose columns are the group keys then the six figures.
Result<std::vector<UsageRow>> collect(Database& db, const std::string& sql, size_t keys,
                                      const std::vector<std::string>& binds) {
  auto stmt = db.prepare(sql);
  if (!stmt) {
    return stmt.takeError();
  }
  Statement st(db.handle(), stmt->get());
  for (size_t i = 0; i < binds.size(); ++i) {
    st.bind(static_cast<int>(i + 1), binds[i]);
  }
  std::vector<UsageRow> rows;
  for (;;) {
    auto row = st.step();
    if (!row) {
      return row.takeError();
    }
    if (!*row) {
      break;
    }
    UsageRow r;
    for (size_t k = 0; k < keys; ++k) {
      r.keys.push_back(st.string(static_cast<int>(k)));
    }
    r.figures = readFigures(st, static_cast<int>(keys));
    rows.push_back(std::move(r));
  }
  return rows;
}

}  // namespace

std::string UsageStore::utcDay(int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

Result<void> UsageStore::add(const UsageDelta& d) {
  const std::string day = utcDay(d.started_at);
  auto bindCommon = [&](Statement& st) {
    st.bind(1, day)
        .bindStatic(2, d.model)
        .bindStatic(3, d.client)
        .bindStatic(4, d.key_fp)
        .bind(5, d.prompt_tokens)
        .bind(6, d.completion_tokens)
        .bind(7, d.cached_tokens)
        .bind(8, d.reasoning_tokens)
        .bind(9, d.cost_usd);
  };
  {
    auto st = db_.statement(kAddDailySql);
    bindCommon(st);
    if (auto r = st.run(); !r) {
      return r;
    }
  }
  static const std::vector<std::string> kUntagged = {""};
  for (const std::string& tag : d.tags.empty() ? kUntagged : d.tags) {
    auto st = db_.statement(kAddDailyTagSql);
    bindCommon(st);
    st.bindStatic(10, tag);
    if (auto r = st.run(); !r) {
      return r;
    }
  }
  return {};
}

Result<UsageReport> UsageStore::report(const UsageQuery& asked) {
  auto horizon = ledgerHorizon();
  if (!horizon) {
    return horizon.takeError();
  }
  // An end inside a pruned day: only that day's rollup is left, so the whole day.
  UsageQuery q = asked;
  bool widened = false;
  if (q.since && *q.since < *horizon && *q.since % kDayMs != 0) {
    q.since = floorDay(*q.since);
    widened = true;
  }
  if (q.until && *q.until < *horizon && *q.until % kDayMs != 0) {
    q.until = floorDay(*q.until) + kDayMs;
    widened = true;
  }
  // The rollups hold whole UTC days: they answer when the range is whole days.
  const bool whole_days = (!q.since || *q.since % kDayMs == 0) && (!q.until || *q.until % kDayMs == 0);
  auto report = whole_days ? fromRollup(q) : mixed(q);
  if (report) {
    report->since = q.since;
    report->until = q.until;
    report->widened = widened;
  }
  return report;
}

Result<int64_t> UsageStore::ledgerHorizon() {
  auto st = db_.statement(kLedgerHorizonSql);
  auto row = st.step();
  if (!row) {
    return row.takeError();
  }
  return *row ? st.int64(0) : int64_t{0};
}

Result<int64_t> UsageStore::pruneLedger(int64_t before_ms, int64_t limit) {
  const int64_t cutoff = floorDay(before_ms);
  auto horizon = ledgerHorizon();
  if (!horizon) {
    return horizon.takeError();
  }
  if (cutoff > *horizon) {
    // First, so no reader ever sums a half-pruned day from the ledger.
    auto st = db_.statement(kSetLedgerHorizonSql);
    st.bind(1, std::to_string(cutoff));
    if (auto r = st.run(); !r) {
      return r.takeError();
    }
  }
  auto st = db_.statement(kPruneLedgerSql);
  st.bind(1, std::max(cutoff, *horizon)).bind(2, limit);
  if (auto r = st.run(); !r) {
    return r.takeError();
  }
  return static_cast<int64_t>(db_.changes());
}

Result<UsageReport> UsageStore::mixed(const UsageQuery& q) {
  const std::optional<int64_t> first_whole =
      q.since ? std::optional<int64_t>(floorDay(*q.since) + (*q.since % kDayMs != 0 ? kDayMs : 0)) : std::nullopt;
  const std::optional<int64_t> end_whole = q.until ? std::optional<int64_t>(floorDay(*q.until)) : std::nullopt;
  if (first_whole && end_whole && *first_whole >= *end_whole) {
    return fromLedger(q);  // Less than one whole day: the ledger alone.
  }
  std::vector<UsageQuery> parts;
  parts.push_back(UsageQuery{q.group_by, first_whole, end_whole});
  if (q.since && *first_whole != *q.since) {
    parts.push_back(UsageQuery{q.group_by, q.since, *first_whole});
  }
  if (q.until && *end_whole != *q.until) {
    parts.push_back(UsageQuery{q.group_by, *end_whole, q.until});
  }
  std::map<std::vector<std::string>, UsageFigures> merged;
  UsageReport out;
  out.from_ledger = true;
  for (size_t i = 0; i < parts.size(); ++i) {
    auto part = i == 0 ? fromRollup(parts[i]) : fromLedger(parts[i]);
    if (!part) {
      return part;
    }
    for (UsageRow& row : part->rows) {
      addFigures(merged[std::move(row.keys)], row.figures);
    }
    addFigures(out.totals, part->totals);
  }
  for (auto& [keys, figures] : merged) {
    out.rows.push_back(UsageRow{keys, figures});
  }
  return out;
}

Result<UsageReport> UsageStore::fromRollup(const UsageQuery& q) {
  std::string where = " WHERE 1";
  std::vector<std::string> binds;
  if (q.since) {
    binds.push_back(utcDay(*q.since));
    where += " AND day >= ?" + std::to_string(binds.size());
  }
  if (q.until) {
    binds.push_back(utcDay(*q.until));
    where += " AND day < ?" + std::to_string(binds.size());
  }
  constexpr char kSums[] =
      "total(requests), total(prompt_tokens), total(completion_tokens), total(cached_tokens), "
      "total(reasoning_tokens), total(cost_usd)";
  UsageReport out;
  out.from_rollup = true;
  if (!q.group_by.empty()) {
    std::string cols;
    for (UsageDim d : q.group_by) {
      cols += cols.empty() ? "" : ", ";
      cols += rollupColumn(d);
    }
    const char* table = hasDim(q, UsageDim::kTag) ? "usage_daily_tag" : "usage_daily";
    auto rows = collect(
        db_, "SELECT " + cols + ", " + kSums + " FROM " + table + where + " GROUP BY " + cols + " ORDER BY " + cols,
        q.group_by.size(), binds);
    if (!rows) {
      return rows.takeError();
    }
    out.rows = std::move(*rows);
  }
  auto totals = collect(db_, std::string("SELECT ") + kSums + " FROM usage_daily" + where, 0, binds);
  if (!totals) {
    return totals.takeError();
  }
  if (!totals->empty()) {
    out.totals = (*totals)[0].figures;
  }
  return out;
}

Result<UsageReport> UsageStore::fromLedger(const UsageQuery& q) {
  std::string where = std::string(" WHERE ") + kCounted;
  std::vector<std::string> binds;
  if (q.since) {
    binds.push_back(std::to_string(*q.since));
    where += " AND a.started_at >= CAST(?" + std::to_string(binds.size()) + " AS INTEGER)";
  }
  if (q.until) {
    binds.push_back(std::to_string(*q.until));
    where += " AND a.started_at < CAST(?" + std::to_string(binds.size()) + " AS INTEGER)";
  }
  const std::string sums = "COUNT(*), " + ledgerCount("a.prompt_tokens") + ", " +
                           ledgerCount("a.completion_tokens") + ", " + ledgerCount("a.cached_tokens") + ", " +
                           ledgerCount("a.reasoning_tokens") + ", " + ledgerCostSum();
  UsageReport out;
  out.from_ledger = true;
  if (!q.group_by.empty()) {
    std::string cols;
    for (UsageDim d : q.group_by) {
      cols += cols.empty() ? "" : ", ";
      cols += ledgerColumn(d);
    }
    std::string from = " FROM attempts a INDEXED BY attempts_time";
    if (hasDim(q, UsageDim::kTag)) {
      // A job without tags counts under tag "", as in the rollup.
      from += ", json_each(CASE WHEN a.tags IS NULL OR a.tags = '[]' THEN '[\"\"]' ELSE a.tags END) t";
    }
    auto rows = collect(db_,
                        "SELECT " + cols + ", " + sums + from + where + " GROUP BY " + cols + " ORDER BY " + cols,
                        q.group_by.size(), binds);
    if (!rows) {
      return rows.takeError();
    }
    out.rows = std::move(*rows);
  }
  auto totals = collect(db_, "SELECT " + sums + " FROM attempts a INDEXED BY attempts_time" + where, 0, binds);
  if (!totals) {
    return totals.takeError();
  }
  if (!totals->empty()) {
    out.totals = (*totals)[0].figures;
  }
  return out;
}

Result<double> UsageStore::spent(const SpendScope& scope, int64_t since_ms, int64_t until_ms) {
  auto horizon = ledgerHorizon();
  if (!horizon) {
    return horizon.takeError();
  }
  double total = 0;
  if (since_ms < *horizon) {
    auto old = rollupSpent(scope, since_ms, std::min(until_ms, *horizon));
    if (!old) {
      return old;
    }
    total += *old;
  }
  if (const int64_t from = std::max(since_ms, *horizon); from < until_ms) {
    auto recent = ledgerSpent(scope, from, until_ms);
    if (!recent) {
      return recent;
    }
    total += *recent;
  }
  return total;
}

Result<double> UsageStore::rollupSpent(const SpendScope& scope, int64_t since_ms, int64_t until_ms) {
  const int64_t end = until_ms % kDayMs == 0 ? until_ms : floorDay(until_ms) + kDayMs;
  std::string sql = scope.kind == SpendScope::kTag
                        ? "SELECT total(cost_usd) FROM usage_daily_tag WHERE day >= ?1 AND day < ?2"
                        : "SELECT total(cost_usd) FROM usage_daily WHERE day >= ?1 AND day < ?2";
  switch (scope.kind) {
    case SpendScope::kGlobal:
      break;
    case SpendScope::kClient:
      sql += " AND client = ?3";
      break;
    case SpendScope::kKey:
      sql += " AND key_fp = ?3";
      break;
    case SpendScope::kModel:
      sql += " AND model = ?3";
      break;
    case SpendScope::kTag:
      sql += " AND tag = ?3";
      break;
    // "NAME:" up to but excluding "NAME;" (';' follows ':'): the user's clients.
    case SpendScope::kUser:
      sql += " AND (client = ?3 OR (client > ?3 || ':' AND client < ?3 || ';'))";
      break;
  }
  auto stmt = db_.prepare(sql);
  if (!stmt) {
    return stmt.takeError();
  }
  Statement st(db_.handle(), stmt->get());
  st.bind(1, utcDay(since_ms)).bind(2, utcDay(end));
  if (scope.kind != SpendScope::kGlobal) {
    st.bind(3, scope.value);
  }
  auto row = st.step();
  if (!row) {
    return row.takeError();
  }
  return *row ? clampSum(st.real(0), kMaxCostSumUsd) : 0.0;
}

Result<double> UsageStore::ledgerSpent(const SpendScope& scope, int64_t since_ms, int64_t until_ms) {
  std::string sql = "SELECT " + ledgerCostSum() + " FROM attempts a INDEXED BY attempts_time WHERE " + kCounted +
                    " AND a.started_at >= ?1 AND a.started_at < ?2";
  switch (scope.kind) {
    case SpendScope::kGlobal:
      break;
    case SpendScope::kClient:
      sql += " AND a.client = ?3";
      break;
    case SpendScope::kKey:
      sql += " AND a.key_fingerprint = ?3";
      break;
    case SpendScope::kModel:
      sql += " AND a.model = ?3";
      break;
    case SpendScope::kTag:
      sql += " AND EXISTS (SELECT 1 FROM json_each(a.tags) WHERE json_each.value = ?3)";
      break;
    case SpendScope::kUser:
      sql += " AND (a.client = ?3 OR (a.client > ?3 || ':' AND a.client < ?3 || ';'))";
      break;
  }
  auto stmt = db_.prepare(sql);
  if (!stmt) {
    return stmt.takeError();
  }
  Statement st(db_.handle(), stmt->get());
  st.bind(1, since_ms).bind(2, until_ms);
  if (scope.kind != SpendScope::kGlobal) {
    st.bind(3, scope.value);
  }
  auto row = st.step();
  if (!row) {
    return row.takeError();
  }
  return *row ? clampSum(st.real(0), kMaxCostSumUsd) : 0.0;
}

}  // namespace llmq::store
