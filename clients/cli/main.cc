// llmq's entry point: reads the global options and the command name, answers
// --help and --version, and hands the rest of argv to the command, whose
// ExitCode becomes the process's (see exit_code.h and `llmq --help`).
#include <cstdio>
#include <string>
#include <string_view>

#include "clients/cli/commands/commands.h"
#include "clients/cli/help.h"
#include "clients/cli/options.h"
#include "clients/cli/usage_error.h"
#include "llmq/version.h"

namespace {

using llmq::cli::ExitCode;

// True if argv[begin, argc) holds `flag` before any "--".
bool hasFlag(int argc, char** argv, int begin, std::string_view flag) {
  for (int i = begin; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") {
      return false;
    }
    if (arg == flag) {
      return true;
    }
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  llmq::cli::GlobalOptions globals;
  llmq::cli::ArgReader top(argc, argv, 1, globals);
  std::string command;
  bool help = false;
  while (top.next()) {
    if (top.positional()) {
      command = top.current();
      break;
    }
    if (top.flag("-h") || top.flag("--help")) {
      help = true;
    } else if (!top.flag("--version")) {
      top.unknown();
    }
  }
  if (top.failed()) {
    return toInt(llmq::cli::usageError("", top.error()));
  }
  const int rest = top.index();
  help = help || llmq::cli::wantsHelp(argc, argv, rest);
  if (command.empty() && !help && hasFlag(argc, argv, 1, "--version")) {
    std::printf("llmq %s (protocol %d)\n", llmq::kVersion, llmq::kProtocolVersion);
    return 0;
  }
  if (command.empty()) {
    llmq::cli::printTopLevelHelp(help ? stdout : stderr);
    return toInt(help ? ExitCode::kOk : ExitCode::kUsage);
  }
  const llmq::cli::Command* entry = llmq::cli::findCommand(command);
  if (entry == nullptr) {
    return toInt(llmq::cli::usageError("", "unknown command \"" + command + "\""));
  }
  if (help) {
    llmq::cli::printCommandHelp(entry->help);
    return 0;
  }
  if (hasFlag(argc, argv, rest, "--version")) {
    std::printf("llmq %s (protocol %d)\n", llmq::kVersion, llmq::kProtocolVersion);
    return 0;
  }
  llmq::cli::ArgReader args(argc, argv, rest, globals);
  return toInt(entry->run(args, globals));
}
