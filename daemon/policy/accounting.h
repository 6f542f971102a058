// daemon::Accounting: what an attempt costs and where that goes (docs/money.md, budgets). It prices attempts (the
// upstream's usage.cost when it reports one, else the catalog's prices), writes the ledger's rollups, turns budget
// reservations into real spending, sends budget_alert events, rolls budget periods over on a timer and lets held
// jobs go when a budget frees up.
//
// Loop thread only. Calls that write expect the turn's write to be open
// (CommitCycle::write()).
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/pricing.h"
#include "common/result.h"
#include "common/uv_handle.h"
#include "daemon/policy/budget_book.h"
#include "daemon/policy/request_estimate.h"
#include "store/job_record.h"
#include "store/usage_report.h"
#include "upstream/provider.h"

namespace llmq {
class Clock;
namespace store {
class Store;
}  // namespace store
}  // namespace llmq

namespace llmq::daemon {

struct Config;
class CommitCycle;
class ModelCatalog;

class Accounting {
 public:
  // Completion tokens assumed when neither the request (max_tokens) nor the
  // catalog (max completion / context length) bounds them.
  static constexpr int64_t kDefaultMaxCompletion = 4096;

  // What it prices with, writes to and keeps the budgets in.
  struct Parts {
    uv_loop_t* loop;
    const Config& config;
    const Clock& clock;
    CommitCycle& cycle;
    store::Store& store;
    BudgetBook& budgets;
    const ModelCatalog& catalog;
  };
  explicit Accounting(Parts parts);
  // Loads the budgets (and applies OPENROUTER_COST_BUDGET_USD), arms the rollover timer.
  Result<void> init();
  void close();

  // The model's prices, or nullptr when none are known.
  const Pricing* pricing(std::string_view model) const;
  // The most a request of these tokens (its facts' prompt estimate plus
  // max_tokens, else the model's longest completion) can cost on `model` at
  // catalog prices. nullopt: no price known.
  std::optional<double> worstCaseUsd(const RequestTokens& tokens, std::string_view model) const;
  // What a finished request cost, and how that is known ("upstream", "catalog", "none").
  double cost(const upstream::Usage& usage, std::string_view model, const char** source) const;

  // An attempt ended. When it reached the upstream (`reached`) or was billed, it
  // counts in the usage rollups, by the same rule that counts its ledger row
  // (store/usage_store.cc kCounted), so the rollups can stand in for pruned ledger
  // days (`counted`); its reservation becomes its cost; the alert fractions it
  // crossed are returned (logged here; the caller announces them as
  // budget_alert events of its job).
  struct Charged {
    bool counted = false;
    std::vector<BudgetAlert> alerts;
  };
  Charged charge(const store::JobRecord& job, const std::vector<std::string>& tags,
                 const store::AttemptRecord& attempt, BudgetReservation& reservation, const Spender& who,
                 bool reached);
  // What a counted attempt adds to the usage rollups.
  static store::UsageDelta usageDelta(const store::JobRecord& job, const std::vector<std::string>& tags,
                                      const store::AttemptRecord& attempt);

  // Held jobs go back to the queue (a budget was raised, deleted or rolled over);
  // those that still cannot go are held again when they come up. `on_released`
  // (set by the Daemon) is told how many went, once they are queued in the
  // store: the job counters and the scheduler follow.
  void releaseHeld();
  std::function<void(int64_t released)> on_released;
  // After budget.set / budget.delete: the rollover timer follows the budgets.
  void budgetsChanged();
  // A lost turn's budget changes were taken back (BudgetBook::endTurn): only the
  // rollover timer follows; nothing is written to a database that just failed.
  void budgetsRestored() { armRollover(); }

 private:
  void armRollover();
  static void onUvRollover(uv_timer_t* t) noexcept;
  // Starts the budget periods that have ended, releases what they held, re-arms.
  void rollOver();

  Parts p_;
  UvHandlePtr<uv_timer_t> rollover_;
};

}  // namespace llmq::daemon
