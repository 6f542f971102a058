// `llmq status`: the daemon's state (daemon.status), with a warning on stderr when
// llmqd speaks another protocol version than this llmq.
#include <cstdio>

#include "clients/cli/commands/commands.h"
#include "clients/cli/fields.h"
#include "clients/cli/output.h"
#include "clients/cli/session.h"
#include "clients/cli/usage_error.h"
#include "llmq/version.h"

namespace llmq::cli {

ExitCode runStatus(ArgReader& args, GlobalOptions& globals) {
  while (args.next()) {
    args.unknown();
  }
  if (args.failed()) {
    return usageError("status", args.error());
  }
  Session session(globals);
  json::Document result;
  if (ExitCode rc = session.call("daemon.status", "{}", &result); rc != ExitCode::kOk) {
    return rc;
  }
  if (globals.json) {
    printJson(result);
    return ExitCode::kOk;
  }
  printStatus(result);
  int64_t theirs = intField(result, "protocol_version");
  if (theirs != kProtocolVersion) {
    std::fflush(stdout);
    std::fprintf(stderr, "llmq: warning: llmqd speaks protocol %lld, this llmq %d\n",
                 static_cast<long long>(theirs), kProtocolVersion);
  }
  return ExitCode::kOk;
}

}  // namespace llmq::cli
