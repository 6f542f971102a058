// budget.set {scope, period, limit_usd, alert_at?, action?} -> budget object
// (ipc/PROTOCOL.md). Creates the budget or replaces its limit, alerts and action; what
// was spent this period stays spent. Raising a limit lets held jobs try again.
#include "common/time.h"
#include "daemon/api/handlers/handlers.h"
#include "daemon/engine.h"
#include "daemon/policy/accounting.h"
#include "daemon/policy/budget_book.h"
#include "daemon/turn/commit_cycle.h"
#include "ipc/protocol.h"

namespace llmq::daemon {

void noteBudgetChange(Engine& s, const std::string& scope, BudgetPeriod period) {
  if (s.budgets->noteChange(scope, period)) {
    s.cycle->afterCommit([&s](bool committed) {
      s.budgets->endTurn(committed);
      if (!committed) {
        s.accounting->budgetsRestored();
      }
    });
  }
}

void handleBudgetSet(Call& call) {
  ipc::Params p(call.params);
  p.allowOnly({"scope", "period", "limit_usd", "alert_at", "action"});
  auto scope = p.string("scope", true, ipc::kMaxNameBytes + 8);
  auto period = p.string("period", true, 16);
  auto limit = p.number("limit_usd", 0, 1e12, true);
  auto action = p.string("action", false, 16);
  std::vector<double> alert_at;
  if (const json::Value* a =
          call.params != nullptr && call.params->IsObject() ? json::member(*call.params, "alert_at") : nullptr) {
    if (!a->IsArray()) {
      p.fail("alert_at must be an array of fractions in (0, 1]");
    } else {
      for (const auto& f : a->GetArray()) {
        if (!f.IsNumber() || f.GetDouble() <= 0 || f.GetDouble() > 1) {
          p.fail("alert_at must be an array of fractions in (0, 1]");
          break;
        }
        alert_at.push_back(f.GetDouble());
      }
    }
  }
  store::SpendScope parsed;
  BudgetPeriod bp = BudgetPeriod::kMonth;
  BudgetAction ba = BudgetAction::kReject;
  if (p.ok()) {
    std::string error;
    if (!BudgetBook::parseScope(*scope, &parsed, &error)) {
      p.fail(error);
    } else if (!parseBudgetPeriod(*period, &bp)) {
      p.fail("period must be day, week, month or total");
    } else if (action && *action != "reject" && *action != "hold") {
      p.fail("action must be reject or hold");
    }
    ba = action && *action == "hold" ? BudgetAction::kHold : BudgetAction::kReject;
  }
  if (!p.ok()) {
    call.reply.fail(ipc::rpc::kInvalidParams, p.error());
    return;
  }
  if (auto w = call.s.cycle->write(); !w) {
    replyStoreError(call, w.error(), "setting the budget");
    return;
  }
  noteBudgetChange(call.s, std::string(*scope), bp);
  auto b = call.s.budgets->set(std::string(*scope), bp, *limit, std::move(alert_at), ba, call.s.clock.nowMs());
  if (!b) {
    replyStoreError(call, b.error(), "setting the budget");
    return;
  }
  std::string out = BudgetBook::json(**b);
  call.s.accounting->budgetsChanged();
  call.reply.okAfterCommit(std::move(out));
}

}  // namespace llmq::daemon
