// The llmq subcommands. Each reads its own arguments from an ArgReader (which
// also takes the global options found among them), talks to llmqd through a
// Session, prints its result and returns the process exit code. Each lives in
// the file of this folder named after it or its group; the dispatch table
// (dispatch.cc) is the one place a subcommand is named.
#pragma once

#include <string_view>

#include "clients/cli/exit_code.h"
#include "clients/cli/options.h"

namespace llmq::cli {

using CommandFn = ExitCode (*)(ArgReader& args, GlobalOptions& globals);

// A row of the dispatch table: what `llmq NAME` runs, and what `llmq NAME --help`
// prints (a page of help.h).
struct Command {
  std::string_view name;
  CommandFn run;
  const char* help;
};

// The subcommand called `name`, or nullptr when there is none.
const Command* findCommand(std::string_view name);

ExitCode runSubmit(ArgReader& args, GlobalOptions& globals);    // submit.cc
ExitCode runWatch(ArgReader& args, GlobalOptions& globals);     // watch.cc
ExitCode runGet(ArgReader& args, GlobalOptions& globals);       // jobs.cc
ExitCode runList(ArgReader& args, GlobalOptions& globals);      // jobs.cc
ExitCode runCancel(ArgReader& args, GlobalOptions& globals);    // jobs.cc
ExitCode runRetry(ArgReader& args, GlobalOptions& globals);     // jobs.cc
ExitCode runStatus(ArgReader& args, GlobalOptions& globals);    // status.cc
ExitCode runPause(ArgReader& args, GlobalOptions& globals);     // queue.cc
ExitCode runResume(ArgReader& args, GlobalOptions& globals);    // queue.cc
ExitCode runKeys(ArgReader& args, GlobalOptions& globals);      // keys.cc
ExitCode runBreakers(ArgReader& args, GlobalOptions& globals);  // keys.cc
ExitCode runModels(ArgReader& args, GlobalOptions& globals);    // models.cc
ExitCode runUsage(ArgReader& args, GlobalOptions& globals);     // usage.cc
ExitCode runBudget(ArgReader& args, GlobalOptions& globals);    // budget.cc
ExitCode runDb(ArgReader& args, GlobalOptions& globals);        // db.cc
ExitCode runBatch(ArgReader& args, GlobalOptions& globals);     // batch.cc

}  // namespace llmq::cli
