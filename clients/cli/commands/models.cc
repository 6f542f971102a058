// `llmq models`: the daemon's model catalog as a table of ids, context lengths and
// prices per million tokens (models.list), optionally fetched afresh first.
#include <cstdio>
#include <string>

#include "clients/cli/commands/commands.h"
#include "clients/cli/fields.h"
#include "clients/cli/output.h"
#include "clients/cli/session.h"
#include "clients/cli/usage_error.h"

namespace llmq::cli {
namespace {

// "$0.15", "$0.075", "$2.50": a per-token price shown per million tokens, with at
// least two decimals and no trailing zeros beyond them.
std::string perMillion(double usd_per_token) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6f", usd_per_token * 1e6);
  std::string s = buf;
  const size_t min_len = s.find('.') + 3;
  while (s.size() > min_len && s.back() == '0') {
    s.pop_back();
  }
  return "$" + s;
}

}  // namespace

ExitCode runModels(ArgReader& args, GlobalOptions& globals) {
  std::string filter;
  bool refresh = false;
  while (args.next()) {
    if (args.value("--filter", &filter)) {
      continue;
    }
    if (args.flag("--refresh")) {
      refresh = true;
    } else {
      args.unknown();
    }
  }
  if (args.failed()) {
    return usageError("models", args.error());
  }
  std::string params = "{";
  if (refresh) {
    params += "\"refresh\":true";
  }
  if (!filter.empty()) {
    params += refresh ? ",\"filter\":" : "\"filter\":";
    json::appendString(params, filter);
  }
  params += "}";
  // The pages after the first read the catalog the first one refreshed.
  std::string later = "{";
  if (!filter.empty()) {
    later += "\"filter\":";
    json::appendString(later, filter);
  }
  later += "}";

  Session session(globals);
  json::Document result;
  if (ExitCode rc = session.callAllPages("models.list", params, "models", &result, later); rc != ExitCode::kOk) {
    return rc;
  }
  if (globals.json) {
    printJson(result);
    return ExitCode::kOk;
  }
  const json::Value* models = json::member(result, "models");
  if (models == nullptr || !models->IsArray() || models->Empty()) {
    std::fprintf(stderr, "no models%s\n",
                 filter.empty() ? "" : (" matching \"" + printable(filter) + "\"").c_str());
    return ExitCode::kOk;
  }
  Table table({"MODEL", "CONTEXT", "PROMPT/M", "COMPLETION/M", "SOURCE"}, {false, true, true, true, false});
  for (const auto& m : models->GetArray()) {
    const int64_t context = intField(m, "context_length");
    std::string prompt = "-";
    std::string completion = "-";
    if (const json::Value* p = objectField(m, "pricing")) {
      const double in = numberField(*p, "prompt");
      const double out = numberField(*p, "completion");
      if (in == 0 && out == 0 && numberField(*p, "request") == 0) {
        prompt = completion = "free";
      } else {
        prompt = perMillion(in);
        completion = perMillion(out);
      }
    }
    table.addRow({printable(stringField(m, "id")), context > 0 ? std::to_string(context) : "-", prompt, completion,
                  printable(stringField(m, "source"))});
  }
  table.print(stdout);
  // On stderr, so a pipe reading the table sees only models.
  std::fflush(stdout);
  std::string_view fetched = stringField(result, "fetched_at");
  if (fetched.empty()) {
    std::fprintf(stderr,
                 "(USD per million tokens; OpenRouter's list was never fetched: "
                 "built-in prices, see llmq models --refresh)\n");
  } else {
    std::fprintf(stderr, "(USD per million tokens; OpenRouter's list fetched %s)\n", printable(fetched).c_str());
  }
  return ExitCode::kOk;
}

}  // namespace llmq::cli
