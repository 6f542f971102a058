// `llmq db backup FILE`: an online backup of llmqd's database (db.backup) into a
// new file, made by the daemon while it keeps serving.
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "clients/cli/commands/commands.h"
#include "clients/cli/fields.h"
#include "clients/cli/output.h"
#include "clients/cli/session.h"
#include "clients/cli/usage_error.h"

namespace llmq::cli {
namespace {

// FILE relative to this shell's directory, as the daemon (elsewhere) must see it.
std::string absolute(const std::string& path) {
  if (!path.empty() && path[0] == '/') {
    return path;
  }
  char cwd[PATH_MAX];
  if (::getcwd(cwd, sizeof cwd) == nullptr) {
    return path;
  }
  return std::string(cwd) + "/" + path;
}

}  // namespace

ExitCode runDb(ArgReader& args, GlobalOptions& globals) {
  const std::vector<std::string> operands = readOperands(args);
  if (args.failed()) {
    return usageError("db", args.error());
  }
  if (operands.size() != 2 || operands[0] != "backup") {
    return usageError("db", "usage: llmq db backup FILE");
  }
  std::string params = "{\"path\":";
  json::appendString(params, absolute(operands[1]));
  params += "}";
  Session session(globals);
  json::Document result;
  if (ExitCode rc = session.call("db.backup", params, &result); rc != ExitCode::kOk) {
    return rc;
  }
  if (globals.json) {
    printJson(result);
  } else {
    std::printf("backed up to %s: %lld bytes in %lld ms\n", printable(stringField(result, "path")).c_str(),
                static_cast<long long>(intField(result, "bytes")),
                static_cast<long long>(intField(result, "duration_ms")));
  }
  return ExitCode::kOk;
}

}  // namespace llmq::cli
