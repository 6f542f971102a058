// The request handlers, one file each, behind one signature. A handler
// validates its params, does its work through the Engine (daemon/engine.h), and answers through
// call.reply exactly once, now or later.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/json.h"
#include "common/result.h"
#include "daemon/turn/responder.h"
#include "ipc/peer.h"
#include "store/job_record.h"

namespace llmq::daemon {

struct Engine;
enum class BudgetPeriod;

struct Call {
  Engine& s;
  uint64_t conn_id;
  const ipc::PeerCred& peer;
  const json::Value* params;  // Object, array or nullptr.
  Responder reply;
};

using Handler = void (*)(Call& call);

void handleJobSubmit(Call& call);
void handleJobGet(Call& call);
void handleJobList(Call& call);
void handleJobCancel(Call& call);
void handleJobRetry(Call& call);
void handleEventsSubscribe(Call& call);
void handleEventsUnsubscribe(Call& call);
void handleQueuePause(Call& call);
void handleQueueResume(Call& call);
void handleDaemonStatus(Call& call);
void handleKeysStatus(Call& call);
void handleKeysReset(Call& call);
void handleBreakersReset(Call& call);
void handleModelsList(Call& call);
void handleModelsStats(Call& call);
void handleUsageReport(Call& call);
void handleBudgetSet(Call& call);
void handleBudgetList(Call& call);
void handleBudgetDelete(Call& call);
void handleDbBackup(Call& call);

// Ends an unfinished job as cancelled (aborting its transfer if it runs), in the
// turn's transaction; job.cancel and cancel_on_disconnect share it.
Result<store::JobRecord> cancelJob(Engine& s, store::JobRecord job, std::string_view reason);

// Shared by handlers: answer a failed store operation (-32006 when the disk is
// full or the database failed, -32603 otherwise).
void replyStoreError(const Call& call, const Error& error, const char* what);
// budget.set and budget.delete, before they change a budget: if the turn is
// lost, the change goes from memory too (BudgetBook::noteChange).
void noteBudgetChange(Engine& s, const std::string& scope, BudgetPeriod period);
// Reads params.job_id (allowing only `extra` params besides it) and loads the
// job; answers the error itself and returns nullopt when it cannot.
std::optional<store::JobRecord> loadJobParam(Call& call, bool with_include_request = false);

}  // namespace llmq::daemon
