// The dispatch table: every subcommand once, with its entry point and its help
// page. A new subcommand is a file of this folder, its declaration in
// commands.h, its page in help.cc, its row here and its line in `llmq --help`.
#include "clients/cli/commands/commands.h"
#include "clients/cli/help.h"

namespace llmq::cli {
namespace {

constexpr Command kCommands[] = {
    {"submit", runSubmit, help::kSubmit},
    {"get", runGet, help::kGet},
    {"list", runList, help::kList},
    {"cancel", runCancel, help::kCancel},
    {"retry", runRetry, help::kRetry},
    {"watch", runWatch, help::kWatch},
    {"status", runStatus, help::kStatus},
    {"keys", runKeys, help::kKeys},
    {"breakers", runBreakers, help::kBreakers},
    {"models", runModels, help::kModels},
    {"usage", runUsage, help::kUsage},
    {"budget", runBudget, help::kBudget},
    {"db", runDb, help::kDb},
    {"batch", runBatch, help::kBatch},
    {"pause", runPause, help::kPause},
    {"resume", runResume, help::kResume},
};

}  // namespace

const Command* findCommand(std::string_view name) {
  for (const Command& command : kCommands) {
    if (command.name == name) {
      return &command;
    }
  }
  return nullptr;
}

}  // namespace llmq::cli
