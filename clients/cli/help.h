// The help texts of llmq: the top-level usage (commands, global options, exit
// codes) and one page per subcommand, kept together so they read consistently.
#pragma once

#include <cstdio>
#include <string_view>

namespace llmq::cli {

// `llmq --help`: commands, global options and exit codes. Also printed to stderr
// after a top-level usage error.
void printTopLevelHelp(FILE* out);

// Prints the help page of subcommand `name` to stdout; false if there is no such command.
bool printCommandHelp(std::string_view name);

}  // namespace llmq::cli
