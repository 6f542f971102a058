// `llmq models`: the daemon's model catalog as a table of ids, context lengths and
// prices per million tokens (models.list), optionally fetched afresh first.
#include <algorithm>
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

// A percentile member ("p50") of the object `name` of `m`, in ms, or "-".
std::string millis(const json::Value& m, const char* name, const char* which) {
  const json::Value* p = objectField(m, name);
  return p != nullptr ? std::to_string(intField(*p, which)) : std::string("-");
}

// `llmq models --stats`: models.stats's window as a table (the days with --json).
ExitCode printStats(GlobalOptions& globals, int64_t window_s) {
  Session session(globals);
  json::Document result;
  const std::string params = "{\"window_s\":" + std::to_string(window_s) + "}";
  if (ExitCode rc = session.call("models.stats", params, &result); rc != ExitCode::kOk) {
    return rc;
  }
  if (globals.json) {
    printJson(result);
    return ExitCode::kOk;
  }
  const json::Value* window = objectField(result, "window");
  const json::Value* models = window != nullptr ? json::member(*window, "models") : nullptr;
  if (models == nullptr || !models->IsArray() || models->Empty()) {
    std::fprintf(stderr, "no attempts in the last %lld s\n", static_cast<long long>(window_s));
    return ExitCode::kOk;
  }
  Table table({"PROVIDER", "MODEL", "REQUESTS", "SUCCESS", "P50 MS", "P95 MS", "P99 MS", "TTFT P50", "$/1K TOK"},
              {false, false, true, true, true, true, true, true, true});
  for (const auto& m : models->GetArray()) {
    char success[16];
    std::snprintf(success, sizeof success, "%.1f%%", numberField(m, "success_rate") * 100);
    const json::Value* per_1k = json::member(m, "usd_per_1k_tokens");
    char usd[32] = "-";
    if (per_1k != nullptr && per_1k->IsNumber()) {
      std::snprintf(usd, sizeof usd, "$%.6g", per_1k->GetDouble());
    }
    table.addRow({printable(stringField(m, "provider")), printable(stringField(m, "model")),
                  std::to_string(intField(m, "requests")), success, millis(m, "latency_ms", "p50"),
                  millis(m, "latency_ms", "p95"), millis(m, "latency_ms", "p99"), millis(m, "ttft_ms", "p50"),
                  usd});
  }
  table.print(stdout);
  std::fflush(stdout);
  std::fprintf(stderr, "(attempts of the last %lld s, from llmqd's ledger; per day: llmq --json models --stats)\n",
               static_cast<long long>(window_s));
  return ExitCode::kOk;
}

}  // namespace

ExitCode runModels(ArgReader& args, GlobalOptions& globals) {
  std::string filter;
  bool refresh = false;
  bool stats = false;
  double window_s = 3600;
  while (args.next()) {
    if (args.value("--filter", &filter)) {
      continue;
    }
    if (args.flag("--refresh")) {
      refresh = true;
    } else if (args.flag("--stats")) {
      stats = true;
    } else if (args.secondsValue("--window", &window_s)) {
      continue;
    } else {
      args.unknown();
    }
  }
  if (!args.failed() && stats && (refresh || !filter.empty())) {
    args.fail("--stats shows how models performed; --refresh and --filter are for the catalog");
  }
  if (args.failed()) {
    return usageError("models", args.error());
  }
  if (stats) {
    return printStats(globals, std::max<int64_t>(1, static_cast<int64_t>(window_s)));
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
