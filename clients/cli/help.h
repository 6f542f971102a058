// The help texts of llmq: the top-level usage (commands, global options, exit
// codes) and one page per subcommand, kept together so they read consistently.
#pragma once

#include <cstdio>

namespace llmq::cli {

// `llmq --help`: commands, global options and exit codes. Also printed to stderr
// after a top-level usage error.
void printTopLevelHelp(FILE* out);

// Prints a subcommand's help page (one of help::) to stdout, then the global
// options line.
void printCommandHelp(const char* page);

// The help page of each subcommand, `llmq NAME --help`; the dispatch table
// (commands/commands.h) gives each command its page.
namespace help {
extern const char kSubmit[];
extern const char kGet[];
extern const char kList[];
extern const char kCancel[];
extern const char kRetry[];
extern const char kWatch[];
extern const char kStatus[];
extern const char kKeys[];
extern const char kBreakers[];
extern const char kModels[];
extern const char kUsage[];
extern const char kBudget[];
extern const char kDb[];
extern const char kPause[];
extern const char kResume[];
extern const char kBatch[];
}  // namespace help

}  // namespace llmq::cli
