// usageError: the error line (session.h's printError, the CLI's one format) and
// the pointer to help, both on stderr so that stdout stays the command's output.
#include "clients/cli/usage_error.h"

#include <cstdio>

#include "clients/cli/session.h"

namespace llmq::cli {

ExitCode usageError(std::string_view command, const std::string& message) {
  printError(message);
  if (command.empty()) {
    std::fprintf(stderr, "Try 'llmq --help'.\n");
  } else {
    std::fprintf(stderr, "Try 'llmq %.*s --help'.\n", static_cast<int>(command.size()), command.data());
  }
  return ExitCode::kUsage;
}

}  // namespace llmq::cli
