// budget.list {} -> {budgets: [budget object]}: each with spent_usd (this period,
// from the ledger), reserved_usd (attempts in flight), remaining_usd and resets_at.
#include "daemon/access.h"
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
  const Access& access = *call.s.access;
  if (access.isAdmin(call.peer)) {
    call.reply.ok("{\"budgets\":" + call.s.budgets->listJson() + "}");
    return;
  }
  // Anyone else sees the budgets that are theirs (user:SELF, client:SELF and
  // client:SELF:...) and those shared by every job (global, model:); never
  // another user's, nor key: or tag: budgets (key names and tags of others).
  const std::string& self = call.peer.user;
  call.reply.ok("{\"budgets\":" + call.s.budgets->listJson([&](const Budget& b) {
    using store::SpendScope;
    switch (b.scope.kind) {
      case SpendScope::kGlobal:
      case SpendScope::kModel: return true;
      case SpendScope::kUser: return b.scope.value == self;
      case SpendScope::kClient: return BudgetBook::coversClient(self, b.scope.value);
      case SpendScope::kKey:
      case SpendScope::kTag: return false;
    }
    return false;
  }) + "}");
}

}  // namespace llmq::daemon
