// budget.delete {scope, period} -> {deleted: true}; -32001 when there is no such
// budget. Jobs it held go back to the queue.
#include "daemon/api/handlers/handlers.h"
#include "daemon/engine.h"
#include "daemon/policy/accounting.h"
#include "daemon/policy/budget_book.h"
#include "daemon/turn/commit_cycle.h"
#include "ipc/protocol.h"

namespace llmq::daemon {

void handleBudgetDelete(Call& call) {
  ipc::Params p(call.params);
  p.allowOnly({"scope", "period"});
  auto scope = p.string("scope", true, ipc::kMaxNameBytes + 8);
  auto period = p.string("period", true, 16);
  BudgetPeriod bp = BudgetPeriod::kMonth;
  if (p.ok() && !parseBudgetPeriod(*period, &bp)) {
    p.fail("period must be day, week, month or total");
  }
  if (!p.ok()) {
    call.reply.fail(ipc::rpc::kInvalidParams, p.error());
    return;
  }
  if (auto w = call.s.cycle->write(); !w) {
    replyStoreError(call, w.error(), "deleting the budget");
    return;
  }
  noteBudgetChange(call.s, std::string(*scope), bp);
  auto removed = call.s.budgets->remove(std::string(*scope), bp);
  if (!removed) {
    replyStoreError(call, removed.error(), "deleting the budget");
    return;
  }
  if (!*removed) {
    call.reply.fail(ipc::rpc::kNotFound, "no budget " + std::string(*scope) + "/" + std::string(*period),
                    "NOT_FOUND");
    return;
  }
  call.s.accounting->budgetsChanged();
  call.reply.okAfterCommit("{\"deleted\":true}");
}

}  // namespace llmq::daemon
