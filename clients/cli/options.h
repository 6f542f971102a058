// Command-line parsing for llmq: the options every subcommand accepts (--socket,
// --json) and ArgReader, which walks one subcommand's arguments, consuming those
// global options wherever they appear and validating typed values as usage errors.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace llmq::cli {

// Options that may come before or after the subcommand.
struct GlobalOptions {
  std::string socket_path;  // Resolved to client::defaultSocketPath() when not given.
  bool json = false;        // Machine output: compact JSON, one value per line.
};

// Walks argv[begin, argc). A command loops on next() and, for each argument, tries
// its own options; whatever no one claims goes to unknown(). The first problem is
// recorded and ends the walk, so commands check failed() once after the loop.
//
//   while (args.next()) {
//     if (args.positional()) { ... args.current() ... }
//     else if (args.flag("--wait")) { wait = true; }
//     else if (args.value("--model", &model)) {}
//     else { args.unknown(); }
//   }
class ArgReader {
 public:
  ArgReader(int argc, char** argv, int begin, GlobalOptions& globals);

  // Advances to the next argument that is not a global option. False at the end or
  // once an error has been recorded.
  bool next();

  const std::string& current() const { return current_; }
  // The index in argv of the next argument next() will look at.
  int index() const { return next_; }
  // True for operands: anything after "--", "-" itself, and words not starting with '-'.
  bool positional() const { return positional_; }

  // True if the current argument is the boolean flag `name`.
  bool flag(std::string_view name);
  // True if the current argument is option `name` ("--name VALUE" or "--name=VALUE");
  // the value goes to `out`, or an error is recorded when it is missing.
  bool value(std::string_view name, std::string* out);
  // As value(), for an integer in [min, max]; anything else is a usage error.
  bool intValue(std::string_view name, int64_t min, int64_t max, int64_t* out);
  // As value(), for a finite number of seconds greater than zero.
  bool secondsValue(std::string_view name, double* out);

  void unknown();
  void fail(std::string message);
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

 private:
  // Splits "--name=value"; returns whether the current argument names `name`.
  bool matches(std::string_view name, std::string* inline_value, bool* has_inline) const;
  bool takeGlobal();

  int argc_;
  char** argv_;
  int next_;
  GlobalOptions& globals_;
  std::string current_;
  bool positional_ = false;
  bool after_dashdash_ = false;
  std::string error_;
};

// True if argv[begin, argc) asks for help (-h/--help before any "--"), so help wins
// over every other problem on the line.
bool wantsHelp(int argc, char** argv, int begin);

// The rest of the arguments, for commands that take operands and no options of
// their own: every operand in order; anything else is recorded as unknown.
std::vector<std::string> readOperands(ArgReader& args);

// Splits "a,b,,c" into {"a","b","c"}.
std::vector<std::string> splitList(std::string_view text);

}  // namespace llmq::cli
