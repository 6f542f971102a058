// models.list {refresh?, filter?, limit?, cursor?} -> {models, fetched_at,
// next_cursor}: the catalog the daemon prices jobs with, paged (the upstream
// decides how long it is; daemon/turn/answer_page.h). With refresh: true the answer waits for a fresh fetch of
// OpenRouter's model list, and is an error if that fetch fails (the previous
// catalog stays in use either way).
#include <string>

#include "daemon/api/handlers/handlers.h"
#include "daemon/config.h"
#include "daemon/engine.h"
#include "daemon/policy/access.h"
#include "daemon/policy/model_catalog.h"
#include "daemon/turn/answer_page.h"
#include "ipc/protocol.h"

namespace llmq::daemon {
namespace {

// The most models one page holds (and the default `limit`).
constexpr int64_t kMaxModelsPerPage = 10000;
constexpr int64_t kUserRefreshEveryMs = 60000;

}  // namespace

void handleModelsList(Call& call) {
  ipc::Params p(call.params);
  p.allowOnly({"refresh", "filter", "limit", "cursor"});
  auto refresh = p.boolean("refresh");
  auto filter = p.string("filter", false, 256);
  PageRequest request = readPageParams(p, kMaxModelsPerPage, 2);
  if (!p.ok()) {
    call.reply.fail(ipc::rpc::kInvalidParams, p.error());
    return;
  }
  ModelCatalog& catalog = *call.s.catalog;
  // Copied: the params die with this frame, the answer may come later.
  std::string text(filter.value_or(""));
  // A refresh fetches from the upstream with the server's key: anyone but an
  // administrator gets the catalog in use when a fetch began less than
  // kUserRefreshEveryMs ago (or is under way), so no user can make llmqd fetch
  // more often than that, or pile up answers waiting for one fetch.
  if (!refresh.value_or(false) ||
      (catalog.refreshedWithin(kUserRefreshEveryMs) && !call.s.access->isAdmin(call.peer))) {
    call.reply.ok(catalog.listPage(text, request, call.s.config.max_answer_bytes));
    return;
  }
  if (call.s.run.shutting_down) {
    call.reply.fail(ipc::rpc::kOverloaded, "llmqd is shutting down; ask again once it is back");
    return;
  }
  // The catalog outlives every callback it owes: close() answers them first.
  catalog.refresh([reply = call.reply, &s = call.s, &catalog, text = std::move(text),
                   request = std::move(request)](const Result<size_t>& r) {
    if (!r && s.run.shutting_down) {
      reply.fail(ipc::rpc::kOverloaded, "llmqd is shutting down; ask again once it is back");
      return;
    }
    if (!r) {
      reply.fail(ipc::rpc::kInternalError,
                 "refreshing the model catalog failed (the previous one stays in use): " + r.error().message,
                 "UPSTREAM_ERROR");
      return;
    }
    reply.ok(catalog.listPage(text, request, s.config.max_answer_bytes));
  });
}

}  // namespace llmq::daemon
