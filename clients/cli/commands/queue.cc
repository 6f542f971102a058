// `llmq pause` and `llmq resume` (queue.pause, queue.resume): stop or start
// again the starting of jobs, for the whole queue or one client.
#include <cstdio>
#include <string>

#include "clients/cli/commands/commands.h"
#include "clients/cli/output.h"
#include "clients/cli/session.h"
#include "clients/cli/usage_error.h"

namespace llmq::cli {
namespace {

ExitCode pauseOrResume(ArgReader& args, GlobalOptions& globals, bool pause) {
  const char* command = pause ? "pause" : "resume";
  std::string client;
  bool has_client = false;
  while (args.next()) {
    if (args.value("--client", &client)) {
      has_client = true;
    } else {
      args.unknown();
    }
  }
  if (args.failed()) {
    return usageError(command, args.error());
  }
  std::string params = "{";
  if (has_client) {
    params += "\"client\":";
    json::appendString(params, client);
  }
  params += "}";
  Session session(globals);
  json::Document result;
  if (ExitCode rc = session.call(pause ? "queue.pause" : "queue.resume", params, &result); rc != ExitCode::kOk) {
    return rc;
  }
  if (globals.json) {
    printJson(result);
  } else {
    std::printf("paused: %s\n", describeQueueState(result).c_str());
  }
  return ExitCode::kOk;
}

}  // namespace

ExitCode runPause(ArgReader& args, GlobalOptions& globals) { return pauseOrResume(args, globals, true); }

ExitCode runResume(ArgReader& args, GlobalOptions& globals) { return pauseOrResume(args, globals, false); }

}  // namespace llmq::cli
