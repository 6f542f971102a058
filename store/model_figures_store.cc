// ModelFiguresStore: two reads of the ledger. The window's samples walk the
// attempts_time index from its newest row back to `since`; the daily figures
// group the same range by day, provider and model. Sums are total()s (doubles,
// which cannot overflow as SUM() does) clamped like every usage sum
// (common/usage_bounds.h): an old row may hold unclamped figures.
#include "store/model_figures_store.h"

#include <algorithm>

#include "common/usage_bounds.h"
#include "store/database.h"

namespace llmq::store {
namespace {

constexpr char kSamplesSql[] =
    "SELECT provider, model, outcome = 'succeeded', latency_ms, ttft_ms, "
    "coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0), coalesce(cost_usd, 0) "
    "FROM attempts INDEXED BY attempts_time "
    "WHERE started_at >= ?1 AND cached = 0 AND outcome != 'running' "
    "ORDER BY started_at DESC LIMIT ?2";

constexpr char kDailySql[] =
    "SELECT strftime('%Y-%m-%d', started_at / 1000, 'unixepoch') AS day, provider, model, count(*), "
    "total(outcome = 'succeeded'), avg(latency_ms), avg(ttft_ms), "
    "total(prompt_tokens) + total(completion_tokens), total(cost_usd) "
    "FROM attempts INDEXED BY attempts_time "
    "WHERE started_at >= ?1 AND cached = 0 AND outcome != 'running' "
    "GROUP BY day, provider, model ORDER BY day, provider, model LIMIT ?2";

// A figure read back from one row: within [0, cap].
int64_t bounded(int64_t v, int64_t cap) { return std::clamp<int64_t>(v, 0, cap); }

std::optional<int64_t> optionalMs(const Statement& st, int col) {
  return st.isNull(col) ? std::nullopt : std::optional<int64_t>(bounded(st.int64(col), INT64_MAX / 2));
}

std::optional<double> optionalMean(const Statement& st, int col) {
  return st.isNull(col) ? std::nullopt : std::optional<double>(clampSum(st.real(col), kMaxTokenSum));
}

}  // namespace

Result<void> ModelFiguresStore::samples(int64_t since_ms, int64_t limit,
                                        const std::function<void(const AttemptSample&)>& each) {
  auto st = db_.statement(kSamplesSql);
  st.bind(1, since_ms).bind(2, limit);
  AttemptSample s;
  for (;;) {
    auto row = st.step();
    if (!row) {
      return row.takeError();
    }
    if (!*row) {
      return {};
    }
    s.provider = st.string(0);
    s.model = st.string(1);
    s.succeeded = st.int64(2) != 0;
    s.latency_ms = optionalMs(st, 3);
    s.ttft_ms = optionalMs(st, 4);
    s.tokens = bounded(st.int64(5), 2 * kMaxAttemptTokens);
    s.cost_usd = clampAttemptCost(st.real(6));
    each(s);
  }
}

Result<std::vector<DailyModelFigures>> ModelFiguresStore::daily(int64_t since_ms, int64_t limit) {
  auto st = db_.statement(kDailySql);
  st.bind(1, since_ms).bind(2, limit);
  std::vector<DailyModelFigures> out;
  for (;;) {
    auto row = st.step();
    if (!row) {
      return row.takeError();
    }
    if (!*row) {
      return out;
    }
    DailyModelFigures d;
    d.day = st.string(0);
    d.provider = st.string(1);
    d.model = st.string(2);
    d.requests = st.int64(3);
    d.successes = static_cast<int64_t>(clampSum(st.real(4), kMaxTokenSum));
    d.mean_latency_ms = optionalMean(st, 5);
    d.mean_ttft_ms = optionalMean(st, 6);
    d.tokens = static_cast<int64_t>(clampSum(st.real(7), kMaxTokenSum));
    d.cost_usd = clampSum(st.real(8), kMaxCostSumUsd);
    out.push_back(std::move(d));
  }
}

}  // namespace llmq::store
