// budget.list {limit?, cursor?} -> {budgets: [budget object], next_cursor}: each
// with spent_usd (this period, from the ledger), reserved_usd (attempts in
// flight), remaining_usd and resets_at. Ordered by scope then period (day, week,
// month, total) and paged by them (daemon/turn/answer_page.h).
#include <algorithm>
#include <vector>

#include "daemon/api/handlers/handlers.h"
#include "daemon/config.h"
#include "daemon/engine.h"
#include "daemon/policy/access.h"
#include "daemon/policy/budget_book.h"
#include "daemon/turn/answer_page.h"
#include "ipc/protocol.h"

namespace llmq::daemon {
namespace {

// The most budgets one page holds (and the default `limit`).
constexpr int64_t kMaxBudgetsPerPage = 10000;

// A budget's place in the list: its scope, then its period in the order of
// BudgetPeriod (day, week, month, total).
PageKey budgetKey(const Budget& b) { return {b.row.scope, std::to_string(static_cast<int>(b.period))}; }

}  // namespace

void handleBudgetList(Call& call) {
  ipc::Params p(call.params);
  p.allowOnly({"limit", "cursor"});
  const PageRequest request = readPageParams(p, kMaxBudgetsPerPage, 2);
  if (!p.ok()) {
    call.reply.fail(ipc::rpc::kInvalidParams, p.error());
    return;
  }
  const Access& access = *call.s.access;
  const bool admin = access.isAdmin(call.peer);
  // Anyone else sees the budgets that are theirs (user:SELF, client:SELF and
  // client:SELF:...) and those shared by every job (global, model:); never
  // another user's, nor key: or tag: budgets (key names and tags of others).
  const std::string& self = call.peer.user;
  auto visible = [&](const Budget& b) {
    if (admin) {
      return true;
    }
    using store::SpendScope;
    switch (b.scope.kind) {
      case SpendScope::kGlobal:
      case SpendScope::kModel:
        return true;
      case SpendScope::kUser:
        return b.scope.value == self;
      case SpendScope::kClient:
        return BudgetBook::coversClient(self, b.scope.value);
      case SpendScope::kKey:
      case SpendScope::kTag:
        return false;
    }
    return false;
  };
  std::vector<std::pair<PageKey, const Budget*>> rows;
  for (const Budget& b : call.s.budgets->budgets()) {
    if (visible(b)) {
      PageKey key = budgetKey(b);
      if (request.after && !(key > *request.after)) {
        continue;
      }
      rows.emplace_back(std::move(key), &b);
    }
  }
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  AnswerPage page(request, call.s.config.max_answer_bytes, "{\"budgets\":[", 0);
  for (const auto& [key, b] : rows) {
    if (!page.add(BudgetBook::json(*b), key)) {
      break;
    }
  }
  call.reply.ok(page.finish(""));
}

}  // namespace llmq::daemon
