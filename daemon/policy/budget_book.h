// daemon::BudgetBook: budgets that cannot be overspent (docs/money.md, Budgets). Each budget
// has a scope (global, client:, user:, key:, model:, tag:), a calendar period (day,
// week from Monday, month, or total) in the daemon's time zone, a limit and an
// action. It keeps, in memory, what was spent this period (loaded from the
// ledger at startup, then added to as attempts end) and what is reserved by
// attempts in flight.
//
// Before an attempt goes, its worst-case cost is reserved against every budget
// that covers it, and only if each can take it: spent + reserved + worst <= limit.
// Since reservation and check happen together on the loop thread, no number of
// concurrent jobs can push spending past a limit (as long as the worst case holds:
// the upstream's reported cost is trusted, and the catalog prices the rest). When
// the attempt ends the reservation is replaced by the real cost.
//
// Time is passed in, so periods roll over under an injected clock in tests.
// Loop thread only; callers open the turn's write (CommitCycle) before calls that
// write (set, remove, settle's alert bookkeeping).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "store/budget_row.h"
#include "store/usage_report.h"

namespace llmq::store {
class Store;
}  // namespace llmq::store

namespace llmq::daemon {

enum class BudgetPeriod { kDay, kWeek, kMonth, kTotal };
enum class BudgetAction { kReject, kHold };

const char* budgetPeriodName(BudgetPeriod p);
bool parseBudgetPeriod(std::string_view s, BudgetPeriod* out);

// The start of the calendar period that holds `now_ms` in the process's local time
// zone (TZ), and the start of the next one (INT64_MAX for kTotal, which starts at 0).
int64_t periodStart(BudgetPeriod p, int64_t now_ms);
int64_t periodEnd(BudgetPeriod p, int64_t now_ms);

// Who is spending: matched against budget scopes.
struct Spender {
  std::string_view client;
  std::string_view model;     // The model this attempt asks for.
  std::string_view key_name;  // "pool-1", "server", ...; "" when no server key.
  std::string_view key_fp;    // Its fingerprint ("user:<fp>" style for BYOK is not matched).
  const std::vector<std::string>* tags = nullptr;
};

struct Budget {
  uint64_t id = 0;  // Stable while the daemon runs; reservations name budgets by it.
  store::BudgetRow row;
  store::SpendScope scope;
  BudgetPeriod period = BudgetPeriod::kMonth;
  BudgetAction action = BudgetAction::kReject;
  int64_t period_start = 0;
  int64_t period_end = INT64_MAX;
  double spent = 0;
  double reserved = 0;
  int64_t reservations = 0;  // Attempts holding part of `reserved`.

  double remaining() const { return row.limit_usd - spent - reserved; }
  // What is left once the attempts in flight have ended (if each cost nothing).
  double unspent() const { return row.limit_usd - spent; }
};

// What one attempt has reserved against the budgets (active until settled).
struct BudgetReservation {
  std::vector<uint64_t> budgets;
  double usd = 0;
  bool active = false;
};

// A fraction of a budget's limit was crossed: one budget_alert event.
struct BudgetAlert {
  std::string scope;
  std::string period;
  double spent_usd = 0;
  double limit_usd = 0;
  double fraction = 0;
};

class BudgetBook {
 public:
  // `key_fingerprint` resolves a key name of a `key:NAME` scope to the fingerprint
  // the ledger records (a name it does not know is taken as a fingerprint).
  // The budgets and the ledger's sums come from `store`.
  BudgetBook(store::Store& store, std::function<std::string(std::string_view)> key_fingerprint);

  // Loads the budgets and what each spent so far this period.
  Result<void> load(int64_t now_ms);
  // Ensures a budget exists with exactly this limit (OPENROUTER_COST_BUDGET_USD).
  Result<void> ensure(const std::string& scope, BudgetPeriod period, double limit_usd, BudgetAction action,
                      int64_t now_ms);

  bool empty() const { return budgets_.empty(); }
  // True when some budget covers the spender.
  bool covers(const Spender& who) const;

  // At submit: the first `reject` budget covering `who` whose unspent part cannot
  // take `worst_usd`, or nullptr. (Room held by running attempts may come back.)
  const Budget* refuses(const Spender& who, double worst_usd) const;

  enum class Outcome { kReserved, kWait, kHold, kReject };
  // At dispatch: reserves `worst_usd` against every budget covering `who`, or none
  // of them. kWait: only the reservations of running attempts stand in the way,
  // so try again when one ends. kHold / kReject: the budget is spent, and
  // `*blocking` is the budget that could not take it (reject wins over hold).
  Outcome reserve(const Spender& who, double worst_usd, BudgetReservation* out, const Budget** blocking);
  // The attempt that held `r` ended having cost `cost_usd` (0 if nothing was billed),
  // and started at `started_at`: the cost counts in periods that hold that time.
  // Returns the alert fractions crossed (each once per period, persisted).
  std::vector<BudgetAlert> settle(BudgetReservation& r, const Spender& who, double cost_usd, int64_t started_at);

  // Rolls every budget whose period ended by `now_ms` into its new period (spent 0,
  // alerts cleared). Returns true if any did: held jobs may go now.
  bool roll(int64_t now_ms);
  // The earliest period end, or INT64_MAX.
  int64_t nextRollover() const;

  // budget.set: creates or replaces; returns the budget. A raised limit may free
  // held jobs (the caller releases them).
  Result<const Budget*> set(const std::string& scope, BudgetPeriod period, double limit_usd,
                            std::vector<double> alert_at, BudgetAction action, int64_t now_ms);
  // budget.delete: false if there was none.
  Result<bool> remove(const std::string& scope, BudgetPeriod period);

  // set() and remove() change memory along with their write. If the turn holding
  // that write is lost (a full disk), its caller answers -32006 and the change
  // must go from memory too. So budget.set and budget.delete call noteChange()
  // before changing a budget; it remembers the budget as it was before the
  // turn's first change to it, and returns true for the turn's first change of
  // any budget, when the caller queues endTurn() with the turn's commit.
  // endTurn(false) puts back each budget's definition (limit, alerts, action),
  // its absence, or the budget itself; spending and reservations stay as they
  // are, since they record what happened meanwhile (a budget removed in the
  // turn is still settled against until the turn ends).
  bool noteChange(const std::string& scope, BudgetPeriod period);
  void endTurn(bool committed);

  // budget objects: {scope, period, limit_usd, spent_usd, reserved_usd,
  // remaining_usd, alert_at, action, resets_at}
  static std::string json(const Budget& b);
  // Every budget, in no particular order.
  const std::vector<Budget>& budgets() const { return budgets_; }
  // Those `visible` lets through (all when it is empty).
  std::string listJson(const std::function<bool(const Budget&)>& visible = {}) const;
  // A user:USER scope covers client USER and every USER:... (daemon/policy/access.h).
  static bool coversClient(std::string_view user, std::string_view client);

  // Parses a scope ("global", "client:NAME", ...); false with a message if bad.
  static bool parseScope(std::string_view text, store::SpendScope* out, std::string* error);

 private:
  bool matches(const Budget& b, const Spender& who) const;
  // An attempt of `who` that started at `started_at` spends against `b`.
  bool charges(const Budget& b, const Spender& who, int64_t started_at) const {
    return matches(b, who) && started_at >= b.period_start;
  }
  Budget* find(uint64_t id);
  // The budget with this scope and period, or budgets_.end().
  std::vector<Budget>::iterator findByKey(const std::string& scope, BudgetPeriod period);
  Result<Budget> make(const store::BudgetRow& row, int64_t now_ms);

  store::Store& store_;
  std::function<std::string(std::string_view)> key_fingerprint_;
  std::vector<Budget> budgets_;
  // This turn's changes (noteChange): each budget as it was before the turn's
  // first change to it (nullopt: it did not exist), and the budgets removed.
  struct Undo {
    std::string scope;
    BudgetPeriod period = BudgetPeriod::kMonth;
    std::optional<Budget> before;
  };
  std::vector<Undo> undo_;
  std::vector<Budget> removed_;
  uint64_t next_id_ = 1;
};

}  // namespace llmq::daemon
