// The one way llmq reports a bad command line: the problem on stderr, then where
// to read how the command is used. Every subcommand and main() report through it,
// and it gives the exit code of a usage error.
#pragma once

#include <string>
#include <string_view>

#include "clients/cli/exit_code.h"

namespace llmq::cli {

// Prints "llmq: <message>" and a pointer to the command's help ("llmq --help"
// when `command` is empty); returns kUsage.
ExitCode usageError(std::string_view command, const std::string& message);

}  // namespace llmq::cli
