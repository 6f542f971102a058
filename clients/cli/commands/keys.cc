// `llmq keys` and `llmq breakers`: what llmqd holds against its upstreams, the
// health of its server keys (keys.status, by fingerprint only) and its circuit
// breakers, and the admin resets of both (keys.reset, breakers.reset), which
// share one call and one output.
#include <cstdio>
#include <string>
#include <vector>

#include "clients/cli/commands/commands.h"
#include "clients/cli/fields.h"
#include "clients/cli/output.h"
#include "clients/cli/session.h"
#include "clients/cli/usage_error.h"

namespace llmq::cli {
namespace {

// `llmq keys reset [NAME]` and `llmq breakers reset [MODEL]`: `method` with the
// optional operand as `field`, then the names it reset.
ExitCode runReset(const char* command, const char* method, const char* field,
                  const std::vector<std::string>& operands, GlobalOptions& globals) {
  std::string params = "{";
  if (operands.size() == 2) {
    params += "\"" + std::string(field) + "\":";
    json::appendString(params, operands[1]);
  }
  params += "}";
  Session session(globals);
  json::Document result;
  if (ExitCode rc = session.call(method, params, &result); rc != ExitCode::kOk) {
    return rc;
  }
  if (globals.json) {
    printJson(result);
    return ExitCode::kOk;
  }
  const json::Value* reset = json::member(result, "reset");
  if (reset == nullptr || !reset->IsArray() || reset->Empty()) {
    std::printf("%s: nothing to reset\n", command);
    return ExitCode::kOk;
  }
  for (const auto& name : reset->GetArray()) {
    std::printf("reset %s\n", printable(name.IsString() ? json::view(name) : "?").c_str());
  }
  return ExitCode::kOk;
}

}  // namespace

ExitCode runBreakers(ArgReader& args, GlobalOptions& globals) {
  const std::vector<std::string> operands = readOperands(args);
  if (args.failed()) {
    return usageError("breakers", args.error());
  }
  if (operands.empty() || operands.size() > 2 || operands[0] != "reset") {
    return usageError("breakers", "usage: llmq breakers reset [MODEL]");
  }
  return runReset("breakers", "breakers.reset", "target", operands, globals);
}

ExitCode runKeys(ArgReader& args, GlobalOptions& globals) {
  const std::vector<std::string> operands = readOperands(args);
  if (args.failed()) {
    return usageError("keys", args.error());
  }
  if (!operands.empty()) {
    if (operands.size() > 2 || operands[0] != "reset") {
      return usageError("keys", "usage: llmq keys [reset [NAME]]");
    }
    return runReset("keys", "keys.reset", "name", operands, globals);
  }
  Session session(globals);
  json::Document result;
  if (ExitCode rc = session.call("keys.status", "{}", &result); rc != ExitCode::kOk) {
    return rc;
  }
  if (globals.json) {
    printJson(result);
    return ExitCode::kOk;
  }
  std::printf("key source:  %s\n", printable(stringField(result, "key_source")).c_str());
  const json::Value* pool = json::member(result, "pool");
  if (pool == nullptr || !pool->IsArray() || pool->Empty()) {
    std::printf("server keys: none (set OPENROUTER_API_KEY or OPENROUTER_API_KEYS for llmqd)\n");
    return ExitCode::kOk;
  }
  Table table({"NAME", "KEY", "STATE", "UNTIL", "REQUESTS", "ERRORS"}, {false, false, false, false, true, true});
  for (const auto& k : pool->GetArray()) {
    std::string_view until = stringField(k, "until");
    table.addRow({printable(stringField(k, "name")), printable(stringField(k, "fingerprint")),
                  printable(stringField(k, "state")), until.empty() ? "-" : printable(until),
                  std::to_string(intField(k, "requests")), std::to_string(intField(k, "errors"))});
  }
  table.print(stdout);
  return ExitCode::kOk;
}

}  // namespace llmq::cli
