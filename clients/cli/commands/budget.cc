// `llmq budget set|list|delete`: the daemon's budgets (budget.set, budget.list,
// budget.delete) as a table of scope, period, limit, spent, reserved, remaining,
// action and when the period resets.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "clients/cli/commands/commands.h"
#include "clients/cli/fields.h"
#include "clients/cli/output.h"
#include "clients/cli/session.h"
#include "clients/cli/usage_error.h"

namespace llmq::cli {
namespace {

std::string dollars(double usd) {
  char buf[40];
  std::snprintf(buf, sizeof buf, usd != 0 && usd < 0.01 ? "$%.6f" : "$%.2f", usd);
  return buf;
}

void printBudgets(const json::Value& budgets) {
  Table table({"SCOPE", "PERIOD", "LIMIT", "SPENT", "RESERVED", "REMAINING", "ACTION", "RESETS"},
              {false, false, true, true, true, true, false, false});
  for (const auto& b : budgets.GetArray()) {
    std::string resets(stringField(b, "resets_at"));
    table.addRow({printable(stringField(b, "scope")), printable(stringField(b, "period")),
                  dollars(numberField(b, "limit_usd")), dollars(numberField(b, "spent_usd")),
                  dollars(numberField(b, "reserved_usd")), dollars(numberField(b, "remaining_usd")),
                  printable(stringField(b, "action")), resets.empty() ? "never" : printable(resets)});
  }
  table.print(stdout);
}

ExitCode list(ArgReader& args, GlobalOptions& globals) {
  while (args.next()) {
    args.unknown();
  }
  if (args.failed()) {
    return usageError("budget", args.error());
  }
  Session session(globals);
  json::Document result;
  if (ExitCode rc = session.callAllPages("budget.list", "{}", "budgets", &result); rc != ExitCode::kOk) {
    return rc;
  }
  if (globals.json) {
    printJson(result);
    return ExitCode::kOk;
  }
  const json::Value* budgets = json::member(result, "budgets");
  if (budgets == nullptr || !budgets->IsArray() || budgets->Empty()) {
    std::fprintf(stderr, "no budgets\n");
    return ExitCode::kOk;
  }
  printBudgets(*budgets);
  return ExitCode::kOk;
}

ExitCode set(ArgReader& args, GlobalOptions& globals) {
  std::vector<std::string> operands;
  std::string alerts;
  std::string action;
  while (args.next()) {
    if (args.positional()) {
      operands.push_back(args.current());
    } else if (args.value("--alert", &alerts) || args.value("--action", &action)) {
    } else {
      args.unknown();
    }
  }
  if (args.failed()) {
    return usageError("budget", args.error());
  }
  if (operands.size() != 3) {
    return usageError("budget", "budget set takes SCOPE PERIOD LIMIT_USD, e.g. budget set client:nightly day 20");
  }
  char* end = nullptr;
  const double limit = std::strtod(operands[2].c_str(), &end);
  if (end == operands[2].c_str() || *end != '\0' || !(limit >= 0)) {
    return usageError("budget", "LIMIT_USD must be a number of dollars, not \"" + operands[2] + "\"");
  }
  std::string params = "{\"scope\":";
  json::appendString(params, operands[0]);
  params += ",\"period\":";
  json::appendString(params, operands[1]);
  params += ",\"limit_usd\":" + operands[2];
  if (!alerts.empty()) {
    params += ",\"alert_at\":[";
    std::vector<std::string> fractions = splitList(alerts);
    for (size_t i = 0; i < fractions.size(); ++i) {
      char* e = nullptr;
      const double f = std::strtod(fractions[i].c_str(), &e);
      if (e == fractions[i].c_str() || *e != '\0') {
        return usageError("budget", "--alert takes fractions such as 0.5,0.9");
      }
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", f);
      params += (i > 0 ? "," : "") + std::string(buf);
    }
    params += "]";
  }
  if (!action.empty()) {
    params += ",\"action\":";
    json::appendString(params, action);
  }
  params += "}";
  Session session(globals);
  json::Document result;
  if (ExitCode rc = session.call("budget.set", params, &result); rc != ExitCode::kOk) {
    return rc;
  }
  if (globals.json) {
    printJson(result);
    return ExitCode::kOk;
  }
  json::Document one;
  one.SetArray();
  json::Value copy(result, one.GetAllocator());
  one.PushBack(copy, one.GetAllocator());
  printBudgets(one);
  return ExitCode::kOk;
}

ExitCode remove(ArgReader& args, GlobalOptions& globals) {
  const std::vector<std::string> operands = readOperands(args);
  if (args.failed()) {
    return usageError("budget", args.error());
  }
  if (operands.size() != 2) {
    return usageError("budget", "budget delete takes SCOPE PERIOD");
  }
  std::string params = "{\"scope\":";
  json::appendString(params, operands[0]);
  params += ",\"period\":";
  json::appendString(params, operands[1]);
  params += "}";
  Session session(globals);
  json::Document result;
  if (ExitCode rc = session.call("budget.delete", params, &result); rc != ExitCode::kOk) {
    return rc;
  }
  if (globals.json) {
    printJson(result);
  } else {
    std::printf("deleted budget %s/%s\n", printable(operands[0]).c_str(), printable(operands[1]).c_str());
  }
  return ExitCode::kOk;
}

}  // namespace

ExitCode runBudget(ArgReader& args, GlobalOptions& globals) {
  if (!args.next() || !args.positional()) {
    if (args.failed()) {
      return usageError("budget", args.error());
    }
    return usageError("budget", "budget needs set, list or delete");
  }
  const std::string sub = args.current();
  if (sub == "list") {
    return list(args, globals);
  }
  if (sub == "set") {
    return set(args, globals);
  }
  if (sub == "delete") {
    return remove(args, globals);
  }
  return usageError("budget", "budget needs set, list or delete, not \"" + sub + "\"");
}

}  // namespace llmq::cli
