// The llmq subcommands. Each one reads its own arguments from an ArgReader (which
// also takes the global options found among them), talks to llmqd through a
// Session, prints its result and returns the process exit code.
#pragma once

#include <string>
#include <string_view>

#include "clients/cli/exit_code.h"
#include "clients/cli/options.h"

namespace llmq::cli {

using CommandFn = ExitCode (*)(ArgReader& args, GlobalOptions& globals);

ExitCode runSubmit(ArgReader& args, GlobalOptions& globals);  // submit.cc
ExitCode runWatch(ArgReader& args, GlobalOptions& globals);   // watch.cc
ExitCode runGet(ArgReader& args, GlobalOptions& globals);
ExitCode runList(ArgReader& args, GlobalOptions& globals);
ExitCode runCancel(ArgReader& args, GlobalOptions& globals);
ExitCode runRetry(ArgReader& args, GlobalOptions& globals);
ExitCode runStatus(ArgReader& args, GlobalOptions& globals);
ExitCode runPause(ArgReader& args, GlobalOptions& globals);
ExitCode runKeys(ArgReader& args, GlobalOptions& globals);
ExitCode runBreakers(ArgReader& args, GlobalOptions& globals);
ExitCode runModels(ArgReader& args, GlobalOptions& globals);  // models.cc
ExitCode runUsage(ArgReader& args, GlobalOptions& globals);   // usage.cc
ExitCode runBudget(ArgReader& args, GlobalOptions& globals);  // budget.cc
ExitCode runDb(ArgReader& args, GlobalOptions& globals);      // db.cc
ExitCode runBatch(ArgReader& args, GlobalOptions& globals);   // batch.cc
ExitCode runResume(ArgReader& args, GlobalOptions& globals);

// Prints "llmq: <message>" and a pointer to the command's help; returns kUsage.
ExitCode usageError(std::string_view command, const std::string& message);

}  // namespace llmq::cli
