// Accounting: pricing, rollups, budget settlement, alerts and period rollover.
#include "daemon/policy/accounting.h"

#include <algorithm>
#include <cstdio>

#include "common/callback_guard.h"
#include "common/json.h"
#include "common/log.h"
#include "common/text.h"
#include "common/time.h"
#include "common/usage_bounds.h"
#include "daemon/config.h"
#include "daemon/policy/budget_book.h"
#include "daemon/policy/model_catalog.h"
#include "daemon/policy/request_estimate.h"
#include "daemon/turn/commit_cycle.h"
#include "store/store.h"

namespace llmq::daemon {
namespace {}  // namespace

Accounting::Accounting(Parts parts)
    : p_(parts), rollover_(makeUvHandle<uv_timer_t>(parts.loop, this, uv_timer_init)) {}

void Accounting::close() { rollover_.reset(); }

Result<void> Accounting::init() {
  const int64_t now = p_.clock.nowMs();
  if (auto r = p_.budgets.load(now); !r) {
    return r;
  }
  if (p_.config.cost_budget_usd) {
    // OPENROUTER_COST_BUDGET_USD: a global monthly budget, refused at the limit.
    if (auto r = p_.budgets.ensure("global", BudgetPeriod::kMonth, *p_.config.cost_budget_usd,
                                   BudgetAction::kReject, now);
        !r) {
      return r;
    }
  }
  armRollover();
  return {};
}

const Pricing* Accounting::pricing(std::string_view model) const {
  const ModelInfo* info = p_.catalog.find(model);
  return info != nullptr && info->pricing.known ? &info->pricing : nullptr;
}

std::optional<double> Accounting::worstCaseUsd(const RequestTokens& tokens, std::string_view model) const {
  const ModelInfo* info = p_.catalog.find(model);
  if (info == nullptr || !info->pricing.known) {
    return std::nullopt;
  }
  const int64_t prompt = tokens.prompt;
  int64_t completion = tokens.completion.value_or(0);
  if (!tokens.completion) {
    completion = info->max_completion_tokens > 0 ? info->max_completion_tokens
                 : info->context_length > prompt ? info->context_length - prompt
                                                 : kDefaultMaxCompletion;
  }
  return llmq::worstCaseUsd(info->pricing, prompt, completion);
}

double Accounting::cost(const upstream::Usage& usage, std::string_view model, const char** source) const {
  // Both figures are clamped (kMaxAttemptCostUsd): the upstream's own,
  // and the catalog's price times counts that are themselves bounded.
  if (usage.cost_reported) {
    *source = "upstream";
    return clampAttemptCost(usage.cost_usd);
  }
  if (const Pricing* p = pricing(model); p != nullptr) {
    *source = "catalog";
    return clampAttemptCost(costUsd(
        *p, TokenCounts{usage.prompt_tokens, usage.completion_tokens, usage.cache_read, usage.cache_write}));
  }
  *source = "none";
  return 0;
}

store::UsageDelta Accounting::usageDelta(const store::JobRecord& job, const std::vector<std::string>& tags,
                                         const store::AttemptRecord& attempt) {
  store::UsageDelta d;
  d.started_at = attempt.started_at;
  d.model = attempt.model;
  d.client = job.client;
  d.key_fp = attempt.key_fingerprint;
  d.tags = tags;
  if (attempt.usage) {
    d.prompt_tokens = attempt.usage->prompt_tokens;
    d.completion_tokens = attempt.usage->completion_tokens;
    d.cost_usd = attempt.usage->cost_usd;
  }
  d.cached_tokens = attempt.cached_tokens;
  d.reasoning_tokens = attempt.reasoning_tokens;
  return d;
}

Accounting::Charged Accounting::charge(const store::JobRecord& job, const std::vector<std::string>& tags,
                                       const store::AttemptRecord& attempt, BudgetReservation& reservation,
                                       const Spender& who, bool reached) {
  Charged out;
  const double cost_usd = attempt.usage ? attempt.usage->cost_usd : 0.0;
  out.counted = reached || cost_usd > 0;
  if (out.counted) {
    if (auto r = p_.store.addUsage(usageDelta(job, tags, attempt)); !r) {
      LOG_ERROR("recording the usage of %s: %s", ipc::formatJobId(job.id).c_str(), r.error().message.c_str());
    }
  }
  out.alerts = p_.budgets.settle(reservation, who, cost_usd, attempt.started_at);
  for (const BudgetAlert& a : out.alerts) {
    LOG_NOTICE("budget %s/%s reached %.0f%% of its limit: $%s of $%s", a.scope.c_str(), a.period.c_str(),
               a.fraction * 100, decimal(a.spent_usd).c_str(), decimal(a.limit_usd).c_str());
  }
  return out;
}

void Accounting::releaseHeld() {
  if (auto w = p_.cycle.write(); !w) {
    LOG_ERROR("releasing held jobs: %s", w.error().message.c_str());
    return;
  }
  auto n = p_.store.releaseHeld();
  if (!n) {
    LOG_ERROR("releasing held jobs: %s", n.error().message.c_str());
    return;
  }
  if (*n > 0) {
    LOG_INFO("%lld held jobs go back to the queue", static_cast<long long>(*n));
    if (on_released) {
      on_released(*n);
    }
  }
}

void Accounting::budgetsChanged() {
  armRollover();
  releaseHeld();
}

void Accounting::armRollover() {
  if (!rollover_) {
    return;
  }
  const int64_t at = p_.budgets.nextRollover();
  if (at == INT64_MAX) {
    uv_timer_stop(rollover_.get());
    return;
  }
  // Timers run on the monotonic clock; re-check the wall clock at least hourly so
  // a clock step or a suspend does not leave a period running long.
  const int64_t wait = std::clamp<int64_t>(at - p_.clock.nowMs(), 0, 3'600'000);
  uv_timer_start(rollover_.get(), &Accounting::onUvRollover, static_cast<uint64_t>(wait), 0);
}

// Called by libuv when the earliest budget period may have ended.
// A period rolled over in memory whose held jobs were not released cannot be
// set right from here: an exception stops the process (common/callback_guard.h).
void Accounting::onUvRollover(uv_timer_t* t) noexcept {
  guardCallbackOrAbort("rolling budget periods over", [t] { static_cast<Accounting*>(t->data)->rollOver(); });
}

void Accounting::rollOver() {
  if (p_.budgets.roll(p_.clock.nowMs())) {
    LOG_INFO("a budget period rolled over");
    releaseHeld();
  }
  armRollover();
}

}  // namespace llmq::daemon
