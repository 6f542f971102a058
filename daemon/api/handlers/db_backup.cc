// db.backup {path} -> {path, bytes, pages, duration_ms}: an online copy of the
// database into `path` (absolute, must not exist), answered when complete. The
// copy is a self-contained SQLite file: stop llmqd and put it in place of the
// database to restore it.
#include "daemon/db_backup.h"
#include "daemon/api/handlers/handlers.h"
#include "daemon/engine.h"
#include "ipc/protocol.h"

namespace llmq::daemon {

void handleDbBackup(Call& call) {
  ipc::Params p(call.params);
  p.allowOnly({"path"});
  auto path = p.string("path", true, 4096);
  if (p.ok() && (path->empty() || (*path)[0] != '/')) {
    p.fail("path must be absolute: llmqd's working directory is not yours");
  }
  if (!p.ok()) {
    call.reply.fail(ipc::rpc::kInvalidParams, p.error());
    return;
  }
  if (call.s.run.shutting_down) {
    call.reply.fail(ipc::rpc::kOverloaded, "llmqd is shutting down");
    return;
  }
  call.s.backup->start(std::string(*path), call.reply);
}

}  // namespace llmq::daemon
