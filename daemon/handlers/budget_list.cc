// budget.list {} -> {budgets: [budget object]}: each with spent_usd (this period,
// from the ledger), reserved_usd (attempts in flight), remaining_usd and resets_at.
#include "daemon/budget_book.h"
#include "daemon/handlers/handlers.h"
#include "daemon/services.h"
#include "ipc/protocol.h"

namespace llmq::daemon {

void handleBudgetList(Call& call) {
  ipc::Params p(call.params);
  p.allowOnly({});
  if (!p.ok()) {
    call.reply.fail(ipc::rpc::kInvalidParams, p.error());
    return;
  }
  call.reply.ok("{\"budgets\":" + call.s.budgets->listJson() + "}");
}

}  // namespace llmq::daemon
