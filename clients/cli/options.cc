// ArgReader: argv walking shared by every llmq subcommand. Numbers are parsed with
// strtoll/strtod and checked for trailing garbage and range here, so a bad value
// is a usage error (exit 2) rather than a request llmqd would refuse.
#include "clients/cli/options.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace llmq::cli {

ArgReader::ArgReader(int argc, char** argv, int begin, GlobalOptions& globals)
    : argc_(argc), argv_(argv), next_(begin), globals_(globals) {}

bool ArgReader::next() {
  while (!failed() && next_ < argc_) {
    current_ = argv_[next_++];
    if (after_dashdash_) {
      positional_ = true;
      return true;
    }
    if (current_ == "--") {
      after_dashdash_ = true;
      continue;
    }
    positional_ = current_.empty() || current_[0] != '-' || current_ == "-";
    if (positional_ || !takeGlobal()) {
      return true;
    }
  }
  return false;
}

bool ArgReader::takeGlobal() {
  if (flag("--json")) {
    globals_.json = true;
    return true;
  }
  return value("--socket", &globals_.socket_path);
}

bool ArgReader::matches(std::string_view name, std::string* inline_value, bool* has_inline) const {
  if (positional_) {
    return false;
  }
  std::string_view arg = current_;
  if (arg == name) {
    *has_inline = false;
    return true;
  }
  if (arg.size() > name.size() && arg.substr(0, name.size()) == name && arg[name.size()] == '=') {
    *has_inline = true;
    *inline_value = std::string(arg.substr(name.size() + 1));
    return true;
  }
  return false;
}

bool ArgReader::flag(std::string_view name) {
  std::string inline_value;
  bool has_inline = false;
  if (!matches(name, &inline_value, &has_inline)) {
    return false;
  }
  if (has_inline) {
    fail(std::string(name) + " takes no value");
  }
  return true;
}

bool ArgReader::value(std::string_view name, std::string* out) {
  bool has_inline = false;
  if (!matches(name, out, &has_inline)) {
    return false;
  }
  if (!has_inline) {
    // "--job --events x" almost always means a forgotten value, not a job named
    // "--events"; such a value can still be given as "--job=--events".
    std::string_view next = next_ < argc_ ? argv_[next_] : "";
    if (next_ >= argc_ || (next.size() > 2 && next.substr(0, 2) == "--")) {
      fail(std::string(name) + " needs a value");
      return true;
    }
    *out = argv_[next_++];
  }
  return true;
}

bool ArgReader::intValue(std::string_view name, int64_t min, int64_t max, int64_t* out) {
  std::string text;
  if (!value(name, &text)) {
    return false;
  }
  if (failed()) {
    return true;
  }
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE || v < min || v > max) {
    fail(std::string(name) + " needs an integer from " + std::to_string(min) + " to " + std::to_string(max) +
         ", not \"" + text + "\"");
    return true;
  }
  *out = v;
  return true;
}

bool ArgReader::secondsValue(std::string_view name, double* out) {
  std::string text;
  if (!value(name, &text)) {
    return false;
  }
  if (failed()) {
    return true;
  }
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(v) || v <= 0) {
    fail(std::string(name) + " needs a number of seconds greater than 0, not \"" + text + "\"");
    return true;
  }
  *out = v;
  return true;
}

void ArgReader::unknown() {
  if (positional_) {
    fail("unexpected argument \"" + current_ + "\"");
  } else {
    fail("unknown option " + current_);
  }
}

void ArgReader::fail(std::string message) {
  if (error_.empty()) {
    error_ = std::move(message);
  }
}

bool wantsHelp(int argc, char** argv, int begin) {
  for (int i = begin; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") {
      return false;
    }
    if (arg == "-h" || arg == "--help") {
      return true;
    }
  }
  return false;
}

std::vector<std::string> readOperands(ArgReader& args) {
  std::vector<std::string> operands;
  while (args.next()) {
    if (args.positional()) {
      operands.push_back(args.current());
    } else {
      args.unknown();
    }
  }
  return operands;
}

std::vector<std::string> splitList(std::string_view text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) {
      comma = text.size();
    }
    if (comma > pos) {
      out.emplace_back(text.substr(pos, comma - pos));
    }
    pos = comma + 1;
  }
  return out;
}

}  // namespace llmq::cli
